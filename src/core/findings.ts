// Every finding the sanitizer can report. A code is stable: reports, audit
// records and other tools key on it. Any finding means the delivered message
// differs from the original in a way the recipient must be told about, so the
// original is kept in quarantine.

export const findingCodes = [
  // Whole-message verdicts (the message could not be sanitized part by part).
  'message-too-large',
  'mime-too-deep',
  'too-many-parts',
  'header-too-large',
  'parse-error',
  'timeout',
  'internal-error',
  'encoded-file-blocked',
  // Blocked by who sent it: the From domain's DMARC p=reject failed; the exclusion list or a rule (policy senders).
  'dmarc-reject',
  'sender-blocked',
  // Structure: delivered, but read one way only, or cut to the limits.
  'mime-ambiguous',
  'parts-truncated',
  'depth-truncated',
  // Headers.
  'missing-from',
  'missing-date',
  'invalid-address',
  // A Reply-To on another domain than the sender's: left out, shown in the notice.
  'reply-to-other-domain',
  // Bodies.
  'html-converted',
  'alternative-mismatch',
  'active-content-removed',
  'remote-image-removed',
  'link-defanged',
  'link-text-mismatch',
  'control-chars-removed',
  'undecodable-characters',
  'encoded-file-removed',
  // Attachments.
  'image-reencoded',
  'image-too-large',
  'image-undecodable',
  'text-reencoded',
  'csv-formula-neutralised',
  'text-undecodable',
  'type-mismatch',
  'name-bidi-control',
  'name-double-extension',
  'name-path',
  'attachment-removed',
  // The delivered message reached limits.maxOutputBytes: what came after was removed.
  'output-limit',
  // Documents (rebuilt as image-only PDFs).
  'document-converted',
  // ... with the pages' visible text drawn invisibly over them: it can be searched and copied.
  'document-converted-searchable',
  // Some pages had too much text for the text layer: their text is partly missing.
  'document-text-partial',
  // Pages without text (scans) read by OCR; pages OCR left unread (page limit, time).
  'document-ocr',
  'document-ocr-partial',
  // A document with macros (docm, xlsm, a .doc with VBA): never run, warned about first.
  'document-macro',
  'document-encrypted',
  'document-too-large',
  'document-unconvertible',
  // A workbook's sheets as CSV beside its PDF: delivered, hidden parts, cut, left out.
  'sheet-values-csv',
  'sheet-hidden-omitted',
  'sheet-hidden-included',
  'sheet-values-truncated',
  'sheet-values-left-out',
  // Containers: archives, attached messages, TNEF, calendars, HTML files.
  'archive-opened',
  'archive-encrypted',
  'archive-limit',
  'archive-corrupt',
  'archive-unsupported',
  'archive-path-unsafe',
  'archive-overlap',
  'message-sanitized',
  'nesting-too-deep',
  'tnef-opened',
  'tnef-corrupt',
  'calendar-as-text',
  'html-attachment-converted',
  // Malware scanning (a second opinion, when a scanner is configured).
  'malware-found',
  'malware-scan-limit',
  'malware-scan-unavailable',
  // A sender rule (policy senders.rules): the original kept; an image delivered as a page of a PDF.
  'sender-quarantined',
  'image-as-pdf',
] as const;

export type FindingCode = (typeof findingCodes)[number];

/** What kind of thing an attachment turned out to be, from its bytes. */
export type AttachmentKind =
  'image' | 'text' | 'csv' | 'pdf' | 'office' | 'archive' | 'executable' | 'script' | 'html' | 'svg' | 'calendar' | 'message' | 'tnef' | 'shortcut' | 'disk-image' | 'unknown';

/**
 * One thing the sanitizer noticed or did. `attachment` is the 1-based index in
 * the notice's attachment list, when the finding is about one attachment.
 */
export interface Finding {
  code: FindingCode;
  attachment?: number;
  /** Short machine-readable detail (a limit, a type, a host). */
  detail?: string;
  /** How many of something, for the notice's sentence (parts not delivered). */
  count?: number;
}

export const finding = (code: FindingCode, extra: Omit<Finding, 'code'> = {}): Finding => ({
  code,
  ...extra,
});

/**
 * Changes after which the original holds nothing the recipient lacks: links
 * shown inert (the notice says how to read them), a Reply-To left out (the
 * notice names it), a sender or date the original did not have either.
 */
export const LOSES_NOTHING: ReadonlySet<FindingCode> = new Set<FindingCode>(['link-defanged', 'reply-to-other-domain', 'missing-from', 'missing-date']);

/** Whether content was removed or converted (policy quarantine.keepOriginals: content-changed keeps only these). */
export const changesContent = (findings: readonly Finding[]): boolean => findings.some((f) => !LOSES_NOTHING.has(f.code));
