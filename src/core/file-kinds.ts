// What a file is, in the words a clerk uses (labels.ts has the words): an
// "Excel ファイル", not application/vnd.openxmlformats-officedocument.
// spreadsheetml.sheet. From the bytes first (classify.ts's kind and format),
// the name's extension only where the bytes leave it open (an encrypted
// Office file is a CFB container to file-type). Also what a name claims to
// be, to say what a disguised file pretends to be.
import type { AttachmentKind } from './findings.js';

export type FileKind =
  | 'image'
  | 'text'
  | 'csv'
  | 'pdf'
  | 'word'
  | 'excel'
  | 'powerpoint'
  | 'rtf'
  | 'odt'
  | 'ods'
  | 'odp'
  | 'office'
  | 'archive'
  | 'executable'
  | 'script'
  | 'html'
  | 'svg'
  | 'calendar'
  | 'message'
  | 'tnef'
  | 'shortcut'
  | 'disk-image'
  | 'unknown';

// file-type's format names, the converter's, and name extensions.
const OFFICE: Record<string, FileKind> = {
  doc: 'word',
  docx: 'word',
  docm: 'word',
  dot: 'word',
  dotx: 'word',
  dotm: 'word',
  xls: 'excel',
  xlsx: 'excel',
  xlsm: 'excel',
  xlt: 'excel',
  xltx: 'excel',
  xltm: 'excel',
  ppt: 'powerpoint',
  pptx: 'powerpoint',
  pptm: 'powerpoint',
  pot: 'powerpoint',
  potx: 'powerpoint',
  potm: 'powerpoint',
  pps: 'powerpoint',
  ppsx: 'powerpoint',
  ppsm: 'powerpoint',
  rtf: 'rtf',
  odt: 'odt',
  ott: 'odt',
  ods: 'ods',
  ots: 'ods',
  odp: 'odp',
  otp: 'odp',
};

/** The macro-enabled Office formats, as file-type names them from the bytes. */
export const MACRO_FORMATS: ReadonlySet<string> = new Set(['docm', 'dotm', 'xlsm', 'xltm', 'pptm', 'potm', 'ppsm']);

export function fileKind(kind: AttachmentKind, format: string | null, ext: string | null): FileKind {
  if (kind === 'office') return (format ? OFFICE[format] : undefined) ?? (ext ? OFFICE[ext] : undefined) ?? 'office';
  return kind;
}

const CLAIMED: Record<string, FileKind> = {
  ...OFFICE,
  pdf: 'pdf',
  txt: 'text',
  csv: 'csv',
  tsv: 'csv',
  htm: 'html',
  html: 'html',
  ics: 'calendar',
  eml: 'message',
  jpg: 'image',
  jpeg: 'image',
  png: 'image',
  gif: 'image',
  bmp: 'image',
  tif: 'image',
  tiff: 'image',
  webp: 'image',
  zip: 'archive',
  lzh: 'archive',
  '7z': 'archive',
  rar: 'archive',
};

/** What a name's extension claims the file is, where it names something harmless-looking. */
export const claimedKind = (ext: string | null): FileKind | null => (ext ? (CLAIMED[ext.toLowerCase()] ?? null) : null);

/** The kinds that are never legitimate in mail: removed, with a warning first in the notice. */
export const DANGEROUS_KINDS: ReadonlySet<AttachmentKind> = new Set(['executable', 'script', 'shortcut', 'disk-image']);
