// The notice at the top of every delivered body: what was done to this mail,
// in the order the recipient needs it. First, who sent it, as far as that
// could be checked (sender-assessment.ts); then a warning when the mail carried
// something never legitimate (an executable, a script, a disguised name, a
// macro document, a link whose text lies about its target); then what was
// changed in the body, each attachment and what became of it, how to read
// inert links; last, where the original is and whom to ask. A mail with
// nothing changed gets one line. Every sentence comes from labels.ts (or the
// policy's notice.findings).
import type { AttachmentOutcome } from './attachments.js';
import { defangText } from './defang.js';
import { claimedKind, DANGEROUS_KINDS } from './file-kinds.js';
import { LOSES_NOTHING, type Finding, type FindingCode } from './findings.js';
import type { Danger, Labels, UnlockableCode } from './labels.js';
import type { Policy } from './policy.js';
import type { SenderAssessment } from '../model/sender-trust.js';

export interface NoticeInput {
  messageFindings: readonly Finding[];
  attachments: readonly AttachmentOutcome[];
  quarantineId: string | null;
  /** The quarantined item's page in the console (web.publicUrl); the notice's last line when given. */
  itemUrl?: string | null;
  /** The message could not be sanitized: the notice is all that crosses, its first finding the cause. */
  blocked: boolean;
  notice: Policy['notice'];
  /** What the first line says about the sender; absent or null: no line (nothing checked, nothing suspicious). */
  sender?: SenderAssessment | null;
  /** The mail carries what a recipient unlocked from the password-protected attachment of this quarantine item. */
  unlockedFrom?: string | null;
}

/** The line that ends the notice; the body follows it. */
export const NOTICE_RULE = '─'.repeat(30);

/** A file name is text we deliver: "www.evil.example.pdf" must not become a link either. */
const inert = (name: string): string => defangText(name).text;

/** The first finding of each code, in order. */
const firstOfEach = (findings: readonly Finding[]): Finding[] => {
  const seen = new Set<string>();
  return findings.filter((f) => !seen.has(f.code) && seen.add(f.code));
};

// Codes whose sentence already says the file was removed: no "削除しました。" after it.
const SAYS_REMOVED: ReadonlySet<FindingCode> = new Set<FindingCode>([
  'attachment-removed',
  'image-too-large',
  'image-undecodable',
  'text-undecodable',
  'output-limit',
  'timeout',
  'document-encrypted',
  'document-too-large',
  'document-unconvertible',
  'archive-encrypted',
  'archive-limit',
  'archive-corrupt',
  'archive-unsupported',
  'nesting-too-deep',
  'tnef-corrupt',
  'mime-too-deep',
  'too-many-parts',
  'header-too-large',
  'parse-error',
  'internal-error',
  'malware-found',
  'malware-scan-limit',
]);

/**
 * A finding the recipient can undo on the item page with the password: a
 * protected zip or PDF attached to the mail itself, what the console's unlock
 * service opens (src/unlock/service.ts, encryptedParts). Not one inside an
 * archive or an attached message, nor an Office file.
 */
const unlockable = (a: AttachmentOutcome, code: FindingCode): code is UnlockableCode =>
  a.parent === null && ((code === 'archive-encrypted' && a.fileKind === 'archive') || (code === 'document-encrypted' && a.fileKind === 'pdf'));

class Words {
  constructor(
    readonly labels: Labels,
    private readonly own: Partial<Record<FindingCode, string>>,
    /** The notice ends with the item's page in the console, where a password can be entered. */
    readonly onPage: boolean,
  ) {}

  /** The sentence of a finding: the policy's own, else its count's, else the item page's (a password to enter), else the attachment's, else the general one. */
  of(f: Finding, inAttachment: AttachmentOutcome | null): string {
    const l = this.labels;
    return (
      this.own[f.code] ??
      (f.count !== undefined ? l.counted[f.code]?.(f.count) : undefined) ??
      (inAttachment && this.onPage && unlockable(inAttachment, f.code) ? l.findingUnlockable[f.code] : undefined) ??
      (inAttachment ? l.findingInAttachment[f.code] : undefined) ??
      l.finding[f.code]
    );
  }
}

const nameOf = (a: AttachmentOutcome, labels: Labels): string => (a.named ? inert(a.shownName) : labels.unnamed);

/** What is never legitimate in this mail, attachment by attachment (undefined: nothing). */
function dangerOf(a: AttachmentOutcome, labels: Labels): Danger | undefined {
  const codes = new Set(a.findings.map((f) => f.code));
  const removed = a.disposition.as === 'removed';
  const name = nameOf(a, labels);
  // The scanner's verdict comes first: it names what was found, whatever the file claimed to be.
  const malware = a.findings.find((f) => f.code === 'malware-found');
  if (malware) return { what: 'malware', signature: inert(malware.detail ?? '?'), name };
  if (DANGEROUS_KINDS.has(a.kind)) {
    // What it pretends to be: its disguised name's extension, or a plain name that lies about it.
    const claimed = claimedKind(a.claimedExt ?? (codes.has('type-mismatch') ? a.ext : null));
    const pretends = claimed && claimed !== a.fileKind && !(DANGEROUS_KINDS as ReadonlySet<string>).has(claimed) ? labels.kind[claimed] : null;
    return { what: 'file', kind: labels.kind[a.fileKind], claimed: pretends, name, removed };
  }
  if (codes.has('name-bidi-control')) return { what: 'disguised-name', name, removed };
  if (codes.has('document-macro')) return { what: 'macro', kind: labels.kind[a.fileKind], name, removed };
  return undefined;
}

/** What became of an attachment, unless one of its findings said so already. */
function fateOf(a: AttachmentOutcome, labels: Labels): string | null {
  const d = a.disposition;
  switch (d.as) {
    case 'delivered':
      if (d.also?.length)
        return labels.deliveredWithValues(
          inert(d.part.filename),
          d.also.map((p) => inert(p.filename)),
        );
      return labels.deliveredAs(inert(d.part.filename));
    case 'opened':
      // An attached message with no attachments of its own is only its text.
      if (d.part) return [labels.textDeliveredAs(inert(d.part.filename)), d.members > 0 ? labels.membersFollow(d.members) : null].filter(Boolean).join(labels.sentenceGap);
      return labels.membersFollow(d.members);
    case 'in-body':
      return a.findings.some((f) => f.code === 'calendar-as-text') ? null : labels.shownInBody;
    case 'removed':
      return a.findings.some((f) => SAYS_REMOVED.has(f.code)) ? null : labels.removed;
  }
}

function attachmentLines(a: AttachmentOutcome, danger: Danger | undefined, words: Words): string[] {
  const { labels } = words;
  const kind = labels.kind[a.fileKind];
  const name = nameOf(a, labels);
  const head = a.parent === null ? labels.attachmentLine(a.index, name, kind) : labels.memberLine(a.index, name, kind, a.parent);
  // A dangerous file: the warning above says what it is; here only what became of it.
  const findings = danger?.what === 'file' || danger?.what === 'malware' ? a.findings.filter((f) => SAYS_REMOVED.has(f.code)) : firstOfEach(a.findings);
  const said = findings.map((f) => words.of(f, a));
  const fate = fateOf(a, labels);
  const indent = ' '.repeat(head.length - head.trimStart().length + `${a.index}. `.length);
  return [head, `${indent}${[...said, fate].filter(Boolean).join(labels.sentenceGap)}`];
}

/** What the body list says about the message itself (link-defanged comes last, after the attachments). */
function messageLines(findings: readonly Finding[], words: Words): string[] {
  const { labels } = words;
  const out: string[] = [];
  const replyTo = findings.filter((f) => f.code === 'reply-to-other-domain').map((f) => f.detail ?? '');
  for (const f of firstOfEach(findings)) {
    if (f.code === 'link-defanged') continue;
    const own = words.of(f, null);
    const text = f.code === 'reply-to-other-domain' && own === labels.finding[f.code] ? labels.replyToOther(replyTo) : own;
    out.push(`${labels.bullet}${text}`);
  }
  return out;
}

export function buildNotice(input: NoticeInput, labels: Labels): string {
  const words = new Words(labels, input.notice.findings, Boolean(input.itemUrl));
  const contact = labels.contact(input.notice.contact, input.notice.contactPhone, input.notice.contactMail);
  const attachmentFindings = input.attachments.flatMap((a) => a.findings);
  const all = [...input.messageFindings, ...attachmentFindings];

  const dangerByIndex = new Map<number, Danger>();
  for (const a of input.attachments) {
    const d = dangerOf(a, labels);
    if (d) dangerByIndex.set(a.index, d);
  }
  const dangers: Danger[] = [...(all.some((f) => f.code === 'link-text-mismatch') ? [{ what: 'link' } as const] : []), ...dangerByIndex.values()];

  const lines: string[] = [];
  if (input.sender) lines.push(labels.senderLine(input.sender, contact));
  if (input.unlockedFrom) lines.push(labels.unlockedContents(input.unlockedFrom));
  if (dangers.length === 1) lines.push(labels.dangerLine(dangers[0]!, contact));
  else if (dangers.length > 1) lines.push(labels.dangersLine(dangers.length, contact), ...dangers.map((d) => labels.dangerItem(d)));

  if (input.blocked) {
    const [cause, ...rest] = firstOfEach(input.messageFindings);
    lines.push(labels.noticeBlocked(cause ? words.of(cause, null) : ''), ...messageLines(rest, words));
  } else if (all.length === 0) {
    lines.push(labels.noticeClean);
  } else {
    lines.push(labels.noticeChanged, ...messageLines(input.messageFindings, words));
    if (input.attachments.length > 0) {
      lines.push(labels.attachmentsHeading(input.attachments.length));
      for (const a of input.attachments) lines.push(...attachmentLines(a, dangerByIndex.get(a.index), words));
    }
    const link = all.find((f) => f.code === 'link-defanged');
    if (link) lines.push(`${labels.bullet}${words.of(link, null)}`);
  }

  if (input.quarantineId) {
    // What the original holds that the recipient lacks: not the dangers, not what loses nothing.
    const dangerous = (f: Finding): boolean => f.code === 'link-text-mismatch' || (f.attachment !== undefined && ['file', 'malware'].includes(dangerByIndex.get(f.attachment)?.what ?? ''));
    const worthAsking = input.blocked || all.some((f) => !LOSES_NOTHING.has(f.code) && !dangerous(f));
    if (!worthAsking) lines.push(labels.quarantinedOnly(input.quarantineId, dangers.length > 0));
    else if (dangers.length > 0) lines.push(labels.quarantinedAskOthers(input.quarantineId, contact));
    else lines.push(labels.quarantinedAsk(input.quarantineId, contact));
    // Plain text we wrote, on a line of its own (mail clients make it a link); no request is invited when nothing is worth asking for.
    if (input.itemUrl) {
      const password = input.attachments.some((a) => a.findings.some((f) => unlockable(a, f.code)));
      lines.push(password ? labels.itemPageUnlock : worthAsking ? labels.itemPage : labels.itemPageOnly, input.itemUrl);
    }
  } else if (all.length > 0) {
    lines.push(labels.notKept);
  }
  lines.push(NOTICE_RULE, '');
  return lines.join('\n');
}
