// PDF and Office documents cross as image-only PDFs: the converter renders
// each page to pixels in an isolated process and builds a new PDF from them.
// Which format the bytes are decides how they are opened; the name only
// serves to report a lie.
import { cfbContent } from './cfb.js';
import { finding, type Finding, type FindingCode } from './findings.js';
import { officeFormat } from './office-formats.js';
import type { Policy } from './policy.js';
import type { DocumentConverter, DocumentFailure, DocumentFormat, SheetValuesRequest, UntrustedSheet } from './ports.js';

export type DocumentKind = { ok: true; format: DocumentFormat; /** A name extension that contradicts the bytes, if any. */ lie: string | null } | { ok: false; code: FindingCode; detail: string };

// What a name's extension claims; a word processor file named .xls is a lie worth reporting.
const FAMILY: Record<DocumentFormat, 'text' | 'sheet' | 'slides' | 'pdf'> = {
  pdf: 'pdf',
  doc: 'text',
  docx: 'text',
  rtf: 'text',
  odt: 'text',
  xls: 'sheet',
  xlsx: 'sheet',
  ods: 'sheet',
  ppt: 'slides',
  pptx: 'slides',
  odp: 'slides',
};

/** The format a file-type name or a name's extension stands for (office-formats.ts has the Office ones). */
const formatOf = (name: string): DocumentFormat | undefined => (name === 'pdf' ? 'pdf' : officeFormat(name)?.format);

// The binary Office formats open only after the CFB container's streams are read (below), never on a format name alone: fail closed.
const CFB_FORMATS: ReadonlySet<DocumentFormat> = new Set<DocumentFormat>(['doc', 'xls', 'ppt']);
const sniffedAs = (sniffed: string): DocumentFormat | undefined => {
  const format = formatOf(sniffed);
  return format && !CFB_FORMATS.has(format) ? format : undefined;
};

/** What document the bytes are, from file-type's format and, for CFB, the stream names. */
export function documentKind(bytes: Uint8Array, sniffedFormat: string | null, nameExt: string | null): DocumentKind {
  let format: DocumentFormat | undefined = sniffedFormat ? sniffedAs(sniffedFormat) : undefined;
  if (sniffedFormat === 'cfb') {
    const inside = cfbContent(bytes);
    if (inside === 'encrypted-ooxml') return { ok: false, code: 'document-encrypted', detail: 'password-protected Office file (EncryptedPackage)' };
    if (inside === 'doc' || inside === 'xls' || inside === 'ppt') format = inside;
    else return { ok: false, code: 'attachment-removed', detail: inside === 'outlook-message' ? 'Outlook .msg' : 'CFB container of no known document' };
  }
  if (!format) return { ok: false, code: 'attachment-removed', detail: `${sniffedFormat ?? 'unknown'} is no document format we convert` };
  const claimed = nameExt ? formatOf(nameExt) : undefined;
  return { ok: true, format, lie: claimed && FAMILY[claimed] !== FAMILY[format] ? `named .${nameExt}, actually ${format}` : null };
}

const CODES: Record<DocumentFailure, FindingCode> = {
  encrypted: 'document-encrypted',
  'too-many-pages': 'document-too-large',
  'page-too-large': 'document-too-large',
  timeout: 'timeout',
  undecodable: 'document-unconvertible',
  'no-sandbox': 'document-unconvertible',
  'converter-failed': 'document-unconvertible',
  'output-too-large': 'output-limit',
};

export type DocumentOutcome = { ok: true; pdf: Uint8Array; findings: Finding[]; sheets: readonly UntrustedSheet[] } | { ok: false; findings: Finding[] };

/** Workbooks: their sheets' values can cross as CSV beside the PDF. */
export const SHEET_FORMATS: ReadonlySet<DocumentFormat> = new Set<DocumentFormat>(['xlsx', 'xls', 'ods']);

/** Asks the converter for an image-only PDF (and a workbook's values); any failure, thrown or answered, removes the document. */
export async function convertDocument(bytes: Uint8Array, format: DocumentFormat, converter: DocumentConverter, policy: Policy, deadline: number, maxOutputBytes: number): Promise<DocumentOutcome> {
  const { documents } = policy;
  const sheetValues: SheetValuesRequest | undefined =
    documents.sheetValuesCsv && SHEET_FORMATS.has(format) ? { maxCellsPerSheet: documents.sheetMaxCells, maxBytes: maxOutputBytes, hidden: documents.hiddenCells } : undefined;
  try {
    const r = await converter.toImagePdf(bytes, format, {
      maxPages: documents.maxPages,
      dpi: documents.dpi,
      maxPixelsPerPage: documents.maxPixelsPerPage,
      jpegQuality: policy.output.jpegQuality,
      maxOutputBytes,
      deadline,
      ...(sheetValues ? { sheetValues } : {}),
      textLayer: policy.documents.textLayer,
      ...(documents.ocr && documents.textLayer ? { ocr: { maxPages: documents.ocrMaxPages } } : {}),
    });
    if (r.ok) {
      const findings = [finding(r.textLayer ? 'document-converted-searchable' : 'document-converted', { detail: `${format}, ${r.pages} pages` })];
      if (r.textTruncatedPages) findings.push(finding('document-text-partial', { detail: `${r.textTruncatedPages} pages with more text than the layer takes`, count: r.textTruncatedPages }));
      if (r.ocrPages) findings.push(finding('document-ocr', { detail: `${r.ocrPages} pages without text read by OCR`, count: r.ocrPages }));
      if (r.ocrUnreadPages) {
        findings.push(
          finding('document-ocr-partial', { detail: `${r.ocrUnreadPages} pages without text not read by OCR (page limit ${documents.ocrMaxPages}, time or failure)`, count: r.ocrUnreadPages }),
        );
      }
      return { ok: true, pdf: r.pdf, sheets: r.sheets ?? [], findings };
    }
    return { ok: false, findings: [finding(CODES[r.reason], { detail: `${r.reason}: ${r.detail}`.slice(0, 300) })] };
  } catch (err) {
    return { ok: false, findings: [finding('document-unconvertible', { detail: `converter threw: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) })] };
  }
}
