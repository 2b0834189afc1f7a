// Hand-made bytes of file formats for tests: PNG chunks (to craft headers that
// lie about their size) and real zips made with @zip.js/zip.js.
import { crc32, deflateRawSync } from 'node:zlib';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';
import iconv from 'iconv-lite';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export const pngChunk = (type: string, data: Uint8Array): Buffer => {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
};

/** An IHDR chunk for an 8-bit truecolour image of the given (claimed) size. */
export const ihdr = (width: number, height: number): Buffer => {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = 8; // bit depth
  d[9] = 2; // truecolour
  return pngChunk('IHDR', d);
};

export interface ZipOptions {
  /** Encrypts every entry (AES-256, or ZipCrypto with `zipCrypto`): what PPAP mail carries. */
  password?: string;
  zipCrypto?: boolean;
  /** 0 stores, 1-9 deflates (default 6). */
  level?: number;
  /**
   * How names are written: UTF-8 with the flag (default); Shift_JIS/CP437 without it, as old Windows
   * zips are; or UTF-8 without the flag ('utf-8-noflag'), as Info-ZIP on Linux and macOS's Archive
   * Utility write them (macOS in decomposed form, NFD: give the names already decomposed).
   */
  names?: 'utf-8' | 'cp932' | 'cp437' | 'utf-8-noflag';
}

const FIXED_DATE = new Date('2026-04-01T10:00:00Z');

/** A real zip made by @zip.js/zip.js. */
export async function zip(entries: Array<[string, string | Uint8Array]>, options: ZipOptions = {}): Promise<Buffer> {
  const names = options.names ?? 'utf-8';
  const writer = new ZipWriter(new Uint8ArrayWriter(), {
    useWebWorkers: false,
    lastModDate: FIXED_DATE,
    extendedTimestamp: false,
    level: options.level ?? 6,
    ...(options.password ? { password: options.password, zipCrypto: options.zipCrypto ?? false } : {}),
    ...(names === 'utf-8' ? {} : { useUnicodeFileNames: false, encodeText: (text: string) => (names === 'utf-8-noflag' ? Buffer.from(text, 'utf8') : iconv.encode(text, names)) }),
  });
  for (const [name, content] of entries) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    if (name.endsWith('/')) await writer.add(name, undefined, { directory: true });
    else await writer.add(name, new Uint8ArrayReader(data));
  }
  return Buffer.from(await writer.close());
}

/**
 * The "overlapping files" zip bomb (David Fifield, 2019), in its plainest form:
 * one deflated file, and `entries` central directory entries that all point at
 * its one local header, each under its own name. Every entry is small and
 * honest about its sizes; only together do they inflate `entries` times.
 */
export function overlappingZip(content: Uint8Array, entries: number): Buffer {
  const data = deflateRawSync(content, { level: 9 });
  const crc = crc32(content);
  const header = (sig: number, size: number): Buffer => {
    const b = Buffer.alloc(size);
    b.writeUInt32LE(sig, 0);
    return b;
  };
  const fields = (b: Buffer, at: number, nameLength: number): void => {
    b.writeUInt16LE(20, at); // version needed
    b.writeUInt16LE(0x800, at + 2); // UTF-8 names
    b.writeUInt16LE(8, at + 4); // deflate
    b.writeUInt32LE(0x5c810000, at + 6); // DOS time and date, fixed
    b.writeUInt32LE(crc, at + 10);
    b.writeUInt32LE(data.length, at + 14);
    b.writeUInt32LE(content.length, at + 18);
    b.writeUInt16LE(nameLength, at + 22);
  };
  const firstName = Buffer.from('0.txt');
  const local = header(0x04034b50, 30);
  fields(local, 4, firstName.length);
  const central: Buffer[] = [];
  for (let i = 0; i < entries; i++) {
    const name = Buffer.from(`${i}.txt`);
    const c = header(0x02014b50, 46);
    c.writeUInt16LE(20, 4); // version made by
    fields(c, 6, name.length);
    c.writeUInt32LE(0, 42); // every entry: the one local header at 0
    central.push(c, name);
  }
  const dir = Buffer.concat(central);
  const start = local.length + firstName.length + data.length;
  const end = header(0x06054b50, 22);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(start, 16);
  return Buffer.concat([local, firstName, data, dir, end]);
}

/**
 * A Compound File Binary container (MS-CFB, version 3) whose directory names
 * the given streams, as old Office files (.doc: "WordDocument") and
 * password-protected new ones ("EncryptedPackage") do. The streams are empty.
 */
export function cfb(streams: string[]): Buffer {
  const header = Buffer.alloc(512);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(header, 0);
  header.writeUInt16LE(0x003e, 24);
  header.writeUInt16LE(3, 26);
  header.writeUInt16LE(0xfffe, 28);
  header.writeUInt16LE(9, 30);
  header.writeUInt16LE(6, 32);
  header.writeUInt32LE(0, 48); // first directory sector
  const entry = (name: string, type: number): Buffer => {
    const e = Buffer.alloc(128);
    Buffer.from(`${name}\0`, 'utf16le').copy(e, 0);
    e.writeUInt16LE((name.length + 1) * 2, 64);
    e[66] = type;
    return e;
  };
  const dir = Buffer.concat([entry('Root Entry', 5), ...streams.map((s) => entry(s, 2))]);
  return Buffer.concat([header, dir, Buffer.alloc((512 - (dir.length % 512)) % 512)]);
}
