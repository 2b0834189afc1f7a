// What a file is, in the words a clerk uses (labels.ts has the words): an
// "Excel ファイル", not application/vnd.openxmlformats-officedocument.
// spreadsheetml.sheet. From the bytes first (classify.ts's kind and format),
// the name's extension only where the bytes leave it open (an encrypted
// Office file is a CFB container to file-type). Also what a name claims to
// be, to say what a disguised file pretends to be.
import type { AttachmentKind } from './findings.js';
import { officeFormat, officeFormats } from './office-formats.js';

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

/** The macro-enabled Office formats, as file-type names them from the bytes. */
export const MACRO_FORMATS: ReadonlySet<string> = new Set(officeFormats().flatMap(([ext, f]) => (f.macro ? [ext] : [])));

export function fileKind(kind: AttachmentKind, format: string | null, ext: string | null): FileKind {
  // file-type's format names, the converter's, and name extensions are all keys of the Office table.
  if (kind === 'office') return (format ? officeFormat(format)?.kind : undefined) ?? (ext ? officeFormat(ext)?.kind : undefined) ?? 'office';
  return kind;
}

const CLAIMED: Readonly<Record<string, FileKind>> = {
  ...Object.fromEntries(officeFormats().map(([ext, f]) => [ext, f.kind])),
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
export const claimedKind = (ext: string | null): FileKind | null => {
  const key = ext?.toLowerCase();
  return key && Object.hasOwn(CLAIMED, key) ? (CLAIMED[key] ?? null) : null;
};

/** The kinds that are never legitimate in mail: removed, with a warning first in the notice. */
export const DANGEROUS_KINDS: ReadonlySet<AttachmentKind> = new Set(['executable', 'script', 'shortcut', 'disk-image']);
