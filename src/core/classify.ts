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
}

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  png: 'png', jpg: 'jpeg', gif: 'gif', webp: 'webp', bmp: 'bmp', tif: 'tiff',
};

// file-type's extension -> our kind, for everything but images.
const SNIFFED_KINDS: Record<string, AttachmentKind> = {
  pdf: 'pdf',
  docx: 'office', xlsx: 'office', pptx: 'office', odt: 'office', ods: 'office', odp: 'office', cfb: 'office', rtf: 'office',
  zip: 'archive', rar: 'archive', '7z': 'archive', gz: 'archive', bz2: 'archive', xz: 'archive', tar: 'archive',
  lzh: 'archive', cab: 'archive', zst: 'archive', lz: 'archive', arj: 'archive', cpio: 'archive', ar: 'archive', rpm: 'archive', deb: 'archive',
  exe: 'executable', elf: 'executable', macho: 'executable', msi: 'executable', apk: 'executable', dex: 'executable',
  class: 'executable', wasm: 'executable', swf: 'executable', jar: 'executable', crx: 'executable', xpi: 'executable',
  lnk: 'shortcut',
  iso: 'disk-image', dmg: 'disk-image', vhd: 'disk-image', vhdx: 'disk-image', vmdk: 'disk-image', vdi: 'disk-image', qcow2: 'disk-image',
  ics: 'calendar',
  eml: 'message',
};

// Names that say "this runs" even when the bytes are plain text.
const SCRIPT_EXTS = new Set(['js', 'jse', 'vbs', 'vbe', 'wsf', 'wsh', 'ps1', 'psm1', 'bat', 'cmd', 'hta', 'sh', 'py', 'pl', 'rb', 'php', 'jar', 'scr', 'reg', 'inf', 'scf', 'sct', 'msc', 'cpl', 'com', 'pif', 'exe', 'dll', 'msi', 'lnk', 'url', 'one', 'iqy', 'slk', 'xll', 'appref-ms', 'settingcontent-ms', 'library-ms', 'search-ms', 'mht', 'mhtml', 'svg', 'svgz', 'xml', 'xsl', 'chm', 'iso', 'img', 'vhd', 'vhdx']);

const textKind = (head: string, ext: string | null, declaredType: string): AttachmentKind => {
  const start = head.replace(/^\uFEFF/, '').trimStart().slice(0, 1024).toLowerCase();
  if (/<svg[\s>]/.test(start) || (start.startsWith('<?xml') && start.includes('<svg'))) return 'svg';
  if (/^<(!doctype\s+html|html|head|body|script|iframe|meta|a\s|div|table|p[\s>])/.test(start)) return 'html';
  if (start.startsWith('begin:vcalendar') || start.startsWith('begin:vevent')) return 'calendar';
  if (start.startsWith('[internetshortcut]')) return 'shortcut';
  if (start.startsWith('#!') || start.startsWith('<?php')) return 'script';
  if (declaredType === 'message/rfc822' || declaredType === 'message/global') return 'message';
  if (declaredType === 'text/html' || declaredType === 'application/xhtml+xml') return 'html';
  if (declaredType === 'text/calendar') return 'calendar';
  if (declaredType === 'image/svg+xml') return 'svg';
  if (ext === 'htm' || ext === 'html' || ext === 'xhtml') return 'html';
  if (ext === 'ics' || ext === 'vcs') return 'calendar';
  if (ext && SCRIPT_EXTS.has(ext)) return 'script';
  if (ext === 'csv' || declaredType === 'text/csv' || declaredType === 'application/csv') return 'csv';
  return 'text';
};

// Bytes that no text file has: NUL, or many C0 controls.
const looksBinary = (bytes: Uint8Array): boolean => {
  const n = Math.min(bytes.length, 8192);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) controls++;
  }
  return controls > n / 100 + 2;
};

export async function classify(bytes: Uint8Array, declaredType: string, ext: string | null): Promise<Classified> {
  const sniffed = await fileTypeFromBuffer(bytes);
  if (sniffed) {
    const imageFormat = IMAGE_FORMATS[sniffed.ext] ?? null;
    if (imageFormat) return { kind: 'image', sniffedType: sniffed.mime, imageFormat };
    if (sniffed.ext === 'xml') {
      const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096));
      return { kind: textKind(head, ext, declaredType), sniffedType: sniffed.mime, imageFormat: null };
    }
    return { kind: SNIFFED_KINDS[sniffed.ext] ?? 'unknown', sniffedType: sniffed.mime, imageFormat: null };
  }
  if (bytes.length > 0 && looksBinary(bytes)) return { kind: 'unknown', sniffedType: 'application/octet-stream', imageFormat: null };
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 4096));
  const kind = textKind(head, ext, declaredType);
  return { kind, sniffedType: kind === 'csv' ? 'text/csv' : 'text/plain', imageFormat: null };
}

// What a declared Content-Type or a name's extension claims, where it claims
// something specific enough to be wrong.
const claimedKindOfType = (type: string): AttachmentKind | null => {
  if (type.startsWith('image/')) return type === 'image/svg+xml' ? 'svg' : 'image';
  if (type === 'application/pdf') return 'pdf';
  if (type === 'text/plain') return 'text';
  if (type === 'text/csv') return 'csv';
  if (type === 'text/html') return 'html';
  if (/msword|ms-excel|ms-powerpoint|officedocument|opendocument|rtf/.test(type)) return 'office';
  if (/zip|compressed|x-7z|x-rar|x-tar|gzip/.test(type)) return 'archive';
  return null;
};

const claimedKindOfExt = (ext: string): AttachmentKind | null => {
  if (['jpg', 'jpeg', 'png', 'gif', 'webp', 'bmp', 'tif', 'tiff'].includes(ext)) return 'image';
  if (ext === 'pdf') return 'pdf';
  if (ext === 'txt') return 'text';
  if (ext === 'csv') return 'csv';
  if (['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp', 'rtf'].includes(ext)) return 'office';
  if (['zip', '7z', 'rar', 'lzh', 'gz', 'tar'].includes(ext)) return 'archive';
  if (['exe', 'dll', 'scr', 'com', 'msi'].includes(ext)) return 'executable';
  return null;
};

const compatible = (claimed: AttachmentKind, actual: AttachmentKind): boolean =>
  claimed === actual || (claimed === 'text' && actual === 'csv') || (claimed === 'csv' && actual === 'text') ||
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
