// An attached message (message/rfc822: a forward, a bounce) is sanitized like
// the message that carries it: same shape limits, same parser, its body made
// text by the same rules. What crosses is a text file we wrote (its decoded
// header fields and body); its attachments go back through sanitizeAttachment.
import { sanitizeBody } from './body.js';
import { defangText } from './defang.js';
import type { Finding, FindingCode } from './findings.js';
import type { Labels } from './labels.js';
import { parseMessage, type Mailbox, type UntrustedAttachment } from './parse.js';
import type { Policy } from './policy.js';
import { scanShape } from './shape.js';
import { structureView } from './structure.js';
import { cleanHeaderText } from './text-clean.js';

export type OpenedMessage = { ok: true; text: string; findings: Finding[]; attachments: UntrustedAttachment[] } | { ok: false; code: FindingCode; detail: string };

const boxes = (list: Mailbox[]): string => list.map((m) => cleanHeaderText(m.name ? `${m.name} <${m.address}>` : m.address, 300)).join(', ');

export async function openMessage(bytes: Uint8Array, policy: Policy, labels: Labels): Promise<OpenedMessage> {
  const view = await structureView(bytes, await scanShape(bytes, policy.limits), policy.limits);
  if (!view.ok) return { ok: false, code: view.cause.code, detail: view.cause.detail ?? '' };
  let parsed;
  try {
    parsed = await parseMessage(view.raw);
  } catch (err) {
    return { ok: false, code: 'parse-error', detail: (err instanceof Error ? err.message : String(err)).slice(0, 200) };
  }
  const body = sanitizeBody(parsed, labels, policy);
  const f = labels.messageFields;
  const head: string[] = [];
  if (parsed.from.length) head.push(`${f.from}: ${boxes(parsed.from)}`);
  if (parsed.to.length) head.push(`${f.to}: ${boxes(parsed.to)}`);
  if (parsed.cc.length) head.push(`${f.cc}: ${boxes(parsed.cc)}`);
  // In Japan time: the reader's time, not the sender's.
  if (parsed.date) head.push(`${f.date}: ${labels.moment(parsed.date)}`);
  head.push(`${f.subject}: ${cleanHeaderText(parsed.subject ?? '', 2000)}`);
  const header = defangText(head.join('\n'));
  const findings = [...view.findings, ...body.findings];
  if (header.count > 0 && !findings.some((x) => x.code === 'link-defanged')) findings.push({ code: 'link-defanged', detail: `${header.count}` });
  return { ok: true, text: `${header.text}\n\n${body.text}\n`, findings, attachments: parsed.attachments };
}
