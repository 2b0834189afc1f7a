// The small interfaces through which the pure core reaches the world. Adapters
// (src/quarantine, src/converters) implement them; tests pass real adapters.
import type { Finding } from './findings.js';

export type QuarantineId = string & { readonly __brand: 'QuarantineId' };

/** What is known about an original when it is put in quarantine. */
export interface QuarantineMeta {
  receivedAt: Date;
  envelopeFrom: string | null;
  envelopeTo: readonly string[];
  from: string | null;
  to: readonly string[];
  subject: string | null;
  findings: readonly Finding[];
  /**
   * Each attachment (and each file found in one) and what became of it, in
   * the notice's order. Absent on items kept before it was recorded, and
   * empty when the message was blocked whole (nothing was looked at).
   */
  attachments?: readonly AttachmentRecord[];
  /** 2 when a sender rule (policy senders.rules) asks two administrators to approve its release, whatever release.approvals says. */
  approvals?: 2;
}

/** What the console shows of one attachment of a quarantined original. */
export interface AttachmentRecord {
  /** Its number in the notice; `parent` is the archive or message it was found in. */
  index: number;
  parent: number | null;
  /** The neutralised name, as the notice shows it. */
  name: string;
  /** What it is in a clerk's words (file-kinds.ts), and the type its bytes were sniffed as. */
  fileKind: string;
  sniffedType: string;
  size: number;
  sha256: string;
  /** removed; delivered (as `deliveredAs`); opened (a container, its files follow); in-body (a calendar shown in the text). */
  outcome: 'removed' | 'delivered' | 'opened' | 'in-body';
  deliveredAs: string | null;
}

export interface QuarantineStore {
  /**
   * Keep `original` durably (encrypted at rest) and return its id. Throws when
   * it cannot: the caller must then not deliver anything.
   */
  put(original: Uint8Array, meta: QuarantineMeta): Promise<QuarantineId>;
}

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | 'tiff';

export interface ImageLimits {
  maxPixels: number;
  jpegQuality: number;
  /** Absolute time (ms since epoch) after which the converter must give up. */
  deadline: number;
}

export type ImageResult =
  { ok: true; format: 'png' | 'jpeg'; bytes: Uint8Array; width: number; height: number; frames: number } | { ok: false; reason: 'too-many-pixels' | 'undecodable' | 'timeout'; detail: string };

/**
 * Decodes an image of the sniffed `format` to pixels and encodes new PNG or
 * JPEG bytes from those pixels alone: no metadata, profile or extra frame of
 * the original survives.
 */
export interface ImageTranscoder {
  reencode(untrustedBytes: Uint8Array, format: ImageFormat, limits: ImageLimits): Promise<ImageResult>;
}

/** Documents that are rebuilt as image-only PDFs. */
export type DocumentFormat = 'pdf' | 'docx' | 'xlsx' | 'pptx' | 'doc' | 'xls' | 'ppt' | 'rtf' | 'odt' | 'ods' | 'odp';

/** What a workbook's converter is asked for beside its PDF: each sheet's values as CSV. */
export interface SheetValuesRequest {
  /** Cells (rows x columns) of one sheet; past it the sheet's values are cut (the rows after). */
  maxCellsPerSheet: number;
  /** Bytes of all the CSVs together; a sheet past it is left out. */
  maxBytes: number;
  /** Hidden sheets, rows and columns: left out of the values, or included. */
  hidden: 'omit' | 'include';
}

/** One sheet of a workbook as the converter's sandbox reported it: every field is untrusted. */
export interface UntrustedSheet {
  untrustedName: string;
  /** The sheet itself is hidden. */
  hidden: boolean;
  /** Its values as CSV (UTF-8, comma), or null when left out (hidden under 'omit', or past maxBytes). */
  untrustedCsv: Uint8Array | null;
  /** Over maxBytes (the others are hidden sheets under 'omit'). */
  leftOut: 'hidden' | 'size' | null;
  hiddenRows: number;
  hiddenColumns: number;
  /** Cut at maxCellsPerSheet. */
  truncated: boolean;
}

export interface DocumentLimits {
  maxPages: number;
  dpi: number;
  /** Pixels of one rendered page (width x height). */
  maxPixelsPerPage: number;
  jpegQuality: number;
  /** Bytes the new PDF may take (what is left of limits.maxOutputBytes); past it the converter stops. */
  maxOutputBytes: number;
  /** Absolute time (ms since epoch) after which the converter must give up. */
  deadline: number;
  /** For a workbook (xlsx, xls, ods): also each sheet's values. */
  sheetValues?: SheetValuesRequest;
  /** Draw the pages' visible text invisibly over the images, so it can be searched and copied. */
  textLayer: boolean;
  /**
   * With textLayer: read pages without text of their own (scans) by OCR, at
   * most `maxPages` of them, before the deadline; what is not read in time
   * stays without text.
   */
  ocr?: { maxPages: number };
}

export type DocumentFailure =
  | 'encrypted' // a password other than the empty one is needed
  | 'too-many-pages'
  | 'page-too-large'
  | 'timeout'
  | 'undecodable' // broken, truncated, not what the bytes claimed
  | 'no-sandbox' // the converter's sandbox is missing and the policy does not allow running without it
  | 'converter-failed' // crashed, killed for memory, or answered with garbage
  | 'output-too-large'; // the new PDF would not fit in what the delivered message may still carry

export type DocumentResult =
  | {
      ok: true;
      pdf: Uint8Array;
      pages: number;
      /** Visible text was drawn invisibly over the pages (searchable, copyable). */
      textLayer: boolean;
      /** Pages whose text was cut short (too many characters): the notice says so. */
      textTruncatedPages?: number;
      /** Pages without text of their own whose text OCR read (when limits.ocr asked for it). */
      ocrPages?: number;
      /** Pages without text of their own left unread: past ocr.maxPages, out of time, or OCR failed. */
      ocrUnreadPages?: number;
      /** When sheetValues was asked for a workbook. */
      sheets?: readonly UntrustedSheet[];
    }
  | { ok: false; reason: DocumentFailure; detail: string };

/**
 * Renders an untrusted document to pixels in an isolated process and builds a
 * new PDF from those pixels alone: same page count and sizes, one image per
 * page, no links, scripts, forms, attachments or metadata; the only text is
 * the pages' visible text drawn invisibly (render mode 3) when asked.
 */
export interface DocumentConverter {
  toImagePdf(untrustedBytes: Uint8Array, format: DocumentFormat, limits: DocumentLimits): Promise<DocumentResult>;
}

/**
 * What a malware scanner said of one file. `unavailable`: it could not give an
 * answer (not reachable, no answer in time, died mid-scan, or the file is over
 * what it accepts: `limit`); the core then decides by the policy (scan.*).
 */
export type ScanResult = { verdict: 'clean' } | { verdict: 'found'; signature: string } | { verdict: 'unavailable'; reason: 'unreachable' | 'timeout' | 'limit' | 'failed'; detail: string };

/** A second opinion (e.g. clamd) on each file before it is converted. */
export interface MalwareScanner {
  /** `deadline`: absolute time (ms since epoch) after which the scanner must give up. Never rejects. */
  scan(untrustedBytes: Uint8Array, deadline: number): Promise<ScanResult>;
}

export interface SanitizeDeps {
  quarantine: QuarantineStore;
  images: ImageTranscoder;
  documents: DocumentConverter;
  /** When configured (scan.clamdSocket), every file is scanned before it is converted or removed; absent, nothing is scanned. */
  scanner?: MalwareScanner;
  /** The current time; injected so that tests are deterministic. */
  now: () => Date;
  /** A fresh random token for Message-IDs and boundaries (URL-safe). */
  randomToken: () => string;
  /**
   * The console's public address (config web.publicUrl, no trailing slash):
   * the notice of a quarantined original then ends with its item's page,
   * `<consoleUrl>/items/<id>`. Without it the notice names the id only.
   */
  consoleUrl?: string;
}
