// Opens a password-protected PDF with the password its recipient entered, in
// a one-shot process under the rasterizer's sandbox (bubblewrap, no network,
// memory cap; sandbox.ts): "in the same isolation as any document". The
// password goes to the child on its stdin, never on its command line, in a
// file or in an error. What comes back is untrusted: it must look like a PDF
// and stay under a size cap, and then goes through the normal document path.
import { spawn } from 'node:child_process';
import type { RunnableIsolation } from '../isolation.js';
import { runtimeFile } from '../../runtime/files.js';
import { sandboxedNodeCommand } from './sandbox.js';

export type PdfDecryptResult = { ok: true; pdf: Buffer } | { ok: false; reason: 'wrong-password' | 'not-encrypted' | 'failed'; detail: string };

export interface PdfDecryptOptions {
  /** The gateway's one isolation decision (converters/isolation.ts). */
  isolation: RunnableIsolation;
  timeoutMs: number;
  /** Nothing larger comes back (the decrypted file is about the encrypted one's size). */
  maxOutputBytes: number;
  memoryCapMb?: number;
}

/** The compiled child in dist/ (src/runtime/files.ts finds it from src/ under tsx too). */
const decryptScript = (): string => runtimeFile('converters/pdf/decrypt-child.js');

export function decryptPdf(bytes: Uint8Array, password: string, opts: PdfDecryptOptions): Promise<PdfDecryptResult> {
  const cmd = sandboxedNodeCommand(decryptScript(), [], { isolation: opts.isolation, memoryCapMb: opts.memoryCapMb ?? 1024 });
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, { env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let over = false;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxOutputBytes) {
        over = true;
        child.kill('SIGKILL');
      } else out.push(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < 2000) stderr += c;
    });
    child.stdin.on('error', () => undefined); // a child that died early; its exit says why
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: 'failed', detail: `cannot start the decryptor: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const pdf = Buffer.concat(out);
      if (over) resolve({ ok: false, reason: 'failed', detail: `the decrypted PDF is over ${opts.maxOutputBytes} bytes` });
      else if (code === 0 && pdf.subarray(0, 1024).includes('%PDF-')) resolve({ ok: true, pdf });
      else if (code === 3) resolve({ ok: false, reason: 'wrong-password', detail: 'the password does not open the PDF' });
      else if (code === 4) resolve({ ok: false, reason: 'not-encrypted', detail: 'the PDF needs no password' });
      else
        resolve({
          ok: false,
          reason: 'failed',
          detail: signal ? `the decryptor was stopped (${signal}) after ${opts.timeoutMs} ms or by its memory cap` : `the decryptor exited ${code}: ${stderr.trim().slice(0, 200)}`,
        });
    });
    const head = Buffer.alloc(4);
    const pw = Buffer.from(password, 'utf8');
    head.writeUInt32BE(pw.length, 0);
    child.stdin.end(Buffer.concat([head, pw, bytes]));
    pw.fill(0);
  });
}
