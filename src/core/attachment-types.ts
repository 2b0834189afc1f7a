// The types of one attachment's journey (attachments.ts): what may cross, what
// became of each file, and what a conversion returns.
import type { FileKind } from './file-kinds.js';
import type { AttachmentKind, Finding } from './findings.js';
import type { Labels } from './labels.js';
import type { Policy } from './policy.js';
import type { DocumentConverter, ImageTranscoder, MalwareScanner } from './ports.js';
import type { OutputBudget } from './output-budget.js';
import type { ArchiveBudget } from './archive.js';

/**
 * What may cross. text/csv only as csvForExcel writes it: UTF-8 with a byte
 * order mark, comma-separated, CRLF, every formula cell neutralised.
 */
export type DeliveredType = 'text/plain; charset=utf-8' | 'text/csv; charset=utf-8' | 'image/png' | 'image/jpeg' | 'application/pdf';

export interface DeliveredPart {
  filename: string;
  contentType: DeliveredType;
  bytes: Uint8Array;
}

/** What became of an attachment. */
export type Disposition =
  | { as: 'removed' }
  /** `also`: what crosses beside it (a workbook's sheets as CSV beside its PDF). */
  | { as: 'delivered'; part: DeliveredPart; also?: readonly DeliveredPart[] }
  /** A container: its files are listed after it (an attached message also crosses as text). */
  | { as: 'opened'; part: DeliveredPart | null; members: number }
  /** A calendar: its events are shown at the end of the body. */
  | { as: 'in-body'; text: string };

/** What one file is and what became of it, wherever it was found. */
export interface AttachmentFile {
  /** The neutralised original name (a path inside an archive), as shown in the notice. */
  shownName: string;
  /** Whether the sender named it (shownName is otherwise a made-up one). */
  named: boolean;
  kind: AttachmentKind;
  /** What it is in a clerk's words: Excel, Word, PDF, image… (labels.ts). */
  fileKind: FileKind;
  /** What its name pretends it is, when the name is disguised (names.ts). */
  claimedExt: string | null;
  /** The extension of its name, if any. */
  ext: string | null;
  sniffedType: string;
  /** Bytes of the original file, and their SHA-256 (hex): what an administrator checks the original against. */
  size: number;
  sha256: string;
  disposition: Disposition;
  findings: Finding[];
}

export interface AttachmentOutcome extends AttachmentFile {
  /** 1-based position in the notice. */
  index: number;
  /** The position of the archive, message or TNEF this file was found in. */
  parent: number | null;
}

export interface AttachmentContext {
  policy: Policy;
  labels: Labels;
  images: ImageTranscoder;
  documents: DocumentConverter;
  /** Scans each file before it is converted or removed, when configured. */
  scanner?: MalwareScanner;
  deadline: number;
  /** What is left for all the archives of this message together. */
  budget: ArchiveBudget;
  /** What is left of what the delivered message may carry (limits.maxOutputBytes). */
  output: OutputBudget;
  /** A sender rule asks for every image as a page of a PDF (sender-rules.ts). */
  imagesAsPdf?: boolean;
}

/** An attachment before it has its place in the notice. */
export interface Node extends AttachmentFile {
  members: Node[];
}

export type Conversion = {
  disposition: Disposition;
  findings: Finding[];
  members?: Node[];
  /** The document format the bytes turned out to be, when that is finer than classify's (a CFB container's .xls). */
  format?: string;
};
