// One attachment: classify its bytes, decide what may cross, and build the new
// part from what we decoded. Images are rebuilt from pixels, text from decoded
// characters, documents as image-only PDFs; containers (zips, attached
// messages, winmail.dat) are opened and each file in them goes through the
// same rules; everything else is removed (the original stays in quarantine).
import { createHash } from 'node:crypto';
import { readZip, type ArchiveBudget } from './archive.js';
import { sanitizeBody } from './body.js';
import { calendarText } from './calendar.js';
import { classify, mismatch, type Classified } from './classify.js';
import { decodeText } from './charset.js';
import { csvForExcel, neutraliseCsv } from './csv.js';
import { defangText } from './defang.js';
import { removeEncodedFiles } from './encoded-files.js';
import { cfbHasMacros } from './cfb.js';
import { convertDocument, documentKind } from './documents.js';
import { fileKind, MACRO_FORMATS, type FileKind } from './file-kinds.js';
import { finding, type AttachmentKind, type Finding } from './findings.js';
import type { Labels } from './labels.js';
import { openMessage } from './message.js';
import { deliveredName, neutraliseMemberPath, neutraliseName, type SafeName } from './names.js';
import type { UntrustedAttachment } from './parse.js';
import type { Policy } from './policy.js';
import type { DocumentConverter, ImageTranscoder } from './ports.js';
import { rawBytesLeft, take, type OutputBudget } from './output-budget.js';
import { cleanText } from './text-clean.js';
import { readTnef, TnefError } from './tnef.js';

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
  | { as: 'delivered'; part: DeliveredPart }
  /** A container: its files are listed after it (an attached message also crosses as text). */
  | { as: 'opened'; part: DeliveredPart | null; members: number }
  /** A calendar: its events are shown at the end of the body. */
  | { as: 'in-body'; text: string };

export interface AttachmentOutcome {
  /** 1-based position in the notice. */
  index: number;
  /** The position of the archive, message or TNEF this file was found in. */
  parent: number | null;
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

export interface AttachmentContext {
  policy: Policy;
  labels: Labels;
  images: ImageTranscoder;
  documents: DocumentConverter;
  deadline: number;
  /** What is left for all the archives of this message together. */
  budget: ArchiveBudget;
  /** What is left of what the delivered message may carry (limits.maxOutputBytes). */
  output: OutputBudget;
}

/** An attachment before it has its place in the notice. */
interface Node {
  shownName: string;
  named: boolean;
  kind: AttachmentKind;
  fileKind: FileKind;
  claimedExt: string | null;
  ext: string | null;
  sniffedType: string;
  size: number;
  sha256: string;
  disposition: Disposition;
  findings: Finding[];
  members: Node[];
}

/** Where in the nesting an attachment was found. */
interface Where {
  archiveDepth: number;
  messageDepth: number;
  /** Found in a zip: its name is a path. */
  inArchive: boolean;
  fallback: string;
}

type Conversion = {
  disposition: Disposition;
  findings: Finding[];
  members?: Node[];
  /** The document format the bytes turned out to be, when that is finer than classify's (a CFB container's .xls). */
  format?: string;
};

const removed = (...findings: Finding[]): Conversion => ({ disposition: { as: 'removed' }, findings });
const delivered = (part: DeliveredPart, findings: Finding[]): Conversion => ({ disposition: { as: 'delivered', part }, findings });
const textPart = (filename: string, text: string): DeliveredPart => ({ filename, contentType: 'text/plain; charset=utf-8', bytes: Buffer.from(text, 'utf8') });

async function convertImage(att: UntrustedAttachment, format: NonNullable<Classified['imageFormat']>, name: SafeName, ctx: AttachmentContext): Promise<Conversion> {
  const result = await ctx.images.reencode(att.bytes, format, {
    maxPixels: ctx.policy.limits.maxImagePixels,
    jpegQuality: ctx.policy.output.jpegQuality,
    deadline: ctx.deadline,
  });
  if (!result.ok) {
    const code = result.reason === 'too-many-pixels' ? 'image-too-large' : result.reason === 'timeout' ? 'timeout' : 'image-undecodable';
    return removed(finding(code, { detail: result.detail }));
  }
  const ext = result.format === 'jpeg' ? 'jpg' : 'png';
  return delivered({ filename: deliveredName(name, ext), contentType: `image/${result.format}`, bytes: result.bytes }, [
    finding('image-reencoded', { detail: `${format} -> ${result.format}, ${result.width}x${result.height}` }),
  ]);
}

function convertText(att: UntrustedAttachment, csv: boolean, name: SafeName, ctx: AttachmentContext): Conversion {
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
function convertHtml(att: UntrustedAttachment, name: SafeName, ctx: AttachmentContext): Conversion {
  const decoded = decodeText(att.bytes, att.declaredCharset);
  if (!decoded) return removed(finding('text-undecodable'));
  const body = sanitizeBody({ text: null, html: decoded.text }, ctx.labels, ctx.policy);
  const findings = [finding('html-attachment-converted'), ...body.findings.filter((f) => f.code !== 'html-converted')];
  return delivered(textPart(deliveredName(name, 'txt'), `${body.text}\n`), findings);
}

/** A calendar is shown in the body; the .ics itself never crosses. */
function convertCalendar(att: UntrustedAttachment, ctx: AttachmentContext): Conversion {
  const decoded = decodeText(att.bytes, att.declaredCharset ?? 'utf-8');
  const events = decoded ? calendarText(decoded.text, ctx.labels) : null;
  if (!events) return removed(finding('attachment-removed', { detail: 'calendar without readable events' }));
  const body = sanitizeBody({ text: events, html: null }, ctx.labels, ctx.policy);
  return { disposition: { as: 'in-body', text: body.text }, findings: [finding('calendar-as-text'), ...body.findings] };
}

async function convertDoc(att: UntrustedAttachment, what: Classified, name: SafeName, ctx: AttachmentContext): Promise<Conversion> {
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
  return { ...delivered({ filename: deliveredName(name, 'pdf'), contentType: 'application/pdf', bytes: out.pdf }, [...before, ...out.findings]), format: doc.format };
}

const member = (path: string | null, bytes: Buffer): UntrustedAttachment => ({
  untrustedName: path,
  declaredType: 'application/octet-stream',
  declaredCharset: null,
  bytes,
  related: false,
});

/** A limit hit anywhere inside an archive condemns the whole archive: it is a bomb. */
const hitLimit = (nodes: readonly Node[]): Finding | undefined => {
  for (const n of nodes) {
    const f = n.findings.find((x) => x.code === 'archive-limit') ?? hitLimit(n.members);
    if (f) return f;
  }
  return undefined;
};

async function openZip(att: UntrustedAttachment, ctx: AttachmentContext, where: Where): Promise<Conversion> {
  if (where.archiveDepth >= ctx.policy.archives.maxDepth) {
    return removed(finding('archive-limit', { detail: `nested deeper than archives.maxDepth ${ctx.policy.archives.maxDepth}` }));
  }
  const zip = await readZip(att.bytes, ctx.policy.archives, ctx.budget);
  if (!zip.ok) {
    const code = zip.reason === 'encrypted' ? 'archive-encrypted' : zip.reason === 'limit' ? 'archive-limit' : zip.reason === 'corrupt' ? 'archive-corrupt' : 'archive-unsupported';
    return removed(finding(code, { detail: zip.detail }));
  }
  // One file inflated at a time, sanitized, and let go before the next.
  const members: Node[] = [];
  try {
    for (const [i, m] of zip.members.entries()) {
      let bytes: Buffer;
      try {
        bytes = await m.read();
      } catch (err) {
        return removed(finding('archive-corrupt', { detail: (err instanceof Error ? err.message : String(err)).slice(0, 200) }));
      }
      members.push(await sanitizeNode(member(m.path, bytes), ctx, { ...where, archiveDepth: where.archiveDepth + 1, inArchive: true, fallback: `${where.fallback}-${i + 1}` }));
    }
  } finally {
    zip.close();
  }
  const bomb = hitLimit(members);
  if (bomb) return removed(finding('archive-limit', { detail: bomb.detail ?? 'a nested archive hit a limit' }));
  const mac = zip.macMetadata > 0 ? `, ${zip.macMetadata} macOS metadata files left out` : '';
  const findings = [finding('archive-opened', { detail: `${members.length} files${mac}` })];
  if (zip.overlapping > 0) findings.push(finding('archive-overlap', { detail: `${zip.overlapping} entries` }));
  return { disposition: { as: 'opened', part: null, members: members.length }, findings, members };
}

async function children(atts: readonly UntrustedAttachment[], ctx: AttachmentContext, where: Where): Promise<Node[]> {
  const out: Node[] = [];
  for (const [i, a] of atts.entries()) out.push(await sanitizeNode(a, ctx, { ...where, inArchive: false, fallback: `${where.fallback}-${i + 1}` }));
  return out;
}

async function openRfc822(att: UntrustedAttachment, name: SafeName, ctx: AttachmentContext, where: Where): Promise<Conversion> {
  if (where.messageDepth >= ctx.policy.limits.maxMimeDepth) {
    return removed(finding('nesting-too-deep', { detail: `attached messages nested deeper than limits.maxMimeDepth ${ctx.policy.limits.maxMimeDepth}` }));
  }
  const msg = await openMessage(att.bytes, ctx.policy, ctx.labels);
  if (!msg.ok) return removed(finding(msg.code, { detail: msg.detail }));
  const members = await children(msg.attachments, ctx, { ...where, messageDepth: where.messageDepth + 1 });
  const part = textPart(deliveredName(name, 'txt'), msg.text);
  return { disposition: { as: 'opened', part, members: members.length }, findings: [finding('message-sanitized'), ...msg.findings], members };
}

async function openTnef(att: UntrustedAttachment, name: SafeName, ctx: AttachmentContext, where: Where): Promise<Conversion> {
  if (where.messageDepth >= ctx.policy.limits.maxMimeDepth) return removed(finding('nesting-too-deep', { detail: 'TNEF nested too deeply' }));
  let tnef;
  try {
    tnef = readTnef(att.bytes);
  } catch (err) {
    return removed(finding('tnef-corrupt', { detail: err instanceof TnefError ? err.message : String(err).slice(0, 200) }));
  }
  const members = await children(
    tnef.files.map((f) => member(f.name, f.bytes)),
    ctx,
    { ...where, messageDepth: where.messageDepth + 1 },
  );
  const findings = [finding('tnef-opened', { detail: `${tnef.files.length} files` })];
  let part: DeliveredPart | null = null;
  if (tnef.html !== null || (tnef.text !== null && tnef.text.trim() !== '')) {
    const body = sanitizeBody({ text: tnef.text, html: tnef.html }, ctx.labels, ctx.policy);
    findings.push(...body.findings);
    part = textPart(deliveredName(name, 'txt'), `${body.text}\n`);
  }
  return { disposition: { as: 'opened', part, members: members.length }, findings, members };
}

/**
 * Takes room in the delivered message for what a conversion delivers. What
 * does not fit is removed (what it found is no longer what happened to it),
 * and the budget closes behind it.
 */
function charged(c: Conversion, output: OutputBudget): Conversion {
  if (c.findings.some((f) => f.code === 'output-limit')) {
    output.closed = true;
    return c;
  }
  const d = c.disposition;
  const bytes = d.as === 'delivered' ? d.part.bytes.byteLength : d.as === 'opened' ? (d.part?.bytes.byteLength ?? 0) : d.as === 'in-body' ? Buffer.byteLength(d.text, 'utf8') : 0;
  if (bytes === 0 || take(output, bytes)) return c;
  if (d.as === 'opened') return { ...c, disposition: { ...d, part: null }, findings: [...c.findings, finding('output-limit')] };
  return { disposition: { as: 'removed' }, findings: [finding('output-limit')], members: c.members, ...(c.format ? { format: c.format } : {}) };
}

async function sanitizeNode(att: UntrustedAttachment, ctx: AttachmentContext, where: Where): Promise<Node> {
  const fallback = att.declaredType === 'message/rfc822' && !att.untrustedName ? ctx.labels.forwardedMessageName : `attachment${where.fallback}`;
  const safe = where.inArchive && att.untrustedName ? neutraliseMemberPath(att.untrustedName, fallback) : { ...neutraliseName(att.untrustedName, fallback), shown: null };
  const findings: Finding[] = safe.findings.map((code) => finding(code));
  const what = await classify(att.bytes, att.declaredType, safe.ext);
  const lie = mismatch(att.declaredType, safe.ext, what);
  if (lie) findings.push(finding('type-mismatch', { detail: lie }));
  const node = (c: Conversion): Node => ({
    shownName: safe.shown ?? safe.name,
    named: Boolean(att.untrustedName?.trim()),
    kind: what.kind,
    fileKind: fileKind(what.kind, c.format ?? what.format, safe.ext),
    claimedExt: safe.claimedExt,
    ext: safe.ext,
    sniffedType: what.sniffedType,
    size: att.bytes.byteLength,
    sha256: createHash('sha256').update(att.bytes).digest('hex'),
    disposition: c.disposition,
    findings: [...findings, ...c.findings],
    members: c.members ?? [],
  });

  let c: Conversion;
  // Once the delivered message is full, nothing more is converted.
  if (ctx.output.closed) return node(removed(finding('output-limit')));
  switch (what.kind) {
    case 'image':
      c = what.imageFormat ? await convertImage(att, what.imageFormat, safe, ctx) : removed(finding('attachment-removed', { detail: what.sniffedType }));
      break;
    case 'text':
    case 'csv':
      c = convertText(att, what.kind === 'csv', safe, ctx);
      break;
    case 'html':
      c = convertHtml(att, safe, ctx);
      break;
    case 'calendar':
      c = convertCalendar(att, ctx);
      break;
    case 'pdf':
    case 'office':
      c = await convertDoc(att, what, safe, ctx);
      break;
    case 'archive':
      c = what.format === 'zip' ? await openZip(att, ctx, where) : removed(finding('archive-unsupported', { detail: what.format ?? what.sniffedType }));
      break;
    case 'message':
      c = await openRfc822(att, safe, ctx, where);
      break;
    case 'tnef':
      c = await openTnef(att, safe, ctx, where);
      break;
    default:
      c = removed(finding('attachment-removed', { detail: what.kind }));
  }
  return node(charged(c, ctx.output));
}

/** The notice's list: each attachment, followed by what was found in it, numbered in that order. */
function flatten(nodes: readonly Node[], parent: number | null, out: AttachmentOutcome[]): void {
  for (const n of nodes) {
    const index = out.length + 1;
    out.push({
      index,
      parent,
      shownName: n.shownName,
      named: n.named,
      kind: n.kind,
      fileKind: n.fileKind,
      claimedExt: n.claimedExt,
      ext: n.ext,
      sniffedType: n.sniffedType,
      size: n.size,
      sha256: n.sha256,
      disposition: n.disposition,
      findings: n.findings.map((f) => ({ ...f, attachment: index })),
    });
    flatten(n.members, index, out);
  }
}

/** Sanitizes one top-level attachment (the `position`-th) and what it contains. */
export async function sanitizeAttachment(att: UntrustedAttachment, position: number, ctx: AttachmentContext): Promise<Node> {
  return sanitizeNode(att, ctx, { archiveDepth: 0, messageDepth: 0, inArchive: false, fallback: `-${position}` });
}

/** Numbers the sanitized attachments and their contents for the notice. */
export function numbered(nodes: readonly Node[]): AttachmentOutcome[] {
  const out: AttachmentOutcome[] = [];
  flatten(nodes, null, out);
  return out;
}

/** The parts that cross, in notice order. */
export const deliveredParts = (outcomes: readonly AttachmentOutcome[]): DeliveredPart[] =>
  outcomes.flatMap((o) => (o.disposition.as === 'delivered' ? [o.disposition.part] : o.disposition.as === 'opened' && o.disposition.part ? [o.disposition.part] : []));

export type { Node as SanitizedAttachment };
