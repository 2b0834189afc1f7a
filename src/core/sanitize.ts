// parse -> classify -> decide -> convert -> compose, failing closed: whatever
// goes wrong, the original is quarantined and the recipient gets a notice-only
// message. Only a quarantine that cannot keep the original stops a decision.
import { archiveBudget } from './archive.js';
import { authenticationResults } from './authentication-results.js';
import { deliveredParts, numbered, sanitizeAttachment, type AttachmentContext, type AttachmentOutcome, type SanitizedAttachment } from './attachments.js';
import { sanitizeBody } from './body.js';
import { composeMessage, type VerdictWord } from './compose.js';
import { defangText } from './defang.js';
import { EncodedFileBlocked } from './encoded-files.js';
import { ScannerUnavailableError, ScanUnavailable } from './malware.js';
import { changesContent, finding, type Finding, type FindingCode } from './findings.js';
import { buildHeaders, type NewHeaders, type ShownFields } from './headers.js';
import { labelsFor } from './labels.js';
import { buildNotice } from './notice.js';
import { parseMessage } from './parse.js';
import type { Policy } from './policy.js';
import type { AttachmentRecord, QuarantineId, QuarantineMeta, SanitizeDeps } from './ports.js';
import { scanShape } from './shape.js';
import { shownHeaderBlock } from './shown-headers.js';
import { fitText, outputBudget } from './output-budget.js';
import { structureView, type StructureView } from './structure.js';
import { assessSender } from './sender-assessment.js';
import { checkDeadline, DeadlineExceeded, withDeadline } from './deadline.js';
import type { Envelope } from '../model/envelope.js';
import type { SenderAssessment, SenderFacts } from '../model/sender-trust.js';
import { senderTreatment, type SenderTreatment } from './sender-rules.js';
import { EXIT, OperatorError } from '../model/operator-error.js';

export type { Envelope };
export { ScannerUnavailableError };

export interface SanitizeInput {
  raw: Uint8Array;
  envelope?: Envelope;
  /** What the relay found out about the sender at receipt (authentication, first contact); absent when nothing was checked. */
  sender?: SenderFacts;
}

export type SanitizeResult =
  | {
      action: 'deliver';
      verdict: VerdictWord;
      /** Exactly what the LGWAN side receives. */
      message: Buffer;
      quarantineId: QuarantineId | null;
      findings: Finding[];
    }
  | { action: 'reject'; verdict: 'rejected'; message: null; quarantineId: null; findings: Finding[] };

/** The original could not be kept, so nothing may be decided or delivered. */
export class QuarantineUnavailableError extends OperatorError {
  override readonly name = 'QuarantineUnavailableError';
  constructor(cause: unknown) {
    super(`the quarantine could not keep the original: ${cause instanceof Error ? cause.message : String(cause)}; nothing was delivered, retry once the quarantine store works`, EXIT.tempfail, {
      cause,
    });
  }
}

class MessageUnparseable extends Error {
  override readonly name = 'MessageUnparseable';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

const EMPTY_HEADERS: ShownFields = {
  from: [],
  to: [],
  cc: [],
  subject: null,
  date: null,
  messageId: null,
  inReplyTo: null,
  references: null,
  replyTo: [],
};

/**
 * The shown header fields alone, parsed, so that even a blocked message shows
 * who sent it. A bounded block (shown-headers.ts), not the original header:
 * this runs on the relay's main thread when a worker was killed.
 */
const HEADERS_ONLY_MS = 3000;

async function headersOnly(raw: Uint8Array, policy: Policy): Promise<typeof EMPTY_HEADERS> {
  try {
    // A parser that hangs must not hold up the notice: a few seconds, then no headers.
    return await withDeadline(parseMessage(shownHeaderBlock(raw, policy.limits.maxHeaderBytes)), Date.now() + HEADERS_ONLY_MS);
  } catch {
    return EMPTY_HEADERS;
  }
}

/** The notice's sender line: from the relay's facts, the From and Reply-To fields and the envelope. */
const senderOf = (input: SanitizeInput, fields: Pick<ShownFields, 'from' | 'replyTo'>, policy: Policy): SenderAssessment | null =>
  assessSender({ facts: input.sender, from: fields.from, replyTo: fields.replyTo, mailFrom: input.envelope?.mailFrom, rcptTo: input.envelope?.rcptTo }, policy);

/** senders.subjectTag, for a suspicious sender only. */
const warningTag = (sender: SenderAssessment | null, policy: Policy): string => (sender?.level === 'suspicious' ? policy.senders.subjectTag : '');

const recordOf = (o: AttachmentOutcome): AttachmentRecord => {
  const d = o.disposition;
  const part = d.as === 'delivered' ? d.part : d.as === 'opened' ? d.part : null;
  return { index: o.index, parent: o.parent, name: o.shownName, fileKind: o.fileKind, sniffedType: o.sniffedType, size: o.size, sha256: o.sha256, outcome: d.as, deliveredAs: part?.filename ?? null };
};

const metaFor = (input: SanitizeInput, h: NewHeaders, findings: Finding[], receivedAt: Date, attachments: readonly AttachmentOutcome[], t: SenderTreatment): QuarantineMeta => ({
  ...(t.twoApprovals ? { approvals: 2 as const } : {}),
  receivedAt,
  envelopeFrom: input.envelope?.mailFrom ?? null,
  envelopeTo: input.envelope?.rcptTo ?? [],
  from: h.from.address,
  to: h.to.map((m) => m.address),
  subject: h.subject,
  findings,
  attachments: attachments.map(recordOf),
});

/** What the policy's sender rules add for this message (its From address as the headers were built). */
const treatmentOf = (input: SanitizeInput, policy: Policy, h: NewHeaders, assessment: SenderAssessment | null): SenderTreatment =>
  senderTreatment(policy.senders, {
    addresses: [h.from.address, input.envelope?.mailFrom],
    recipients: input.envelope?.rcptTo.length ? input.envelope.rcptTo : h.to.map((m) => m.address),
    facts: input.sender ?? null,
    assessment,
  });

/** A sender rule, the exclusion list or DMARC p=reject blocks the message whole. */
class SenderBlocked extends Error {
  override readonly name = 'SenderBlocked';
  constructor(readonly treatment: SenderTreatment) {
    super('blocked by the policy senders section');
  }
}

function blockFinding(t: SenderTreatment): Finding {
  const b = t.block;
  if (b?.by === 'dmarc-reject') return finding('dmarc-reject', { detail: b.domain });
  return finding('sender-blocked', { detail: b?.by === 'exclude' ? `exclude ${b.entry}` : b?.by === 'rule' ? `rule ${b.rule}` : '' });
}
/** Our Authentication-Results value from the relay's facts; none when nothing was checked. */
const arOf = (input: SanitizeInput): string | null => (input.sender?.authentication ? authenticationResults(input.sender.authentication) : null);

/** The item's page in the console, when its address is configured. */
const itemUrlOf = (deps: SanitizeDeps, id: QuarantineId | null): string | null => (deps.consoleUrl && id ? `${deps.consoleUrl}/items/${id}` : null);

async function keep(input: SanitizeInput, deps: SanitizeDeps, meta: QuarantineMeta): Promise<QuarantineId> {
  try {
    return await deps.quarantine.put(input.raw, meta);
  } catch (err) {
    throw new QuarantineUnavailableError(err);
  }
}

/** Everything decided part by part: the normal path. */
async function rebuild(input: SanitizeInput, view: StructureView & { ok: true }, policy: Policy, deps: SanitizeDeps, receivedAt: Date, deadline: number): Promise<SanitizeResult> {
  const labels = labelsFor(policy.language);
  const parsed = await withDeadline(
    parseMessage(view.raw).catch((err: unknown) => {
      throw new MessageUnparseable(err);
    }),
    deadline,
  );
  const sender = senderOf(input, parsed, policy);
  const { headers, findings: headerFindings } = buildHeaders(parsed, policy, labels, receivedAt, warningTag(sender, policy));
  const treatment = treatmentOf(input, policy, headers, sender);
  if (treatment.block) throw new SenderBlocked(treatment);
  const body = sanitizeBody(parsed, labels, policy);
  // The body's text (HTML walked, links and encoded files found) is one synchronous stretch: seconds for megabytes of HTML.
  checkDeadline(deadline);
  // The body is what the recipient needs most: it is counted first.
  const output = outputBudget(policy.limits.maxOutputBytes);
  const shown = fitText(output, body.text, labels.bodyCut);
  if (shown.cut) body.findings.push(finding('output-limit'));
  const ctx: AttachmentContext = {
    policy,
    labels,
    images: deps.images,
    documents: deps.documents,
    scanner: deps.scanner,
    deadline,
    budget: archiveBudget(policy.archives),
    output,
    imagesAsPdf: treatment.imagesAsPdf,
  };
  const sanitized: SanitizedAttachment[] = [];
  for (const [i, att] of parsed.attachments.entries()) {
    sanitized.push(await withDeadline(sanitizeAttachment(att, i + 1, ctx), deadline));
  }
  // Calendars are shown after the body, each once: an invitation often comes both as the
  // text/calendar alternative and as an .ics attachment, and is listed once in the notice too.
  // The one kept is the first with a name (the .ics attachment, not the unnamed alternative).
  const shownAs = new Map<string, SanitizedAttachment>();
  for (const n of sanitized) if (n.disposition.as === 'in-body' && (!shownAs.has(n.disposition.text) || (n.named && !shownAs.get(n.disposition.text)!.named))) shownAs.set(n.disposition.text, n);
  const outcomes = numbered(sanitized.filter((n) => n.disposition.as !== 'in-body' || shownAs.get(n.disposition.text) === n));
  const calendars = outcomes.flatMap((o) =>
    o.disposition.as === 'in-body' ? [`${labels.calendarHeading(o.named ? defangText(o.shownName).text : labels.kind.calendar)}\n${o.disposition.text}`] : [],
  );
  const messageFindings = [...view.findings, ...headerFindings, ...body.findings];
  // A sender rule keeps the original whatever quarantine.keepOriginals says, and the notice says so.
  if (treatment.keepOriginal) messageFindings.push(finding('sender-quarantined', { detail: treatment.rules.join(', ') }));
  const findings = [...messageFindings, ...outcomes.flatMap((o) => o.findings)];
  // policy quarantine.keepOriginals: content-changed keeps no original whose changes lose nothing.
  const kept = findings.length > 0 && (policy.quarantine.keepOriginals === 'always' || changesContent(findings));
  // Work finished past limits.timeoutMs is not delivered: the message is a timeout, as the policy says, however far it got.
  checkDeadline(deadline);
  const quarantineId = kept ? await keep(input, deps, metaFor(input, headers, findings, receivedAt, outcomes, treatment)) : null;
  try {
    const notice = buildNotice(
      {
        sender,
        messageFindings,
        attachments: outcomes,
        quarantineId,
        itemUrl: itemUrlOf(deps, quarantineId),
        blocked: false,
        notice: policy.notice,
        unlockedFrom: input.envelope?.unlockedFrom ?? null,
      },
      labels,
    );
    const message = await composeMessage({
      headers,
      body: `${notice}\n${[shown.text, ...calendars].join('\n\n')}\n`,
      parts: deliveredParts(outcomes),
      verdict: findings.length > 0 ? 'sanitized' : 'clean',
      quarantineId,
      messageId: `<${deps.randomToken()}@${policy.output.messageIdDomain}>`,
      authenticationResults: arOf(input),
    });
    return { action: 'deliver', verdict: findings.length > 0 ? 'sanitized' : 'clean', message, quarantineId, findings };
  } catch (err) {
    throw quarantineId === null ? err : new FailedAfterKeep(quarantineId, err);
  }
}

/** A failure once the original was kept: the block that follows names that item instead of keeping the original twice. */
class FailedAfterKeep extends Error {
  constructor(
    readonly quarantineId: QuarantineId,
    readonly failure: unknown,
  ) {
    super('sanitizing failed after the original was kept', { cause: failure });
  }
}

/** The whole message could not be sanitized: keep it, tell the recipient. */
export async function blockMessage(input: SanitizeInput, policy: Policy, deps: SanitizeDeps, receivedAt: Date, cause: Finding, keptAs: QuarantineId | null = null): Promise<SanitizeResult> {
  const labels = labelsFor(policy.language);
  const fields = await headersOnly(input.raw, policy);
  let sender: SenderAssessment | null = null;
  try {
    sender = senderOf(input, fields, policy);
  } catch {
    // The notice goes out without the sender line rather than not at all.
  }
  const { headers, findings: headerFindings } = buildHeaders(fields, policy, labels, receivedAt, warningTag(sender, policy));
  const findings = [cause, ...headerFindings];
  // Kept already (`keptAs`: the failure came after the original was kept): that item is the one the notice names.
  const quarantineId = keptAs ?? (await keep(input, deps, metaFor(input, headers, findings, receivedAt, [], treatmentOf(input, policy, headers, sender))));
  const notice = buildNotice(
    {
      sender,
      messageFindings: findings,
      attachments: [],
      quarantineId,
      itemUrl: itemUrlOf(deps, quarantineId),
      blocked: true,
      notice: policy.notice,
      unlockedFrom: input.envelope?.unlockedFrom ?? null,
    },
    labels,
  );
  const compose = (h: NewHeaders): Promise<Buffer> =>
    composeMessage({
      headers: h,
      body: notice,
      parts: [],
      verdict: 'blocked',
      quarantineId,
      messageId: `<${deps.randomToken()}@${policy.output.messageIdDomain}>`,
      authenticationResults: arOf(input),
    });
  // Should even the original's decoded header fields upset the composer, the
  // notice goes out under headers we made up entirely.
  const message = await compose(headers).catch(() => compose(buildHeaders(EMPTY_HEADERS, policy, labels, receivedAt).headers));
  return { action: 'deliver', verdict: 'blocked', message, quarantineId, findings };
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 300);

/**
 * Sanitizes one message. Resolves with a decision for any input; rejects only
 * with QuarantineUnavailableError, when the original could not be kept, or
 * ScannerUnavailableError (policy scan.unavailable: tempfail), when the malware
 * scanner could not answer: nothing was decided, try again later.
 */
export async function sanitize(input: SanitizeInput, policy: Policy, deps: SanitizeDeps): Promise<SanitizeResult> {
  const receivedAt = deps.now();
  const deadline = receivedAt.getTime() + policy.limits.timeoutMs;
  const shape = await scanShape(input.raw, policy.limits);
  if (!shape.ok) {
    const action = shape.code === 'message-too-large' ? policy.actions.oversize : policy.actions.structureLimit;
    if (action === 'reject') return { action: 'reject', verdict: 'rejected', message: null, quarantineId: null, findings: [finding(shape.code, { detail: shape.detail })] };
  }
  const view = await structureView(input.raw, shape, policy.limits, deadline);
  if (!view.ok) return blockMessage(input, policy, deps, receivedAt, view.cause);
  try {
    return await rebuild(input, view, policy, deps, receivedAt, deadline);
  } catch (thrown) {
    const keptAs = thrown instanceof FailedAfterKeep ? thrown.quarantineId : null;
    const err = thrown instanceof FailedAfterKeep ? thrown.failure : thrown;
    if (err instanceof QuarantineUnavailableError) throw err;
    // policy text.encodedFiles: quarantine, and a text carried an encoded file.
    if (err instanceof EncodedFileBlocked) return blockMessage(input, policy, deps, receivedAt, err.finding, keptAs);
    // policy scan.unavailable: the scanner could not answer for a file.
    if (err instanceof ScanUnavailable) {
      if (policy.scan.unavailable === 'tempfail') throw new ScannerUnavailableError(err.message.slice(0, 300));
      return blockMessage(input, policy, deps, receivedAt, finding('malware-scan-unavailable', { detail: err.message.slice(0, 300) }), keptAs);
    }
    if (err instanceof SenderBlocked) return blockMessage(input, policy, deps, receivedAt, blockFinding(err.treatment), keptAs);
    const code: FindingCode = err instanceof DeadlineExceeded ? 'timeout' : err instanceof MessageUnparseable ? 'parse-error' : 'internal-error';
    return blockMessage(input, policy, deps, receivedAt, finding(code, { detail: describe(err) }), keptAs);
  }
}
