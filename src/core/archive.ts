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
      /** macOS metadata files (__MACOSX/, .DS_Store) left out. */
      macMetadata: number;
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

/** Valid UTF-8 (strict: no stray continuation bytes, no overlongs, no surrogates). */
function isUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** How the names of one archive are written when they carry neither the UTF-8 flag nor a Unicode Path field. */
export type NameEncoding = 'utf-8' | 'cp932' | 'cp437';

type NamedEntry = Pick<Entry, 'generalPurposeBitFlag' | 'fileNameRaw' | 'extraFields'>;

/** The name from an Info-ZIP Unicode Path field (0x7075) that matches the raw name, if any. */
function unicodePath(entry: NamedEntry): string | null {
  for (const f of entry.extraFields) {
    if (f.id === 0x7075 && f.data.length > 5 && f.data[0] === 1 && f.data.readUInt32LE(1) === crc32(entry.fileNameRaw)) return utf8(f.data.subarray(5));
  }
  return null;
}

/** A UTF-8 sequence for U+0800 and above: kana, kanji, full-width forms. */
const hasThreeByteUtf8 = (b: Uint8Array): boolean => b.some((x) => x >= 0xe0 && x <= 0xf4);

const needsGuess = (e: NamedEntry): boolean => !(e.generalPurposeBitFlag & 0x800) && e.fileNameRaw.some((b) => b >= 0x80) && unicodePath(e) === null;

/**
 * The encoding of an archive's unflagged names, read from the names
 * themselves, never from the "made by" platform: one tool wrote them all.
 * UTF-8 when every such name is valid UTF-8 (Info-ZIP on Linux, macOS's
 * Archive Utility: UTF-8 without the flag); else CP932 when every one is valid
 * Shift_JIS (Japanese Windows); else each name on its own. Valid UTF-8 is
 * rarely valid by accident beyond a few bytes, but a Shift_JIS name can be
 * ("ﾃｽ" is C3 BD, "ý" in UTF-8): a single name that is not UTF-8 settles it
 * for the whole archive. Null when the names disagree (each is read alone).
 */
export function nameEncoding(entries: readonly NamedEntry[]): NameEncoding | null {
  const guessed = entries.filter(needsGuess).map((e) => e.fileNameRaw);
  if (guessed.length === 0) return null;
  const allUtf8 = guessed.every(isUtf8);
  const allShiftJis = guessed.every(isShiftJis);
  // Names valid both ways with no three-byte UTF-8 character (no kana, no
  // kanji) are pairs of half-width katakana in Shift_JIS or accented Latin in
  // UTF-8; for a Japanese office the first is likelier.
  if (allUtf8 && !(allShiftJis && !guessed.some(hasThreeByteUtf8))) return 'utf-8';
  if (allShiftJis) return 'cp932';
  return null;
}

/**
 * A member's name: UTF-8 when flagged (bit 11) or given in an Info-ZIP Unicode
 * Path field that matches the raw name; else in the archive's encoding
 * (nameEncoding of all its names); else by nameEncoding of this name alone;
 * else CP437, the zip default. Composed (NFC):
 * macOS writes names decomposed, and "ダ" would arrive as "タ" and a
 * combining mark.
 */
export function memberName(entry: NamedEntry, encoding: NameEncoding | null = null): string {
  const raw = entry.fileNameRaw;
  if (entry.generalPurposeBitFlag & 0x800) return utf8(raw).normalize('NFC');
  const unicode = unicodePath(entry);
  if (unicode !== null) return unicode.normalize('NFC');
  const chosen = encoding ?? nameEncoding([entry]) ?? 'cp437';
  return (chosen === 'utf-8' ? utf8(raw) : iconv.decode(raw, chosen)).normalize('NFC');
}

// macOS's Archive Utility adds, for each file, an AppleDouble file of its
// Finder metadata under __MACOSX/ ("__MACOSX/資料/._説明.txt"), and a folder
// may hold .DS_Store. Neither is a file the sender chose to send: they are
// left out (and counted), not listed as removed.
// Nothing of them crosses either way, so they are known by their path.
export const isMacMetadata = (path: string): boolean => /^__MACOSX(\/|$)/.test(path) || /(^|\/)\.DS_Store$/.test(path);

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

const streamOf = (zip: ZipFile, entry: Entry): Promise<Readable> => new Promise((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));

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
  const encoding = nameEncoding(entries);
  const nameOf = (e: Entry): string => memberName(e, encoding);
  let declared = 0;
  for (const e of entries) {
    if (e.isEncrypted()) return refuse('encrypted', `${nameOf(e)} is encrypted`);
    if (e.compressionMethod !== 0 && e.compressionMethod !== 8) return refuse('unsupported', `compression method ${e.compressionMethod} (${nameOf(e)})`);
    if (overlapping.has(e)) continue;
    declared += e.uncompressedSize;
    if (e.uncompressedSize > RATIO_FLOOR_BYTES && e.uncompressedSize > limits.maxRatio * Math.max(1, e.compressedSize)) {
      return refuse('limit', `${nameOf(e)}: ratio ${Math.round(e.uncompressedSize / Math.max(1, e.compressedSize))} > archives.maxRatio ${limits.maxRatio}`);
    }
  }
  if (declared > budget.bytes) return refuse('limit', `${declared} uncompressed bytes > ${budget.bytes} left of archives.maxTotalBytes`);
  budget.entries -= entries.length;
  budget.bytes -= declared;
  const members: ZipMember[] = [];
  let macMetadata = 0;
  for (const e of entries) {
    const path = nameOf(e);
    if (overlapping.has(e) || path.endsWith('/') || path.endsWith('\\')) continue;
    if (isMacMetadata(path)) {
      macMetadata++;
      continue;
    }
    members.push({
      path,
      size: e.uncompressedSize,
      read: () => inflate(zip, e, e.uncompressedSize).catch((err: unknown) => Promise.reject(new Error(`${path}: ${message(err)}`))),
    });
  }
  return { ok: true, members, overlapping: overlapping.size, macMetadata, close: () => zip.close() };
}
