// The Office formats, by extension, with both things we need to know of each:
// what a clerk calls it (file-kinds.ts) and how the converter opens it
// (documents.ts). file-type names the formats it knows from the bytes by
// their usual extension, so one table answers for a sniffed format and for a
// name's extension. Templates, slide shows and macro-enabled files render like
// their plain relatives; macros never run.
import type { FileKind } from './file-kinds.js';
import type { DocumentFormat } from './ports.js';

interface OfficeFormat {
  kind: FileKind;
  format: DocumentFormat;
  /** A macro-enabled format. */
  macro?: true;
}

const OFFICE: Readonly<Record<string, OfficeFormat>> = {
  // The binary formats: CFB containers to file-type; documents.ts tells them apart by their streams.
  doc: { kind: 'word', format: 'doc' },
  dot: { kind: 'word', format: 'doc' },
  xls: { kind: 'excel', format: 'xls' },
  xlt: { kind: 'excel', format: 'xls' },
  ppt: { kind: 'powerpoint', format: 'ppt' },
  pot: { kind: 'powerpoint', format: 'ppt' },
  pps: { kind: 'powerpoint', format: 'ppt' },
  docx: { kind: 'word', format: 'docx' },
  docm: { kind: 'word', format: 'docx', macro: true },
  dotx: { kind: 'word', format: 'docx' },
  dotm: { kind: 'word', format: 'docx', macro: true },
  xlsx: { kind: 'excel', format: 'xlsx' },
  xlsm: { kind: 'excel', format: 'xlsx', macro: true },
  xltx: { kind: 'excel', format: 'xlsx' },
  xltm: { kind: 'excel', format: 'xlsx', macro: true },
  pptx: { kind: 'powerpoint', format: 'pptx' },
  pptm: { kind: 'powerpoint', format: 'pptx', macro: true },
  potx: { kind: 'powerpoint', format: 'pptx' },
  potm: { kind: 'powerpoint', format: 'pptx', macro: true },
  ppsx: { kind: 'powerpoint', format: 'pptx' },
  ppsm: { kind: 'powerpoint', format: 'pptx', macro: true },
  rtf: { kind: 'rtf', format: 'rtf' },
  odt: { kind: 'odt', format: 'odt' },
  ott: { kind: 'odt', format: 'odt' },
  ods: { kind: 'ods', format: 'ods' },
  ots: { kind: 'ods', format: 'ods' },
  odp: { kind: 'odp', format: 'odp' },
  otp: { kind: 'odp', format: 'odp' },
};

/** The Office format a file-type name or a lowercase extension stands for; own keys only, as a hostile name may end in ".constructor". */
export const officeFormat = (name: string): OfficeFormat | undefined => (Object.hasOwn(OFFICE, name) ? OFFICE[name] : undefined);

/** Every extension with its row, for tables built on this one. */
export const officeFormats = (): [string, OfficeFormat][] => Object.entries(OFFICE);
