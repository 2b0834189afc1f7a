// Zip archives are unpacked with yauzl under hard limits, so that a zip bomb
// gets a verdict without being inflated: every file's declared size is checked
// against what is left of the message's budget before a byte is inflated, and
// inflating stops at the declared size (a directory that lies is caught there).
import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import type { Policy } from './policy.js';

/** What is left for all the archives of one message together. */
export interface ArchiveBudget {
  entries: number;
  bytes: number;
}

export const archiveBudget = (limits: Policy['archives']): ArchiveBudget => ({ entries: limits.maxEntries, bytes: limits.maxTotalBytes });

export interface ZipMember {
  /** The path inside the archive, decoded but still untrusted. */
  path: string;
  bytes: Buffer;
}

export type ZipFailure = 'encrypted' | 'limit' | 'corrupt' | 'unsupported';

export type ZipResult = { ok: true; members: ZipMember[] } | { ok: false; reason: ZipFailure; detail: string };

/** Files smaller than this may compress as well as they like (a page of zeros does). */
const RATIO_FLOOR_BYTES = 1024 * 1024;

// Shift_JIS as Japanese Windows writes it (CP932): single bytes 00-7F and A1-DF,
// lead bytes 81-9F and E0-FC each followed by a trail byte 40-7E or 80-FC.
function isShiftJis(b: Uint8Array): boolean {
  let multibyte = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x80 || (c >= 0xa1 && c <= 0xdf)) {
      if (c >= 0xa1) multibyte = true;
      continue;
    }
    if (!((c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc))) return false;
    const t = b[++i];
    if (t === undefined || t < 0x40 || t === 0x7f || t > 0xfc) return false;
    multibyte = true;
  }
  return multibyte;
}

const utf8 = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: false }).decode(b);

/**
 * A member's name: UTF-8 when flagged (bit 11) or given in an Info-ZIP Unicode
 * Path field that matches the raw name; else CP932 when the bytes are valid
 * Shift_JIS (zips made on Japanese Windows); else CP437, the zip default.
 */
export function memberName(entry: Pick<Entry, 'generalPurposeBitFlag' | 'fileNameRaw' | 'extraFields'>): string {
  const raw = entry.fileNameRaw;
  if (entry.generalPurposeBitFlag & 0x800) return utf8(raw);
  for (const f of entry.extraFields) {
    if (f.id === 0x7075 && f.data.length > 5 && f.data[0] === 1 && f.data.readUInt32LE(1) === crc32(raw)) return utf8(f.data.subarray(5));
  }
  return iconv.decode(raw, isShiftJis(raw) ? 'cp932' : 'cp437');
}

const open = (bytes: Buffer): Promise<ZipFile> =>
  new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip)));
  });

/** Every central directory entry, stopping (without reading more) once there are more than `max`. */
const listEntries = (zip: ZipFile, max: number): Promise<Entry[] | 'too-many'> =>
  new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (e: Entry) => {
      entries.push(e);
      if (entries.length > max) resolve('too-many');
      else zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', reject);
    zip.readEntry();
  });

const streamOf = (zip: ZipFile, entry: Entry): Promise<Readable> =>
  new Promise((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));

/** The inflated bytes, never more than `cap` of them held. */
async function inflate(zip: ZipFile, entry: Entry, cap: number): Promise<Buffer> {
  const stream = await streamOf(zip, entry);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > cap) {
      stream.destroy();
      throw new Error(`inflates to more than the ${cap} bytes its directory entry declares`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 200);

/**
 * Unpacks a zip held in memory. Takes what it unpacks from `budget`; leaves
 * the budget untouched when it refuses the archive.
 */
export async function readZip(bytes: Uint8Array, limits: Policy['archives'], budget: ArchiveBudget): Promise<ZipResult> {
  let zip: ZipFile;
  try {
    zip = await open(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    return { ok: false, reason: 'corrupt', detail: message(err) };
  }
  try {
    if (zip.entryCount > budget.entries) return { ok: false, reason: 'limit', detail: `${zip.entryCount} files > ${budget.entries} left of archives.maxEntries` };
    let entries: Entry[] | 'too-many';
    try {
      entries = await listEntries(zip, budget.entries);
    } catch (err) {
      return { ok: false, reason: 'corrupt', detail: message(err) };
    }
    if (entries === 'too-many') return { ok: false, reason: 'limit', detail: `more than ${budget.entries} files left of archives.maxEntries` };
    let declared = 0;
    for (const e of entries) {
      if (e.isEncrypted()) return { ok: false, reason: 'encrypted', detail: `${memberName(e)} is encrypted` };
      if (e.compressionMethod !== 0 && e.compressionMethod !== 8) {
        return { ok: false, reason: 'unsupported', detail: `compression method ${e.compressionMethod} (${memberName(e)})` };
      }
      declared += e.uncompressedSize;
      if (e.uncompressedSize > RATIO_FLOOR_BYTES && e.uncompressedSize > limits.maxRatio * Math.max(1, e.compressedSize)) {
        return { ok: false, reason: 'limit', detail: `${memberName(e)}: ratio ${Math.round(e.uncompressedSize / Math.max(1, e.compressedSize))} > archives.maxRatio ${limits.maxRatio}` };
      }
    }
    if (declared > budget.bytes) return { ok: false, reason: 'limit', detail: `${declared} uncompressed bytes > ${budget.bytes} left of archives.maxTotalBytes` };
    const members: ZipMember[] = [];
    for (const e of entries) {
      const path = memberName(e);
      if (path.endsWith('/') || path.endsWith('\\')) continue;
      try {
        members.push({ path, bytes: await inflate(zip, e, e.uncompressedSize) });
      } catch (err) {
        return { ok: false, reason: 'corrupt', detail: `${path}: ${message(err)}` };
      }
    }
    budget.entries -= entries.length;
    budget.bytes -= declared;
    return { ok: true, members };
  } finally {
    zip.close();
  }
}
