// One attachment: classify its bytes, decide what may cross, and build the new
// part from what we decoded. Images are rebuilt from pixels, text from decoded
// characters, documents as image-only PDFs; containers (zips, attached
// messages, winmail.dat) are opened and each file in them goes through the
// same rules; everything else is removed (the original stays in quarantine).
import { createHash } from 'node:crypto';
import { readZip } from './archive.js';
import { sanitizeBody } from './body.js';
import { classify, mismatch } from './classify.js';
import { fileKind } from './file-kinds.js';
import { finding, type Finding } from './findings.js';
import { secondOpinion } from './malware.js';
import { openMessage } from './message.js';
import { deliveredName, neutraliseMemberPath, neutraliseName, type SafeName } from './names.js';
import type { UntrustedAttachment } from './parse.js';
import { take, type OutputBudget } from './output-budget.js';
import { readTnef, TnefError } from './tnef.js';

import type { AttachmentContext, AttachmentOutcome, Conversion, DeliveredPart, Node } from './attachment-types.js';
import { convertCalendar, convertDoc, convertHtml, convertImage, convertText, removed, textPart } from './attachment-leaves.js';

export type { AttachmentContext, AttachmentOutcome, DeliveredPart, DeliveredType, Disposition } from './attachment-types.js';

/** Where in the nesting an attachment was found. */
interface Where {
  archiveDepth: number;
  messageDepth: number;
  /** Found in a zip: its name is a path. */
  inArchive: boolean;
  fallback: string;
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
  if (bytes === 0 || take(output, bytes)) {
    if (d.as !== 'delivered' || !d.also) return c;
    // What crosses beside it was sized to fit (sheetValues); should it not, it goes, the part stays.
    if (d.also.every((p) => take(output, p.bytes.byteLength))) return c;
    return { ...c, disposition: { as: 'delivered', part: d.part }, findings: [...c.findings, finding('sheet-values-left-out', { count: d.also.length })] };
  }
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
  // The scanner's second opinion comes before anything is made of the bytes.
  const hit = await secondOpinion(att.bytes, what, ctx);
  if (hit) return node(hit);
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
  outcomes.flatMap((o) => (o.disposition.as === 'delivered' ? [o.disposition.part, ...(o.disposition.also ?? [])] : o.disposition.as === 'opened' && o.disposition.part ? [o.disposition.part] : []));

export type { Node as SanitizedAttachment };
