// OCR of one rendered page with Tesseract (Japanese and English models), in
// the converters' isolation: bubblewrap with no network, no capabilities, a
// read-only /usr and nothing of the host's files; the PNG goes in on stdin and
// the words come out as TSV on stdout. Killed on the deadline (the page then
// stays without text). What it answers is parsed as untrusted: at most
// MAX_WORDS words, each cleaned and clamped to the page.
import { spawn } from 'node:child_process';
import type { Isolation } from '../isolation.js';
import { ISOLATION, systemBind } from '../bwrap.js';
import { cleanText } from '../../core/text-clean.js';
import type { OcrPage, OcrResult, OcrWord } from './types.js';

const TESSERACT = '/usr/bin/tesseract';
const MAX_WORDS = 50_000;
const MAX_WORD_CHARS = 200;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface TesseractOptions {
  isolation: Isolation;
  /** Tesseract's language models (default jpn+eng). */
  languages?: string;
  /** Cap on the writable memory (RLIMIT_DATA), MiB (default 1024). */
  memoryCapMb?: number;
}

function command(opts: TesseractOptions): { file: string; args: string[] } | null {
  const tesseract = [TESSERACT, 'stdin', 'stdout', '-l', opts.languages ?? 'jpn+eng', '--psm', '3', 'tsv'];
  const limits = [`--data=${(opts.memoryCapMb ?? 1024) * 1024 * 1024}`, '--core=0', '--'];
  const { isolation } = opts;
  if (isolation.mode === 'unavailable') return null;
  if (isolation.mode === 'none') return { file: 'prlimit', args: [...limits, ...tesseract] };
  const sandbox = [...ISOLATION, '--setenv', 'OMP_THREAD_LIMIT', '1', ...systemBind('/usr'), ...systemBind('/lib'), ...systemBind('/lib64'), ...systemBind('/bin')];
  return { file: 'prlimit', args: [...limits, isolation.bwrap, ...sandbox, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--chdir', '/tmp', ...tesseract] };
}

/** Tesseract's TSV (level 5 rows are words): the words, clamped to the page. */
export function parseTsv(untrustedTsv: string, page: Pick<OcrPage, 'width' | 'height'>): OcrWord[] {
  const words: OcrWord[] = [];
  const lines = new Map<string, number>();
  for (const row of untrustedTsv.split('\n')) {
    const f = row.split('\t');
    if (f.length < 12 || f[0] !== '5') continue;
    const [left, top, width, height, conf] = f.slice(6, 11).map(Number) as [number, number, number, number, number];
    const text = cleanText(f.slice(11).join(' ')).text.replace(/\s+/g, ' ').trim().slice(0, MAX_WORD_CHARS);
    if (!text || ![left, top, width, height, conf].every(Number.isFinite)) continue;
    const x = Math.min(Math.max(0, left), page.width);
    const y = Math.min(Math.max(0, top), page.height);
    const w = Math.min(Math.max(0, width), page.width - x);
    const h = Math.min(Math.max(0, height), page.height - y);
    if (w === 0 || h === 0) continue;
    const key = f.slice(1, 5).join('\t');
    let line = lines.get(key);
    if (line === undefined) lines.set(key, (line = lines.size));
    words.push({ text, x, y, width: w, height: h, confidence: Math.min(100, Math.max(0, conf)), line });
    if (words.length >= MAX_WORDS) break;
  }
  return words;
}

/** The words of one page, or why there are none; never later than `deadline` (ms since epoch). */
export function ocrPage(page: OcrPage, deadline: number, opts: TesseractOptions): Promise<OcrResult> {
  const cmd = command(opts);
  if (!cmd) return Promise.resolve({ ok: false, reason: 'no-sandbox', detail: 'OCR does not run without the converters\u2019 sandbox' });
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.resolve({ ok: false, reason: 'timeout', detail: 'no time was left for OCR' });
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, { env: { PATH: '/usr/bin:/bin', OMP_THREAD_LIMIT: '1' }, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    const chunks: Buffer[] = [];
    let size = 0;
    let why: 'timeout' | 'too-large' | null = null;
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      why = 'timeout';
      kill();
    }, remaining);
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ANSWER_BYTES) {
        why ??= 'too-large';
        kill();
      } else chunks.push(c);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(page.png);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: 'failed', detail: `tesseract did not start: ${err.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (why === 'timeout') resolve({ ok: false, reason: 'timeout', detail: 'OCR did not finish before the deadline and was killed' });
      else if (why === 'too-large') resolve({ ok: false, reason: 'failed', detail: `tesseract answered more than ${MAX_ANSWER_BYTES} bytes` });
      else if (code !== 0) resolve({ ok: false, reason: 'failed', detail: `tesseract failed (${signal ? `signal ${signal}` : `exit code ${code}`})` });
      else resolve({ ok: true, words: parseTsv(Buffer.concat(chunks).toString('utf8'), page) });
    });
  });
}
