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

/** A file in the archive, listed and checked; its bytes are inflated only when asked for. */
export interface ZipMember {
  /** The path inside the archive, decoded but still untrusted. */
  path: string;
  /** Declared (and enforced) size once inflated. */
  size: number;
  /** Inflates it; rejects when the data does not match its directory entry. */
  read(): Promise<Buffer>;
}

export type ZipFailure = 'encrypted' | 'limit' | 'corrupt' | 'unsupported';

export type ZipResult =
  | {
      ok: true;
      members: ZipMember[];
      /** Directory entries whose data lies inside another entry's, or is another entry's: listed, never inflated. */
      overlapping: number;
      /** Frees the archive; call once its members have been read. */
      close(): void;
    }
  | { ok: false; reason: ZipFailure; detail: string };

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

// Where an entry's data ends in the archive: its local header (30 bytes and
// the name and extra field lengths written there) and the compressed bytes.
const LOCAL_HEADER = 0x04034b50;
function dataEnd(bytes: Buffer, e: Entry): number {
  const at = e.relativeOffsetOfLocalHeader;
  if (at + 30 > bytes.length || bytes.readUInt32LE(at) !== LOCAL_HEADER) return at + 30 + e.compressedSize;
  return at + 30 + bytes.readUInt16LE(at + 26) + bytes.readUInt16LE(at + 28) + e.compressedSize;
}

/**
 * Entries whose data starts inside the data of an entry before it: the same
 * file listed twice, or the "overlapping files" bomb, where hundreds of
 * directory entries point into one compressed stream, each small enough to
 * pass every limit on its own (a 16 KB zip delivered 409 MB). Sorted by
 * where they start, so one pass finds them.
 */
function overlappingEntries(bytes: Buffer, entries: readonly Entry[]): Set<Entry> {
  const byOffset = [...entries].sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader);
  const out = new Set<Entry>();
  let end = -1;
  for (const e of byOffset) {
    if (e.relativeOffsetOfLocalHeader < end) out.add(e);
    else end = dataEnd(bytes, e);
  }
  return out;
}

/**
 * Opens a zip held in memory, lists its files and checks every limit from the
 * directory before a byte is inflated. Takes what the listed files declare
 * from `budget`; leaves the budget untouched when it refuses the archive.
 */
export async function readZip(bytes: Uint8Array, limits: Policy['archives'], budget: ArchiveBudget): Promise<ZipResult> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let zip: ZipFile;
  try {
    zip = await open(buffer);
  } catch (err) {
    return { ok: false, reason: 'corrupt', detail: message(err) };
  }
  const refuse = (reason: ZipFailure, detail: string): ZipResult => {
    zip.close();
    return { ok: false, reason, detail };
  };
  if (zip.entryCount > budget.entries) return refuse('limit', `${zip.entryCount} files > ${budget.entries} left of archives.maxEntries`);
  let entries: Entry[] | 'too-many';
  try {
    entries = await listEntries(zip, budget.entries);
  } catch (err) {
    return refuse('corrupt', message(err));
  }
  if (entries === 'too-many') return refuse('limit', `more than ${budget.entries} files left of archives.maxEntries`);
  const overlapping = overlappingEntries(buffer, entries);
  let declared = 0;
  for (const e of entries) {
    if (e.isEncrypted()) return refuse('encrypted', `${memberName(e)} is encrypted`);
    if (e.compressionMethod !== 0 && e.compressionMethod !== 8) return refuse('unsupported', `compression method ${e.compressionMethod} (${memberName(e)})`);
    if (overlapping.has(e)) continue;
    declared += e.uncompressedSize;
    if (e.uncompressedSize > RATIO_FLOOR_BYTES && e.uncompressedSize > limits.maxRatio * Math.max(1, e.compressedSize)) {
      return refuse('limit', `${memberName(e)}: ratio ${Math.round(e.uncompressedSize / Math.max(1, e.compressedSize))} > archives.maxRatio ${limits.maxRatio}`);
    }
  }
  if (declared > budget.bytes) return refuse('limit', `${declared} uncompressed bytes > ${budget.bytes} left of archives.maxTotalBytes`);
  budget.entries -= entries.length;
  budget.bytes -= declared;
  const members: ZipMember[] = [];
  for (const e of entries) {
    const path = memberName(e);
    if (overlapping.has(e) || path.endsWith('/') || path.endsWith('\\')) continue;
    members.push({
      path,
      size: e.uncompressedSize,
      read: () => inflate(zip, e, e.uncompressedSize).catch((err: unknown) => Promise.reject(new Error(`${path}: ${message(err)}`))),
    });
  }
  return { ok: true, members, overlapping: overlapping.size, close: () => zip.close() };
}
