// The leaves of an attachment's journey: an image, a text, an HTML page, a
// calendar or a document, each turned into a part we wrote (or removed).
// One attachment: classify its bytes, decide what may cross, and build the new
// part from what we decoded. Images are rebuilt from pixels, text from decoded
// characters, documents as image-only PDFs; containers (zips, attached
// messages, winmail.dat) are opened and each file in them goes through the
// same rules; everything else is removed (the original stays in quarantine).
import { sanitizeBody } from './body.js';
import { calendarText } from './calendar.js';
import { type Classified } from './classify.js';
import { decodeText } from './charset.js';
import { csvForExcel, neutraliseCsv } from './csv.js';
import { defangText } from './defang.js';
import { removeEncodedFiles } from './encoded-files.js';
import { cfbHasMacros } from './cfb.js';
import { convertDocument, documentKind } from './documents.js';
import { MACRO_FORMATS } from './file-kinds.js';
import { finding, type Finding } from './findings.js';
import { imagePagePdf } from './image-page.js';
import { deliveredName, type SafeName } from './names.js';
import type { UntrustedAttachment } from './parse.js';
import { encodedSize, rawBytesLeft } from './output-budget.js';
import { sheetValues } from './sheet-values.js';
import { cleanText } from './text-clean.js';

import type { AttachmentContext, Conversion, DeliveredPart } from './attachment-types.js';

export const removed = (...findings: Finding[]): Conversion => ({ disposition: { as: 'removed' }, findings });
/** A file that crosses as `part`, with `also` beside it when there is any (a workbook's sheets as CSV beside its PDF). */
export const delivered = (part: DeliveredPart, findings: Finding[], also: readonly DeliveredPart[] = []): Conversion => ({
  disposition: { as: 'delivered', part, ...(also.length > 0 ? { also } : {}) },
  findings,
});
export const textPart = (filename: string, text: string): DeliveredPart => ({ filename, contentType: 'text/plain; charset=utf-8', bytes: Buffer.from(text, 'utf8') });

export async function convertImage(att: UntrustedAttachment, format: NonNullable<Classified['imageFormat']>, name: SafeName, ctx: AttachmentContext): Promise<Conversion> {
  const result = await ctx.images.reencode(att.bytes, format, {
    maxPixels: ctx.policy.limits.maxImagePixels,
    jpegQuality: ctx.policy.output.jpegQuality,
    deadline: ctx.deadline,
  });
  if (!result.ok) {
    const code = result.reason === 'too-many-pixels' ? 'image-too-large' : result.reason === 'timeout' ? 'timeout' : 'image-undecodable';
    return removed(finding(code, { detail: result.detail }));
  }
  const detail = `${format} -> ${result.format}, ${result.width}x${result.height}`;
  // A sender rule (images: pdf-page): the new image, as the page of a new PDF.
  if (ctx.imagesAsPdf)
    return delivered({ filename: deliveredName(name, 'pdf'), contentType: 'application/pdf', bytes: await imagePagePdf(result) }, [finding('image-as-pdf', { detail: `${detail} -> pdf` })]);
  const ext = result.format === 'jpeg' ? 'jpg' : 'png';
  return delivered({ filename: deliveredName(name, ext), contentType: `image/${result.format}`, bytes: result.bytes }, [
    finding('image-reencoded', { detail: `${format} -> ${result.format}, ${result.width}x${result.height}` }),
  ]);
}

export function convertText(att: UntrustedAttachment, csv: boolean, name: SafeName, ctx: AttachmentContext): Conversion {
  const decoded = decodeText(att.bytes, att.declaredCharset);
  if (!decoded) return removed(finding('text-undecodable'));
  const findings = [finding('text-reencoded', { detail: `${decoded.charset} -> UTF-8` })];
  const cleaned = cleanText(decoded.text);
  if (cleaned.removed > 0) findings.push(finding('control-chars-removed', { detail: `${cleaned.removed}` }));
  const files = removeEncodedFiles(cleaned.text, ctx.labels, ctx.policy.text.encodedFiles);
  findings.push(...files.findings);
  let text = files.text;
  let links: number;
  const excel = csv ? csvForExcel(text) : null;
  if (excel) {
    if (excel.neutralised > 0) findings.push(finding('csv-formula-neutralised', { detail: `${excel.neutralised} cells` }));
    if (excel.links > 0) findings.push(finding('link-defanged', { detail: `${excel.links}` }));
    return delivered({ filename: deliveredName(name, 'csv'), contentType: 'text/csv; charset=utf-8', bytes: excel.bytes }, findings);
  }
  if (csv) {
    // Not CSV the parser accepts: text, neutralised as well as it can be.
    const fixed = neutraliseCsv(text);
    text = fixed.text;
    links = fixed.links;
    if (fixed.neutralised > 0) findings.push(finding('csv-formula-neutralised', { detail: `${fixed.neutralised} cells` }));
  } else {
    const defanged = defangText(text);
    text = defanged.text;
    links = defanged.count;
  }
  if (links > 0) findings.push(finding('link-defanged', { detail: `${links}` }));
  return delivered(textPart(deliveredName(name, 'txt'), text), findings);
}

/** An HTML file becomes text by the body's rules: links inert, scripts and remote images gone. */
export function convertHtml(att: UntrustedAttachment, name: SafeName, ctx: AttachmentContext): Conversion {
  const decoded = decodeText(att.bytes, att.declaredCharset);
  if (!decoded) return removed(finding('text-undecodable'));
  const body = sanitizeBody({ text: null, html: decoded.text }, ctx.labels, ctx.policy);
  const findings = [finding('html-attachment-converted'), ...body.findings.filter((f) => f.code !== 'html-converted')];
  return delivered(textPart(deliveredName(name, 'txt'), `${body.text}\n`), findings);
}

/** A calendar is shown in the body; the .ics itself never crosses. */
export function convertCalendar(att: UntrustedAttachment, ctx: AttachmentContext): Conversion {
  const decoded = decodeText(att.bytes, att.declaredCharset ?? 'utf-8');
  const events = decoded ? calendarText(decoded.text, ctx.labels) : null;
  if (!events) return removed(finding('attachment-removed', { detail: 'calendar without readable events' }));
  const body = sanitizeBody({ text: events, html: null }, ctx.labels, ctx.policy);
  return { disposition: { as: 'in-body', text: body.text }, findings: [finding('calendar-as-text'), ...body.findings] };
}

export async function convertDoc(att: UntrustedAttachment, what: Classified, name: SafeName, ctx: AttachmentContext): Promise<Conversion> {
  const doc = documentKind(att.bytes, what.format, name.ext);
  if (!doc.ok) return removed(finding(doc.code, { detail: doc.detail }));
  // Macros never run (the document becomes pixels), but a document that carries them is what a
  // macro attack looks like, and the notice warns about it first.
  const macro = (what.format && MACRO_FORMATS.has(what.format)) || (what.format === 'cfb' && cfbHasMacros(att.bytes));
  const before = [
    ...(doc.lie ? [finding('type-mismatch', { detail: doc.lie })] : []),
    ...(macro ? [finding('document-macro', { detail: what.format === 'cfb' ? `${doc.format} with VBA` : (what.format ?? '') })] : []),
  ];
  const out = await convertDocument(att.bytes, doc.format, ctx.documents, ctx.policy, ctx.deadline, rawBytesLeft(ctx.output));
  if (!out.ok) return { ...removed(...before, ...out.findings), format: doc.format };
  const pdf: DeliveredPart = { filename: deliveredName(name, 'pdf'), contentType: 'application/pdf', bytes: out.pdf };
  // The CSVs take what the message may still carry beside the PDF (charged() takes both).
  const room = { left: ctx.output.closed ? 0 : ctx.output.left - encodedSize(out.pdf.byteLength), closed: false };
  const values = out.sheets.length > 0 ? sheetValues(out.sheets, name, ctx.policy, room) : { parts: [], findings: [] };
  return { ...delivered(pdf, [...before, ...out.findings, ...values.findings], values.parts), format: doc.format };
}
