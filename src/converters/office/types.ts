// The contract between the Office converter (LibreOffice in a sandbox) and the
// document converter that rasterizes its PDF. Structurally the same as the
// `OfficeToPdf` that src/converters/documents.ts takes.
import type { DocumentFailure, DocumentFormat, SheetValuesRequest, UntrustedSheet } from '../../core/ports.js';
import type { Isolation, IsolationMode } from '../isolation.js';

export type OfficeFormat = Exclude<DocumentFormat, 'pdf'>;

export const OFFICE_FORMATS: readonly OfficeFormat[] = ['docx', 'xlsx', 'pptx', 'doc', 'xls', 'ppt', 'rtf', 'odt', 'ods', 'odp'];

export const SHEET_FORMATS: ReadonlySet<OfficeFormat> = new Set<OfficeFormat>(['xlsx', 'xls', 'ods']);

export type OfficeResult = { ok: true; pdf: Uint8Array; sheets?: UntrustedSheet[] } | { ok: false; reason: DocumentFailure; detail: string };

/**
 * Converts one untrusted Office document to PDF, giving up at `deadline`
 * (ms since epoch). The PDF is still untrusted: it must be rasterized. With
 * `sheets`, a workbook also answers each sheet's values (untrusted CSV).
 */
export type OfficeToPdf = (untrustedBytes: Uint8Array, format: OfficeFormat, deadline: number, sheets?: SheetValuesRequest) => Promise<OfficeResult>;

export interface OfficeConverterOptions {
  /** LibreOffice sandboxes kept started and waiting for a document (default 1). */
  warmSlots?: number;
  /**
   * How each LibreOffice is isolated (decideIsolation): in bubblewrap, without
   * a sandbox where the policy allows that, or not at all (every document
   * fails with `no-sandbox`).
   */
  isolation: Isolation;
  /** Cap on the writable memory (RLIMIT_DATA) of each process in a sandbox, in MiB (default 2048). */
  memoryCapMb?: number;
  /** A PDF larger than this is treated as a failed conversion (default 256 MiB). */
  maxPdfBytes?: number;
  /** The values of a workbook's sheets may take at most this, whatever a document asks (default 256 MiB). */
  maxSheetBytes?: number;
}

export interface OfficeConverter {
  readonly convert: OfficeToPdf;
  /** Appears in the command line of every process this converter starts (to find them in `ps`). */
  readonly tag: string;
  /** How documents are isolated: as decided when the converter was created. */
  readonly isolation: IsolationMode;
  /** Resolves once a sandbox is started and waiting, so that the next document pays no start (false: it failed to start). */
  warm(): Promise<boolean>;
  /** Kills every LibreOffice the converter started and waits until they are gone. */
  close(): Promise<void>;
}
