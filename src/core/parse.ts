// Parse a message (already within the shape limits) into plain values: decoded
// header fields, the text and HTML bodies, and each attachment's bytes. Every
// value here is still untrusted; later stages decide what may cross.
import { simpleParser, type AddressObject, type EmailAddress, type HeaderValue } from 'mailparser';
import { decodeText } from './charset.js';
import { PartDecoder } from './part-decoder.js';

export interface Mailbox {
  name: string;
  address: string;
}

export interface UntrustedAttachment {
  /** The file name the sender gave (decoded from RFC 2047/2231), if any. */
  untrustedName: string | null;
  /** The Content-Type the sender declared, lowercased, without parameters. */
  declaredType: string;
  declaredCharset: string | null;
  bytes: Buffer;
  /** Part of multipart/related (an image the HTML showed inline). */
  related: boolean;
}

export interface ParsedMessage {
  from: Mailbox[];
  to: Mailbox[];
  cc: Mailbox[];
  subject: string | null;
  date: Date | null;
  messageId: string | null;
  /** The raw values of In-Reply-To and References (their first occurrence), or null: headers.ts checks each id. */
  inReplyTo: string | null;
  references: string | null;
  replyTo: Mailbox[];
  /** Concatenated text/plain body parts, or null when there were none. */
  text: string | null;
  /** Concatenated text/html body parts, or null when there were none. */
  html: string | null;
  attachments: UntrustedAttachment[];
}

const mailboxes = (value: AddressObject | AddressObject[] | undefined): Mailbox[] => {
  const out: Mailbox[] = [];
  const walk = (entries: EmailAddress[]): void => {
    for (const e of entries) {
      if (e.group) walk(e.group);
      else if (e.address || e.name) out.push({ name: e.name ?? '', address: e.address ?? '' });
    }
  };
  for (const obj of value === undefined ? [] : Array.isArray(value) ? value : [value]) walk(obj.value);
  return out;
};

const headerParam = (value: HeaderValue | undefined, param: string): string | null => {
  if (value && typeof value === 'object' && 'params' in value) {
    const v = (value.params as Record<string, string>)[param];
    return typeof v === 'string' ? v : null;
  }
  return null;
};

const headerMain = (value: HeaderValue | undefined): string | null => {
  if (value && typeof value === 'object' && 'value' in value && typeof value.value === 'string') return value.value;
  return typeof value === 'string' ? value : null;
};

// ESC sequences that switch ISO-2022-JP to JIS X 0208, JIS X 0212 or half-width katakana.
const JIS_DESIGNATION = /\x1b(?:\$[@B]|\$\(D|\(I)/;

// Where the top-level header block ends (the blank line), or the whole input.
const headerEnd = (buf: Buffer): number => {
  const ends = [buf.indexOf('\r\n\r\n'), buf.indexOf('\n\n')].filter((i) => i >= 0);
  return ends.length > 0 ? Math.min(...ends) : buf.length;
};

/**
 * The raw message with its top-level header block in UTF-8. Old Japanese
 * mailers (and much spam) write header fields in raw Shift_JIS, EUC-JP or
 * unencoded ISO-2022-JP; mailparser reads header bytes as UTF-8, which turned
 * such a Subject into U+FFFD (delivered as "clean") and broke the From address
 * on the "(" of ESC ( B. Encoded words and the body are left as they are.
 */
function utf8Headers(buf: Buffer): Buffer {
  const end = headerEnd(buf);
  const head = buf.subarray(0, end);
  const legacy = head.some((b) => b >= 0x80) || JIS_DESIGNATION.test(head.toString('latin1'));
  const decoded = legacy ? decodeText(head, null) : null;
  if (!decoded || !['ISO-2022-JP', 'CP932', 'EUCJP'].includes(decoded.charset)) return buf;
  return Buffer.concat([Buffer.from(decoded.text, 'utf8'), buf.subarray(end)]);
}

// ISO-2022-JP under a label libmime does not know (CP50220, CP50221,
// csISO2022JP: what .NET and some Windows software write) is "decoded" as
// ASCII, escape sequences and all, and would cross as "$B-!$N(B". Such runs are
// decoded as ISO-2022-JP here. A run is a maximal stretch of 7-bit characters
// that holds a designation, found in one pass: the regular expression this
// replaced (/[\x00-\x7f]*ESC…[\x00-\x7f]*/g) retried from every position, and
// an ESC followed by 250,000 letters held the thread for over a minute.
export function unJis(s: string): string {
  if (!s.includes('\x1b')) return s;
  let out = '';
  let from = 0;
  for (let start = 0; start < s.length;) {
    let end = start;
    while (end < s.length && s.charCodeAt(end) < 0x80) end++;
    if (end > start) {
      const run = s.slice(start, end);
      if (JIS_DESIGNATION.test(run)) {
        const decoded = decodeText(Buffer.from(run, 'latin1'), 'iso-2022-jp')?.text;
        if (decoded !== undefined && decoded !== run) {
          out += s.slice(from, start) + decoded;
          from = end;
        }
      }
    }
    start = end + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

// mailparser (3.14.2) never settles when the input ends inside the header
// block of an inline message/rfc822 part. A final blank line ends any such
// block; it only adds empty lines to the end of that (empty) part.
const endEmbeddedHeaders = (buf: Buffer): Buffer => (/message\/(rfc822|global)/i.test(buf.toString('latin1')) ? Buffer.concat([buf, Buffer.from('\r\n\r\n')]) : buf);

export async function parseMessage(raw: Uint8Array): Promise<ParsedMessage> {
  const input = endEmbeddedHeaders(utf8Headers(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)));
  const mail = await simpleParser(input, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    keepCidLinks: true,
    Iconv: PartDecoder,
  });
  // mailparser puts the parse time in place of a Date it cannot read; that is
  // no sending date, so it counts as missing.
  const dateLine = mail.headerLines.find((l) => l.key === 'date')?.line;
  const dateReadable =
    dateLine !== undefined &&
    !Number.isNaN(
      new Date(
        dateLine
          .slice(dateLine.indexOf(':') + 1)
          .replace(/\r?\n[ \t]/g, ' ')
          .trim(),
      ).getTime(),
    );
  const date = mail.date && !Number.isNaN(mail.date.getTime()) && dateReadable ? mail.date : null;
  const text = typeof mail.text === 'string' ? unJis(mail.text) : null;
  const html = typeof mail.html === 'string' ? unJis(mail.html) : null;
  // A multipart whose boundary is missing or never used has no part at all;
  // mailparser drops everything in it without a word. Failing here sends the
  // message to quarantine with a notice instead of a silently empty body.
  const top = headerMain(mail.headers.get('content-type'))?.toLowerCase() ?? '';
  if (top.startsWith('multipart/') && text === null && html === null && mail.attachments.length === 0 && /\S/.test(input.subarray(headerEnd(input)).toString('latin1'))) {
    throw new Error(`${top} without any body part (boundary missing or never used)`);
  }
  const boxes = (list: Mailbox[]): Mailbox[] => list.map((m) => ({ ...m, name: unJis(m.name) }));
  // The raw field (unfolded), not mailparser's reading of it: headers.ts takes out each <id> and checks it.
  const rawField = (key: string): string | null => {
    const line = mail.headerLines.find((l) => l.key === key)?.line;
    return line === undefined ? null : line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]/g, ' ');
  };
  return {
    from: boxes(mailboxes(mail.from)),
    to: boxes(mailboxes(mail.to)),
    cc: boxes(mailboxes(mail.cc)),
    subject: mail.subject === undefined ? null : unJis(mail.subject),
    date,
    messageId: mail.messageId ?? null,
    inReplyTo: rawField('in-reply-to'),
    references: rawField('references'),
    replyTo: boxes(mailboxes(mail.replyTo)),
    text,
    html,
    attachments: mail.attachments.map((a) => {
      const ct = a.headers.get('content-type');
      return {
        untrustedName: a.filename === undefined ? null : unJis(a.filename),
        declaredType: (headerMain(ct) ?? 'application/octet-stream').toLowerCase(),
        declaredCharset: headerParam(ct, 'charset'),
        bytes: a.content,
        related: a.related === true,
      };
    }),
  };
}
