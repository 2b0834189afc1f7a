// The few header fields that cross, decoded from the original and checked
// here; compose re-encodes them. No other original header crosses. The
// thread crosses too, so that replies stay in their thread: In-Reply-To and
// References as message ids taken out one by one and checked, and Reply-To
// when it is on the sender's own domain (another is shown in the notice).
import { finding, type Finding } from './findings.js';
import type { Labels } from './labels.js';
import type { Mailbox, ParsedMessage } from './parse.js';
import type { Policy } from './policy.js';
import { cleanHeaderText } from './text-clean.js';

export interface NewHeaders {
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  subject: string;
  date: Date;
  originalMessageId: string | null;
  /** Checked message ids, each "<id>". */
  inReplyTo: string[];
  references: string[];
  /** Reply-To addresses on the sender's domain; the others are findings (reply-to-other-domain). */
  replyTo: Mailbox[];
}

/** What buildHeaders reads of the original. */
export type ShownFields = Pick<ParsedMessage, 'from' | 'to' | 'cc' | 'subject' | 'date' | 'messageId' | 'inReplyTo' | 'references' | 'replyTo'>;

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * The address in plain ASCII (IDN domains as punycode), or null when it is not
 * one we can write. A local part with "=?" is valid atext but starts what reads
 * as an encoded word running on into the next address ("=?@x.jp, "?B??=" …"),
 * which a lax decoder would decode: it is not written (display names have
 * their "=?" broken by cleanHeaderText).
 */
export function asciiAddress(untrusted: string): string | null {
  const at = untrusted.lastIndexOf('@');
  if (at <= 0) return null;
  const local = untrusted.slice(0, at);
  let domain = untrusted.slice(at + 1);
  if (/[^\x00-\x7f]/.test(domain)) {
    try {
      domain = new URL(`http://${domain}`).hostname;
    } catch {
      return null;
    }
  }
  if (domain.startsWith('[') || !LOCAL_PART.test(local) || local.includes('=?') || !DOMAIN.test(domain)) return null;
  return `${local}@${domain.toLowerCase()}`;
}

const MAX_NAME = 200;
// A subject is not cut short lightly: the recipient would read a different
// subject and no notice says so. The input header block is already bounded
// (limits.maxHeaderBytes); this only keeps the delivered field well under the
// 100 KiB header limits of common MTAs (10 000 CJK characters are ~41 KB
// encoded). It was 900, which silently truncated long real subjects.
const MAX_SUBJECT = 10_000;
const MAX_RECIPIENTS_SHOWN = 1000;

function checkedMailboxes(list: Mailbox[], findings: Finding[]): Mailbox[] {
  const out: Mailbox[] = [];
  for (const m of list.slice(0, MAX_RECIPIENTS_SHOWN)) {
    const address = asciiAddress(m.address);
    if (address) out.push({ name: cleanHeaderText(m.name, MAX_NAME), address });
    else findings.push(finding('invalid-address', { detail: cleanHeaderText(m.address, 100) }));
  }
  return out;
}

const MESSAGE_ID = /^<?([\x21-\x3b\x3d\x3f-\x7e]{1,250})>?$/;

// A msg-id (RFC 5322 3.6.4): id-left "@" id-right, dot-atom text (dots
// anywhere: old mailers write ".." and trailing dots) or a domain literal.
// No "=?" either: an id must not read as the start of an encoded word.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]";
const STRICT_ID = new RegExp(`^${ATEXT}{1,200}@(?:${ATEXT}{1,200}|\\[[\\x21-\\x5a\\x5e-\\x7e]{1,200}\\])$`);
const MAX_ID_CHARS = 250;
const MAX_IN_REPLY_TO = 5;
/** References kept: the first (the thread's root) and the last ones, as RFC 5322 3.6.4 suggests trimming. */
const MAX_REFERENCES = 20;

/** The message ids of a field, each "<id>", in order, once each; whatever is not one is left out. */
export function messageIds(untrusted: string | null, max: number): string[] {
  if (!untrusted) return [];
  const ids: string[] = [];
  const seen = new Set<string>();
  // One pass from "<" to the next ">"; text between ids (comments, junk) is skipped.
  for (let open = untrusted.indexOf('<'); open >= 0; open = untrusted.indexOf('<', open + 1)) {
    const close = untrusted.indexOf('>', open + 1);
    if (close < 0) break;
    const id = untrusted.slice(open + 1, close);
    if (id.length <= MAX_ID_CHARS && STRICT_ID.test(id) && !id.includes('=?') && !seen.has(id)) {
      seen.add(id);
      ids.push(`<${id}>`);
    }
    open = close;
  }
  return ids.length <= max ? ids : [ids[0]!, ...ids.slice(ids.length - (max - 1))];
}

const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The same domain, or one a subdomain of the other (news@mail.example.jp and info@example.jp). */
const sameDomain = (a: string, b: string): boolean => a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);

// Reply and forward prefixes as mail programs write them (Re:, RE:, Re[2]:,
// Fwd:, FW:, AW:, WG:, SV:, VS:, TR:, 返信:, 転送:), with half- or full-width colons.
const PREFIX = /^(?:(?:re|fwd?|aw|wg|sv|vs|tr|antw|rif)(?:\[\d{1,4}\]|\(\d{1,4}\))?|返信|転送)\s*[:：]\s*/i;

/**
 * The subject with the tag in front, once. A reply to a tagged message comes
 * back as "Re: [無害化] …", and its reply as "Re: [無害化] Re: [無害化] …":
 * the tag is taken out of the run of reply and forward prefixes at the start
 * (a tag further in is the sender's own text) and put in front. Several
 * tags (the sender warning, then ours) go in front in the order given, and
 * each is taken out of the prefixes the same way.
 */
export function taggedSubject(subject: string, tag: string, ...more: string[]): string {
  return retagged(subject, [tag, ...more], []);
}

/**
 * taggedSubject, where `strip` are tags taken out of the prefixes too but not
 * put back: the sender warning on the reply of a sender no longer suspicious.
 */
export function retagged(subject: string, put: readonly string[], strip: readonly string[]): string {
  const tags = put.filter(Boolean);
  const known = [...tags, ...strip.filter(Boolean)];
  if (known.length === 0) return subject;
  const kept: string[] = [];
  let rest = subject;
  for (;;) {
    const trimmed = rest.replace(/^\s+/, '');
    const t = known.find((x) => trimmed.startsWith(x));
    if (t) {
      rest = trimmed.slice(t.length);
      continue;
    }
    const m = PREFIX.exec(trimmed);
    if (!m) break;
    kept.push(m[0].trim());
    rest = trimmed.slice(m[0].length);
  }
  return [...tags, ...kept, rest.trim()].filter(Boolean).join(' ');
}

/** `warningTag`: put in front of the subject before ours (senders.subjectTag, for a suspicious sender). */
export function buildHeaders(parsed: ShownFields, policy: Policy, labels: Labels, receivedAt: Date, warningTag = ''): { headers: NewHeaders; findings: Finding[] } {
  const findings: Finding[] = [];
  let from = checkedMailboxes(parsed.from.slice(0, 1), findings)[0];
  if (!from) {
    findings.push(finding('missing-from'));
    const name = parsed.from[0]?.name ? cleanHeaderText(parsed.from[0].name, MAX_NAME) : labels.unknownSender;
    from = { name, address: `unknown-sender@${policy.output.messageIdDomain}` };
  }
  const date = parsed.date ?? receivedAt;
  if (!parsed.date) findings.push(finding('missing-date'));
  const subject = cleanHeaderText(parsed.subject ?? '', MAX_SUBJECT);
  const id = parsed.messageId ? MESSAGE_ID.exec(parsed.messageId.trim())?.[1] : undefined;
  const replyTo: Mailbox[] = [];
  for (const m of checkedMailboxes(parsed.replyTo, findings)) {
    if (sameDomain(domainOf(m.address), domainOf(from.address)) && !from.address.startsWith('unknown-sender@')) replyTo.push(m);
    else findings.push(finding('reply-to-other-domain', { detail: m.address }));
  }
  return {
    headers: {
      from,
      to: checkedMailboxes(parsed.to, findings),
      cc: checkedMailboxes(parsed.cc, findings),
      subject: retagged(subject, [warningTag, policy.output.subjectTag], [policy.senders.subjectTag]),
      date,
      originalMessageId: id ? `<${id}>` : null,
      inReplyTo: messageIds(parsed.inReplyTo, MAX_IN_REPLY_TO),
      references: messageIds(parsed.references, MAX_REFERENCES),
      replyTo,
    },
    findings,
  };
}
