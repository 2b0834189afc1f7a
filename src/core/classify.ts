// What an attachment really is comes from its bytes (file-type's magic
// numbers, then a look at text), never from its declared type or name. Those
// two only serve to report a mismatch.
import { fileTypeFromBuffer } from 'file-type/core';
import type { AttachmentKind } from './findings.js';
import type { ImageFormat } from './ports.js';

export interface Classified {
  kind: AttachmentKind;
  /** What the bytes say, as a MIME type ("text/plain" when no magic matched). */
  sniffedType: string;
  imageFormat: ImageFormat | null;
  /** file-type's name for the format ("docx", "cfb", "zip"), when a magic number matched. */
  format: string | null;
}

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  png: 'png',
  jpg: 'jpeg',
  gif: 'gif',
  webp: 'webp',
  bmp: 'bmp',
  tif: 'tiff',
  // An animated PNG is a PNG whose default image every decoder shows; it was
  // removed as "unknown". libvips decodes that default image only.
  apng: 'png',
};

const TNEF_SIGNATURE = [0x78, 0x9f, 0x3e, 0x22];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const startsWith = (bytes: Uint8Array, sig: readonly number[], at = 0): boolean => sig.every((b, i) => bytes[at + i] === b);

// file-type's extension -> our kind, for everything but images.
const SNIFFED_KINDS: Record<string, AttachmentKind> = {
  pdf: 'pdf',
  docx: 'office',
  xlsx: 'office',
  pptx: 'office',
  odt: 'office',
  ods: 'office',
  odp: 'office',
  cfb: 'office',
  rtf: 'office',
  // Templates, slide shows and the macro-enabled variants: rendered to pixels like the others (macros never run).
  docm: 'office',
  dotx: 'office',
  dotm: 'office',
  xlsm: 'office',
  xltx: 'office',
  xltm: 'office',
  pptm: 'office',
  potx: 'office',
  potm: 'office',
  ppsx: 'office',
  ppsm: 'office',
  ott: 'office',
  ots: 'office',
  otp: 'office',
  ace: 'archive',
  lz4: 'archive',
  bz: 'archive',
  zstd: 'archive',
  chm: 'executable',
  reg: 'script',
  zip: 'archive',
  rar: 'archive',
  '7z': 'archive',
  gz: 'archive',
  bz2: 'archive',
  xz: 'archive',
  tar: 'archive',
  lzh: 'archive',
  cab: 'archive',
  zst: 'archive',
  lz: 'archive',
  arj: 'archive',
  cpio: 'archive',
  ar: 'archive',
  rpm: 'archive',
  deb: 'archive',
  exe: 'executable',
  elf: 'executable',
  macho: 'executable',
  msi: 'executable',
  apk: 'executable',
  dex: 'executable',
  class: 'executable',
  wasm: 'executable',
  swf: 'executable',
  jar: 'executable',
  crx: 'executable',
  xpi: 'executable',
  lnk: 'shortcut',
  iso: 'disk-image',
  dmg: 'disk-image',
  vhd: 'disk-image',
  vhdx: 'disk-image',
  vmdk: 'disk-image',
  vdi: 'disk-image',
  qcow2: 'disk-image',
  ics: 'calendar',
  eml: 'message',
};

// Names that say "this runs" even when the bytes are plain text.
const SCRIPT_EXTS = new Set([
  'js',
  'jse',
  'vbs',
  'vbe',
  'wsf',
  'wsh',
  'ps1',
  'psm1',
  'bat',
  'cmd',
  'hta',
  'sh',
  'py',
  'pl',
  'rb',
  'php',
  'jar',
  'scr',
  'reg',
  'inf',
  'scf',
  'sct',
  'msc',
  'cpl',
  'com',
  'pif',
  'exe',
  'dll',
  'msi',
  'lnk',
  'url',
  'one',
  'iqy',
  'slk',
  'xll',
  'appref-ms',
  'settingcontent-ms',
  'library-ms',
  'search-ms',
  'mht',
  'mhtml',
  'svg',
  'svgz',
  'xml',
  'xsl',
  'chm',
  'iso',
  'img',
  'vhd',
  'vhdx',
]);

/** The first markup of a text, past any comments, XML declarations and whitespace (within its first KiB). */
const pastProlog = (start: string): string => {
  let s = start;
  for (;;) {
    const close = s.startsWith('<!--') ? '-->' : s.startsWith('<?xml') ? '?>' : null;
    if (!close) return s;
    const end = s.indexOf(close);
    if (end < 0) return '';
    s = s.slice(end + close.length).trimStart();
  }
};

const HTML_START = /^<(!doctype\s+html|html|head|body|script|iframe|meta|a\s|div|table|p[\s>])/;

const textKind = (head: string, ext: string | null, declaredType: string): AttachmentKind => {
  const start = head
    .replace(/^\uFEFF/, '')
    .trimStart()
    .slice(0, 1024)
    .toLowerCase();
  // An HTML page that draws an inline <svg> in its first KiB is HTML (it was
  // removed as SVG, "declared text/html, actually text/plain"). An SVG file is
  // XML: its first markup is <svg or its doctype; an XML document that names
  // <svg early and is not HTML is still taken for one.
  const markup = pastProlog(start);
  if (HTML_START.test(markup)) return 'html';
  if (/^<(svg[\s>]|!doctype\s+svg)/.test(markup) || (start.startsWith('<?xml') && /<svg[\s>]/.test(start))) return 'svg';
  if (start.startsWith('begin:vcalendar') || start.startsWith('begin:vevent')) return 'calendar';
  if (start.startsWith('[internetshortcut]')) return 'shortcut';
  if (start.startsWith('#!') || start.startsWith('<?php')) return 'script';
  if (declaredType === 'message/rfc822' || declaredType === 'message/global') return 'message';
  if (declaredType === 'text/html' || declaredType === 'application/xhtml+xml') return 'html';
  if (declaredType === 'text/calendar') return 'calendar';
  if (declaredType === 'image/svg+xml') return 'svg';
  if (ext === 'htm' || ext === 'html' || ext === 'xhtml') return 'html';
  if (ext === 'ics' || ext === 'vcs') return 'calendar';
  if (ext === 'eml') return 'message';
  if (ext && SCRIPT_EXTS.has(ext)) return 'script';
  // A TAB-separated file is a CSV to a spreadsheet, formulas included.
  if (ext === 'csv' || ext === 'tsv' || declaredType === 'text/csv' || declaredType === 'application/csv' || declaredType === 'text/tab-separated-values') return 'csv';
  return 'text';
};

/** The type a text of this kind really is, as a MIME type. */
const TEXT_TYPES: Partial<Record<AttachmentKind, string>> = { csv: 'text/csv', html: 'text/html', svg: 'image/svg+xml', calendar: 'text/calendar' };
const textType = (kind: AttachmentKind): string => TEXT_TYPES[kind] ?? 'text/plain';

// Bytes that no text file has: many C0 controls. A NUL counts as one control,
// not as proof of binary: one stray NUL (a padded record, a bad export) had a
// whole text file removed as "unknown", where the text crosses with the NUL
// removed (cleanText). Binary data has far more controls than the threshold.
const looksBinary = (bytes: Uint8Array): boolean => {
  const n = Math.min(bytes.length, 8192);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) controls++;
  }
  return controls > n / 100 + 2;
};

// A UTF-16 byte order mark: file-type reads FF FE as an MPEG audio frame and
// the text's NUL bytes look binary, so UTF-16 text was removed as "unknown".
const utf16Head = (bytes: Uint8Array): string | null => {
  const le = bytes[0] === 0xff && bytes[1] === 0xfe;
  if (!le && !(bytes[0] === 0xfe && bytes[1] === 0xff)) return null;
  const n = Math.min(bytes.length, 8192) & ~1;
  const head = new TextDecoder(le ? 'utf-16le' : 'utf-16be').decode(bytes.subarray(2, n));
  // The same test as looksBinary, on characters instead of bytes; an unpaired
  // surrogate (decoded as U+FFFD) counts too, as binary after FF FE has many.
  let controls = 0;
  for (const ch of head) {
    const c = ch.codePointAt(0) ?? 0;
    if (c === 0xfffd || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c && c !== 0x1b)) controls++;
  }
  return controls > head.length / 100 + 2 ? null : head;
};

// file-type calls anything that starts with "BM" a BMP and anything that starts
// with "GIF" a GIF, so a text file beginning "BMI値の集計" or "GIF画像について"
// was removed as an undecodable image. Those two need a real header.
const BMP_INFO_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);
const plausible = (ext: string, bytes: Uint8Array): boolean => {
  if (ext === 'bmp') return bytes.length >= 26 && BMP_INFO_HEADER_SIZES.has(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(14, true));
  if (ext === 'gif') return startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61;
  return true;
};

export async function classify(bytes: Uint8Array, declaredType: string, ext: string | null): Promise<Classified> {
  const u16 = utf16Head(bytes);
  if (u16 !== null) {
    const kind = textKind(u16, ext, declaredType);
    return { kind, sniffedType: textType(kind), imageFormat: null, format: null };
  }
  const found = await fileTypeFromBuffer(bytes);
  const sniffed = found && plausible(found.ext, bytes) ? found : undefined;
  if (sniffed) {
    const imageFormat = IMAGE_FORMATS[sniffed.ext] ?? null;
    if (imageFormat) return { kind: 'image', sniffedType: sniffed.mime, imageFormat, format: sniffed.ext };
    if (sniffed.ext === 'xml') {
      const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096));
      return { kind: textKind(head, ext, declaredType), sniffedType: sniffed.mime, imageFormat: null, format: sniffed.ext };
    }
    return { kind: SNIFFED_KINDS[sniffed.ext] ?? 'unknown', sniffedType: sniffed.mime, imageFormat: null, format: sniffed.ext };
  }
  // file-type wants a well-formed IHDR before it says PNG; bytes that start with
  // the signature but are broken went on to be read as text. They claim to be an
  // image, so the image decoder judges them (and reports them undecodable).
  if (startsWith(bytes, PNG_SIGNATURE)) return { kind: 'image', sniffedType: 'image/png', imageFormat: 'png', format: 'png' };
  // ISO 9660 (CD001 at sector 16), which file-type does not know.
  if (startsWith(bytes, [0x43, 0x44, 0x30, 0x30, 0x31], 0x8001)) return { kind: 'disk-image', sniffedType: 'application/x-iso9660-image', imageFormat: null, format: 'iso' };
  // Outlook's winmail.dat, which file-type does not know either.
  if (startsWith(bytes, TNEF_SIGNATURE)) return { kind: 'tnef', sniffedType: 'application/ms-tnef', imageFormat: null, format: 'tnef' };
  if (bytes.length > 0 && looksBinary(bytes)) return { kind: 'unknown', sniffedType: 'application/octet-stream', imageFormat: null, format: null };
  // Without its UTF-8 byte order mark: read as latin1 the BOM is "ï»¿", which
  // textKind's \uFEFF strip missed, so "<html>" after a BOM was taken for text.
  const bom = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  const head = new TextDecoder('latin1').decode(bytes.subarray(bom, 4096));
  const kind = textKind(head, ext, declaredType);
  return { kind, sniffedType: textType(kind), imageFormat: null, format: null };
}

// What a declared Content-Type or a name's extension claims, where it claims
// something specific enough to be wrong.
const claimedKindOfType = (type: string): AttachmentKind | null => {
  if (type.startsWith('image/')) return type === 'image/svg+xml' ? 'svg' : 'image';
  if (type === 'application/pdf') return 'pdf';
  if (type === 'text/plain') return 'text';
  if (type === 'text/csv' || type === 'text/tab-separated-values') return 'csv';
  if (type === 'text/html') return 'html';
  if (/msword|ms-excel|ms-powerpoint|officedocument|opendocument|rtf/.test(type)) return 'office';
  if (/zip|compressed|x-7z|x-rar|x-tar|gzip/.test(type)) return 'archive';
  return null;
};

const OFFICE_EXTS = new Set([
  'doc',
  'docx',
  'docm',
  'dot',
  'dotx',
  'dotm',
  'xls',
  'xlsx',
  'xlsm',
  'xlt',
  'xltx',
  'xltm',
  'ppt',
  'pptx',
  'pptm',
  'pot',
  'potx',
  'potm',
  'pps',
  'ppsx',
  'ppsm',
  'odt',
  'ods',
  'odp',
  'ott',
  'ots',
  'otp',
  'rtf',
]);

const claimedKindOfExt = (ext: string): AttachmentKind | null => {
  if (['jpg', 'jpeg', 'png', 'gif', 'webp', 'bmp', 'tif', 'tiff'].includes(ext)) return 'image';
  if (ext === 'pdf') return 'pdf';
  if (ext === 'txt') return 'text';
  if (ext === 'csv' || ext === 'tsv') return 'csv';
  if (OFFICE_EXTS.has(ext)) return 'office';
  if (['zip', '7z', 'rar', 'lzh', 'gz', 'tar'].includes(ext)) return 'archive';
  if (['exe', 'dll', 'scr', 'com', 'msi'].includes(ext)) return 'executable';
  return null;
};

const compatible = (claimed: AttachmentKind, actual: AttachmentKind): boolean =>
  claimed === actual ||
  (claimed === 'text' && actual === 'csv') ||
  (claimed === 'csv' && actual === 'text') ||
  // Office files are zip containers; an old .doc may be sniffed as a CFB container.
  (claimed === 'archive' && actual === 'office');

/** A description of the lie, or null when the declared type and name agree with the bytes. */
export function mismatch(declaredType: string, ext: string | null, actual: Classified): string | null {
  const byType = claimedKindOfType(declaredType);
  const byExt = ext ? claimedKindOfExt(ext) : null;
  const lies: string[] = [];
  if (byType && !compatible(byType, actual.kind)) lies.push(`declared ${declaredType}`);
  if (byExt && !compatible(byExt, actual.kind)) lies.push(`named .${ext}`);
  return lies.length ? `${lies.join(', ')}, actually ${actual.sniffedType}` : null;
}
