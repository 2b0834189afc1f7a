// The document benchmark (`npx tsx bench/documents.ts`): the PDF path (a warm
// sandboxed mupdf rasterizer -> checked pixels -> sharp JPEG -> pdf-lib)
// against the usual command-line pipeline on the same file, `pdftoppm -r 150
// -jpeg` then `img2pdf`. Inputs: A4 text PDFs of 30 and 200 pages, made with
// pdf-lib. Each of our runs is in a fresh process, so that its peak RSS is its
// own; the rasterizer's peak (VmHWM) is read from /proc while it works.
// Target: our pages/s at least the baseline's (ratio >= 1).
//
// The invisible text layer (policy documents.textLayer, on by default) is
// measured beside rendering alone: the same file, our path with and without
// it, each in a fresh process; its cost is printed as a ratio of the seconds
// per page, the medians of five alternating runs (target: under 1.25, i.e.
// under 25 % extra). `--quick`: the
// 30-page input only.
//
// Office documents (docx vs a cold `soffice --headless --convert-to pdf`) are
// benchmarked separately in bench/office.ts; see officeComparison() below.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { decideIsolation } from '../src/converters/isolation.js';
import { createPdfConverter } from '../src/converters/pdf/pdf-converter.js';

const DPI = 150;
/** Runs with and without the text layer, alternating: the machine is shared, one pair is noise. */
const LAYER_REPEATS = 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
/** Pages of the document each measuring process converts first. */
const WARM_PAGES = 30;
const QUICK = process.argv.includes('--quick');
const INPUTS = QUICK ? [30] : [30, 200];

interface Figures {
  seconds: number;
  pagesPerSecond: number;
  peakRssMiB: number;
}

async function textPdf(pages: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < pages; p++) {
    const page = doc.addPage([595.28, 841.89]);
    page.drawText(`Page ${p + 1}`, { x: 50, y: 760, size: 28, font });
    for (let line = 0; line < 44; line++) page.drawText(`${p * 44 + line}: The quick brown fox jumps over the lazy dog, again and again.`, { x: 50, y: 720 - line * 15, size: 11, font });
  }
  return doc.save();
}

/** Peak RSS (VmHWM, MiB) of process `pid` so far; 0 once it is gone. */
function residentPeak(pid: string): number {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return hwm ? Number(hwm[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The rasterizer processes carrying `tag`: their pids. */
function rasterizerPids(tag: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(`--tag=${tag}`);
    } catch {
      return false;
    }
  });
}

/** One run of our path, in this (fresh) process. */
async function ourPhase(file: string, textLayer: boolean): Promise<Figures> {
  const tag = `bench-${process.pid}`;
  const converter = createPdfConverter({ isolation: await decideIsolation({ allowUnsandboxed: false }), warm: 1, tag });
  const limits = () => ({ maxPages: 200, dpi: DPI, maxPixelsPerPage: 40_000_000, jpegQuality: 85, maxOutputBytes: 1024 * 1024 * 1024, deadline: Date.now() + 600_000, textLayer });
  // Warm-up, as in a gateway that has been running: sharp, pdf-lib and the
  // text layer's code compiled by earlier documents (a cold process spends
  // its first pages on V8 compiling them), and the pool started.
  await converter.toImagePdf(await textPdf(WARM_PAGES), limits());
  await converter.warm(); // as in service: the next process waits, mupdf loaded and compiled
  const pdf = readFileSync(file);
  let childPeak = 0;
  // The rasterizer that will take the document waits now; only it is read
  // while the document converts (scanning /proc on each sample would cost
  // the parent more CPU than some of what is measured).
  const taking = rasterizerPids(tag);
  const poll = setInterval(() => {
    for (const pid of taking) childPeak = Math.max(childPeak, residentPeak(pid));
  }, 25);
  const started = performance.now();
  const result = await converter.toImagePdf(pdf, limits());
  const seconds = (performance.now() - started) / 1000;
  clearInterval(poll);
  await converter.close();
  if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
  return { seconds, pagesPerSecond: result.pages / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 + childPeak };
}

function ours(file: string, textLayer = true): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--phase', file, ...(textLayer ? ['--text'] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as Figures));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`bench phase exited with ${code}`))));
  });
}

function baseline(file: string, pages: number, dir: string): Figures {
  const prefix = path.join(dir, 'page');
  const started = performance.now();
  const a = peakOf('pdftoppm', ['-r', String(DPI), '-jpeg', '-jpegopt', 'quality=85', file, prefix]);
  const jpegs = readdirSync(dir)
    .filter((f) => f.startsWith('page') && f.endsWith('.jpg'))
    .sort()
    .map((f) => path.join(dir, f));
  const b = peakOf('img2pdf', [...jpegs, '-o', path.join(dir, 'out.pdf')]);
  const seconds = (performance.now() - started) / 1000;
  for (const j of jpegs) rmSync(j);
  return { seconds, pagesPerSecond: pages / seconds, peakRssMiB: Math.max(a, b) };
}

/** Runs a command under /usr/bin/time and returns its peak RSS in MiB. */
function peakOf(cmd: string, args: string[]): number {
  const res = execFileSync('sh', ['-c', '/usr/bin/time -f "PEAK %M" "$@" 2>&1 >/dev/null | tail -1', 'sh', cmd, ...args], { encoding: 'utf8' });
  const kb = /PEAK (\d+)/.exec(res);
  if (!kb) throw new Error(`no peak RSS from ${cmd}: ${res}`);
  return Number(kb[1]) / 1024;
}

/**
 * SLOT for H4: Office documents (docx -> our path vs a cold
 * `soffice --headless --convert-to pdf` then pdftoppm + img2pdf). It lives in
 * bench/office.ts; this bench only prints where to find it.
 */
function officeComparison(): void {
  console.log('Office (docx) vs cold soffice: see `npx tsx bench/office.ts`');
}

async function main(): Promise<void> {
  const phase = process.argv.indexOf('--phase');
  if (phase >= 0) {
    const file = process.argv[phase + 1];
    if (!file) throw new Error('--phase needs a file');
    process.send?.(await ourPhase(file, process.argv.includes('--text')));
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mugaika-bench-docs-'));
  try {
    console.log(`PDF -> pixels (${DPI} dpi) -> PDF, A4 text pages; ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]?.toFixed(1)}`);
    console.log('input       | ours: pages/s  peak RSS (parent+child) | pdftoppm+img2pdf: pages/s  peak RSS | ratio (pages/s)');
    for (const pages of INPUTS) {
      const file = path.join(dir, `text-${pages}.pdf`);
      writeFileSync(file, await textPdf(pages));
      const us = await ours(file);
      const them = baseline(file, pages, dir);
      const ratio = us.pagesPerSecond / them.pagesPerSecond;
      console.log(
        `${`${pages} pages`.padEnd(11)} | ${us.pagesPerSecond.toFixed(1).padStart(13)}  ${`${us.peakRssMiB.toFixed(0)} MiB`.padStart(22)} | ${them.pagesPerSecond.toFixed(1).padStart(24)}  ${`${them.peakRssMiB.toFixed(0)} MiB`.padStart(8)} | ${ratio.toFixed(2)}${ratio >= 1 ? '' : '  (target: >= 1, missed)'}`,
      );
    }
    console.log('input       | rendering alone: ms/page | with the text layer: ms/page | ratio (target < 1.25)');
    for (const pages of INPUTS) {
      const file = path.join(dir, `text-${pages}.pdf`);
      // Alternating runs, each in a fresh process; the medians are compared.
      const alone: number[] = [];
      const withLayer: number[] = [];
      for (let i = 0; i < LAYER_REPEATS; i++) {
        alone.push((await ours(file, false)).seconds);
        withLayer.push((await ours(file, true)).seconds);
      }
      const ratio = median(withLayer) / median(alone);
      console.log(
        `${`${pages} pages`.padEnd(11)} | ${((1000 * median(alone)) / pages).toFixed(1).padStart(23)} | ${((1000 * median(withLayer)) / pages).toFixed(1).padStart(27)} | ${ratio.toFixed(2)}${ratio < 1.25 ? '' : '  (target: < 1.25, missed)'}`,
      );
    }
    officeComparison();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
