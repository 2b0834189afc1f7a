// The few header fields that cross, decoded from the original and checked
// here; compose re-encodes them. No other original header crosses.
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
}

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The address in plain ASCII (IDN domains as punycode), or null when it is not one we can write. */
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
  if (domain.startsWith('[') || !LOCAL_PART.test(local) || !DOMAIN.test(domain)) return null;
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

export function buildHeaders(
  parsed: Pick<ParsedMessage, 'from' | 'to' | 'cc' | 'subject' | 'date' | 'messageId'>,
  policy: Policy,
  labels: Labels,
  receivedAt: Date,
): { headers: NewHeaders; findings: Finding[] } {
  const findings: Finding[] = [];
  let from = checkedMailboxes(parsed.from.slice(0, 1), findings)[0];
  if (!from) {
    findings.push(finding('missing-from'));
    const name = parsed.from[0]?.name ? cleanHeaderText(parsed.from[0].name, MAX_NAME) : labels.unknownSender;
    from = { name, address: `unknown-sender@${policy.output.messageIdDomain}` };
  }
  const date = parsed.date ?? receivedAt;
  if (!parsed.date) findings.push(finding('missing-date'));
  const tag = policy.output.subjectTag;
  const subject = cleanHeaderText(parsed.subject ?? '', MAX_SUBJECT);
  const id = parsed.messageId ? MESSAGE_ID.exec(parsed.messageId.trim())?.[1] : undefined;
  return {
    headers: {
      from,
      to: checkedMailboxes(parsed.to, findings),
      cc: checkedMailboxes(parsed.cc, findings),
      subject: tag && !subject.startsWith(tag) ? `${tag} ${subject}`.trim() : subject,
      date,
      originalMessageId: id ? `<${id}>` : null,
    },
    findings,
  };
}
