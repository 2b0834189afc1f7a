// Opens a password-protected zip (ZipCrypto or AES) with the password its
// recipient entered, and writes its files into a new zip without a password,
// which then goes through the core like any zip that arrived as it is (names,
// nesting, every archives.* limit, each file's own rules). yauzl reads the
// directory (names decoded as the core decodes them, sizes) and its limits
// are checked before anything is decrypted; @zip.js/zip.js decrypts, each
// file cut off at its declared size. The password is never kept or reported.
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter, ERR_INVALID_COMPRESSED_DATA, ERR_INVALID_CRC32, ERR_INVALID_PASSWORD, ERR_INVALID_AUTHENTICATION_CODE } from '@zip.js/zip.js';
import yauzl, { type Entry } from 'yauzl';
import { memberName, nameEncoding } from '../core/archive.js';
import type { Policy } from '../core/policy.js';

export type ZipDecryptResult = { ok: true; zip: Buffer; files: number } | { ok: false; reason: 'wrong-password' | 'limit' | 'failed'; detail: string };

const listDirectory = (bytes: Buffer, max: number): Promise<Entry[]> =>
  new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, decodeStrings: false, autoClose: true }, (err, zip) => {
      if (err) return reject(err);
      const entries: Entry[] = [];
      zip.on('entry', (e: Entry) => {
        entries.push(e);
        if (entries.length > max) {
          zip.close();
          reject(new Error(`more than ${max} files (archives.maxEntries)`));
        } else zip.readEntry();
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });

/** A zip with at least one encrypted file. */
export async function isEncryptedZip(bytes: Buffer): Promise<boolean> {
  if (bytes.readUInt32LE(0) !== 0x04034b50) return false;
  try {
    return (await listDirectory(bytes, 100_000)).some((e) => e.isEncrypted());
  } catch {
    return false;
  }
}

/** Collects at most `cap` bytes; more is an error (a directory that lies). */
function cappedSink(cap: number): { stream: WritableStream<Uint8Array>; bytes(): Buffer } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      total += chunk.byteLength;
      if (total > cap) throw new Error(`inflates to more than the ${cap} bytes its directory entry declares`);
      chunks.push(chunk);
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

const WRONG = new Set([ERR_INVALID_PASSWORD, ERR_INVALID_CRC32, ERR_INVALID_COMPRESSED_DATA, ERR_INVALID_AUTHENTICATION_CODE]);
const why = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 200);

export async function decryptZip(bytes: Buffer, password: string, limits: Policy['archives']): Promise<ZipDecryptResult> {
  let entries: Entry[];
  try {
    entries = await listDirectory(bytes, limits.maxEntries);
  } catch (err) {
    return { ok: false, reason: 'limit', detail: why(err) };
  }
  const declared = entries.reduce((n, e) => n + e.uncompressedSize, 0);
  if (declared > limits.maxTotalBytes) return { ok: false, reason: 'limit', detail: `${declared} bytes unpacked > archives.maxTotalBytes ${limits.maxTotalBytes}` };
  const encoding = nameEncoding(entries);
  const reader = new ZipReader(new Uint8ArrayReader(bytes), { useWebWorkers: false });
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false, level: 6 });
  try {
    const zipped = await reader.getEntries();
    if (zipped.length !== entries.length) return { ok: false, reason: 'failed', detail: 'the two readers disagree about the directory' };
    let files = 0;
    for (const [i, e] of entries.entries()) {
      const z = zipped[i]!;
      if (!Buffer.from(z.rawFilename).equals(e.fileNameRaw)) return { ok: false, reason: 'failed', detail: 'the two readers disagree about the directory' };
      const name = memberName(e, encoding);
      if (z.directory || name.endsWith('/')) continue;
      const sink = cappedSink(e.uncompressedSize);
      try {
        await z.getData!(sink.stream, { ...(e.isEncrypted() ? { password } : {}), checkCrc32: true, useWebWorkers: false });
      } catch (err) {
        // ZipCrypto checks a password against one byte: about one wrong password in 256
        // passes, and the file then fails to inflate or its CRC-32 does not match. For an
        // encrypted file every failure but our own size cap is the password's.
        const code = err instanceof Error ? err.message : '';
        if (e.isEncrypted() && (WRONG.has(code) || !code.startsWith('inflates to more than'))) return { ok: false, reason: 'wrong-password', detail: 'the password does not open the zip' };
        return { ok: false, reason: 'failed', detail: `${name}: ${why(err)}` };
      }
      await writer.add(name, new Uint8ArrayReader(sink.bytes()), { lastModDate: z.lastModDate });
      files++;
    }
    return { ok: true, zip: Buffer.from(await writer.close()), files };
  } catch (err) {
    return { ok: false, reason: 'failed', detail: why(err) };
  } finally {
    await reader.close().catch(() => undefined);
  }
}
