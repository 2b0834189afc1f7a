// Delivery status notifications (RFC 3464 inside an RFC 6522 multipart/report):
// a Japanese + English explanation, the machine-readable message/delivery-status,
// and the original message's header block (text/rfc822-headers, at most 64 KiB).
// Built by hand: CRLF, 7-bit, no line over 998 octets, whatever the inputs hold.
import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { RecipientFailure } from './types.js';

export interface DsnRecipient {
  rcpt: string;
  /** RFC 3463 status, e.g. "5.1.1"; "4.4.7" for a message that expired after retries. */
  status: string;
  /** The peer's SMTP reply ("550 5.1.1 ..."), or what went wrong locally; null if nothing to add. */
  diagnostic: string | null;
  action: 'failed' | 'delayed';
  /** Defaults to `now`. */
  lastAttemptDate?: Date;
}

export interface DsnInput {
  reportingMta: string;
  originalEnvelopeFrom: string;
  recipients: readonly DsnRecipient[];
  arrivalDate: Date;
  /** The original message, or just its header block: only the headers are returned. */
  originalHeaders: Buffer;
  queueId: string;
  now: Date;
  messageIdDomain: string;
}

export const MAX_RETURNED_HEADER_BYTES = 64 * 1024;
const CRLF = '\r\n';

/** DSN recipient line for a failure: the peer's enhanced status, else 5.0.0 (permanent) or 4.4.7 (expired after retries). */
export function dsnRecipient(f: RecipientFailure, kind: 'permanent' | 'expired', lastAttemptDate?: Date): DsnRecipient {
  const status = f.status ?? (kind === 'permanent' ? '5.0.0' : '4.4.7');
  return { rcpt: f.rcpt, status, diagnostic: f.reason || null, action: 'failed', ...(lastAttemptDate ? { lastAttemptDate } : {}) };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');
/** RFC 5322 date-time in UTC. */
export const rfc5322Date = (d: Date): string =>
  `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` + `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;

/** One line, no controls (no header injection), single spaces. */
const clean = (s: string): string => s.replace(/[\x00-\x20\x7f\s]+/g, ' ').trim();
const ascii = (s: string): string => clean(s).replace(/[^\x20-\x7e]/g, '?');
const hostname = (s: string): string => ascii(domainToASCII(clean(s)) || s).replace(/[^A-Za-z0-9.\-[\]:]/g, '') || 'localhost';

/** A header field folded at spaces near 78 columns; a word too long for one line (900+) is cut. */
function field(name: string, value: string): string {
  const lines = [`${name}:`];
  for (const w of value.split(' ').flatMap((word) => word.match(/.{1,900}/g) ?? [])) {
    const last = lines[lines.length - 1]!;
    if (last.length + 1 + w.length > 78 && last !== `${name}:`)
      lines.push(` ${w}`); // never fold right after the name
    else lines[lines.length - 1] = `${last} ${w}`;
  }
  return lines.join(CRLF);
}

/** An address for Final-Recipient: rfc822 if ASCII, else RFC 6533 utf-8-addr-xtext. */
function addressValue(addr: string): string {
  const a = clean(addr);
  if (/^[\x21-\x7e]*$/.test(a)) return `rfc822; ${a}`;
  const xtext = [...a].map((c) => {
    const cp = c.codePointAt(0) ?? 0x3f;
    return cp > 0x20 && cp < 0x7f && c !== '+' && c !== '=' && c !== '\\' ? c : `\\x{${cp.toString(16).toUpperCase()}}`;
  });
  return `utf-8; ${xtext.join('')}`;
}

/** The sender as an ASCII header address (IDN domain punycoded), or null if it cannot be one. */
function asciiMailbox(addr: string): string | null {
  const a = clean(addr);
  const at = a.lastIndexOf('@');
  const out = at < 0 ? a : `${a.slice(0, at)}@${domainToASCII(a.slice(at + 1)) || a.slice(at + 1)}`;
  return /^[\x21-\x7e]+$/.test(out) && !/[<>]/.test(out) ? out : null;
}

const base64Lines = (b: Buffer): string => (b.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
const encodedWord = (s: string): string => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

/** The header block of `orig` (up to the first empty line), CRLF, capped at a line boundary. */
function headerBlock(orig: Buffer): string {
  const head = orig.subarray(0, 2 * MAX_RETURNED_HEADER_BYTES + 4).toString('latin1');
  const blank = /\r?\n\r?\n/.exec(head);
  // The header block ends with the line break before the first empty line (none at all if the message starts with one).
  const end = /^\r?\n/.test(head) ? 0 : blank ? blank.index + blank[0].indexOf('\n') + 1 : head.length;
  let s = head.slice(0, end).replace(/\r\n|\r|\n/g, CRLF);
  if (s.length > MAX_RETURNED_HEADER_BYTES) {
    const cut = s.lastIndexOf(CRLF, MAX_RETURNED_HEADER_BYTES - 2);
    s = cut > 0 ? s.slice(0, cut + 2) : s.slice(0, MAX_RETURNED_HEADER_BYTES);
  }
  return s && !s.endsWith(CRLF) ? s + CRLF : s;
}

function humanText(input: DsnInput, mta: string): string {
  const failed = input.recipients.filter((r) => r.action === 'failed');
  const delayed = input.recipients.filter((r) => r.action === 'delayed');
  const list = (rs: readonly DsnRecipient[], labels: [string, string, string]): string[] =>
    rs.flatMap((r) => [`  ${labels[0]}: ${clean(r.rcpt)}`, `  ${labels[1]}: ${clean(r.status)}`, ...(r.diagnostic ? [`  ${labels[2]}: ${clean(r.diagnostic)}`] : []), '']);
  const ja = [
    `このメールは、メールサーバー ${mta} から自動送信されています。`,
    '',
    ...(failed.length ? ['お送りいただいたメッセージは、次の宛先に配信できませんでした。', 'このメッセージは配信されていません。', '', ...list(failed, ['宛先', '状態', '詳細'])] : []),
    ...(delayed.length ? ['次の宛先への配信が遅れています。配信は引き続き試みます。', '', ...list(delayed, ['宛先', '状態', '詳細'])] : []),
    `受付日時: ${new Date(input.arrivalDate.getTime() + 9 * 3600_000).toISOString().slice(0, 19).replace('T', ' ')} (日本時間)`,
    `キューID: ${clean(input.queueId)}`,
    '元のメッセージのヘッダーを添付します。',
  ];
  const en = [
    `This is the mail system at host ${mta}.`,
    '',
    ...(failed.length ? ['Your message could not be delivered to the following recipients.', 'The message was not delivered.', '', ...list(failed, ['Recipient', 'Status', 'Diagnostic'])] : []),
    ...(delayed.length ? ['Delivery to the following recipients has been delayed; the mail system will keep trying.', '', ...list(delayed, ['Recipient', 'Status', 'Diagnostic'])] : []),
    `Arrival date: ${rfc5322Date(input.arrivalDate)}`,
    `Queue ID: ${clean(input.queueId)}`,
    'The headers of the original message are attached.',
  ];
  return [...ja, '', '----------------------------------------', '', ...en, ''].join(CRLF);
}

function deliveryStatus(input: DsnInput, mta: string): string {
  const perMessage = [field('Reporting-MTA', `dns; ${mta}`), field('X-Mugaika-Queue-ID', ascii(input.queueId)), field('Arrival-Date', rfc5322Date(input.arrivalDate))];
  const perRecipient = input.recipients.map((r) => {
    const status = /^[245]\.\d{1,3}\.\d{1,3}$/.test(r.status.trim()) ? r.status.trim() : r.action === 'delayed' ? '4.0.0' : '5.0.0';
    const diag = r.diagnostic === null ? null : ascii(r.diagnostic);
    return [
      field('Final-Recipient', addressValue(r.rcpt)),
      field('Action', r.action),
      field('Status', status),
      ...(diag ? [field('Diagnostic-Code', `${/^\d{3}(?![^ -])/.test(diag) ? 'smtp' : 'X-Mugaika'}; ${diag}`)] : []),
      field('Last-Attempt-Date', rfc5322Date(r.lastAttemptDate ?? input.now)),
    ].join(CRLF);
  });
  return [perMessage.join(CRLF), ...perRecipient].join(CRLF + CRLF) + CRLF;
}

/** Builds the DSN for `input`. Throws for the null sender (bounces are never bounced) or no recipients. */
export function buildDsn(input: DsnInput): Buffer {
  if (clean(input.originalEnvelopeFrom) === '') throw new Error('no DSN is sent to the null sender');
  if (input.recipients.length === 0) throw new Error('a DSN needs at least one recipient');
  const mta = hostname(input.reportingMta);
  const failed = input.recipients.some((r) => r.action === 'failed');
  const headers = headerBlock(input.originalHeaders);
  const sevenBit = /^[\x01-\x7f]*$/.test(headers) && headers.split(CRLF).every((l) => l.length <= 998);
  const parts = [
    `Content-Type: text/plain; charset=UTF-8${CRLF}Content-Transfer-Encoding: base64${CRLF}Content-Description: Notification${CRLF}${CRLF}` +
      base64Lines(Buffer.from(humanText(input, mta), 'utf8')) +
      CRLF,
    `Content-Type: message/delivery-status${CRLF}Content-Description: Delivery report${CRLF}${CRLF}${deliveryStatus(input, mta)}`,
    `Content-Type: text/rfc822-headers${CRLF}Content-Transfer-Encoding: ${sevenBit ? '7bit' : 'base64'}${CRLF}Content-Description: Undelivered message headers${CRLF}${CRLF}` +
      (sevenBit ? headers : base64Lines(Buffer.from(headers, 'latin1')) + (headers ? CRLF : '')),
  ];
  let boundary: string;
  do boundary = `=_mugaika_dsn_${randomBytes(12).toString('hex')}`;
  while (parts.some((p) => p.includes(boundary)));
  const to = asciiMailbox(input.originalEnvelopeFrom);
  const msgId = `<${input.now.getTime().toString(36)}.${randomBytes(8).toString('hex')}.dsn@${hostname(input.messageIdDomain)}>`;
  const subject = failed ? `${encodedWord('配信不能のお知らせ')}${CRLF} / Undelivered Mail Returned to Sender` : `${encodedWord('配信遅延のお知らせ')}${CRLF} / Delayed Mail (still being retried)`;
  const head = [
    `From: "Mail Delivery System" <MAILER-DAEMON@${mta}>`,
    ...(to ? [`To: <${to}>`] : []),
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: ${msgId}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;${CRLF} boundary="${boundary}"`,
    'Content-Transfer-Encoding: 7bit',
  ];
  const body = parts.map((p) => `--${boundary}${CRLF}${p}`).join(CRLF);
  return Buffer.from(`${head.join(CRLF)}${CRLF}${CRLF}This is a MIME-encapsulated message.${CRLF}${CRLF}${body}${CRLF}--${boundary}--${CRLF}`, 'latin1');
}
