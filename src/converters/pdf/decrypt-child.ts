// The PDF decryption process: one password-protected PDF and the password a
// recipient typed in, both on stdin, the same PDF without its encryption on
// stdout, then exit. It runs mupdf (WASM) in the same sandbox as the
// rasterizer (sandbox.ts): the untrusted file is parsed nowhere else. The
// password is held in memory only and never written out, echoed or logged.
// Exit status: 0 decrypted (the PDF on stdout), 3 wrong password,
// 4 not encrypted, 2 not a PDF mupdf can open.
import { writeSync } from 'node:fs';

// stdout carries the PDF only: whatever a library prints goes to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

export const EXIT_WRONG_PASSWORD = 3;
export const EXIT_NOT_ENCRYPTED = 4;
export const EXIT_UNREADABLE = 2;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function writeAll(bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.byteLength) at += writeSync(1, bytes, at, bytes.byteLength - at);
}

async function main(): Promise<number> {
  const input = await readStdin();
  if (input.length < 4) return EXIT_UNREADABLE;
  const length = input.readUInt32BE(0);
  if (4 + length > input.length) return EXIT_UNREADABLE;
  const password = input.subarray(4, 4 + length).toString('utf8');
  const pdf = input.subarray(4 + length);
  const mupdf = await import('mupdf');
  let doc;
  try {
    doc = mupdf.Document.openDocument(pdf, 'application/pdf');
  } catch {
    return EXIT_UNREADABLE;
  }
  if (!doc.needsPassword()) return EXIT_NOT_ENCRYPTED;
  if (!doc.authenticatePassword(password)) return EXIT_WRONG_PASSWORD;
  const out = doc.asPDF();
  if (!out) return EXIT_UNREADABLE;
  writeAll(out.saveToBuffer('encrypt=none').asUint8Array());
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // The reason, never the input: the password is not in a mupdf error.
    console.error(`decrypt failed: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}`);
    process.exit(EXIT_UNREADABLE);
  },
);
