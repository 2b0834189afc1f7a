// Parse a message (already within the shape limits) into plain values: decoded
// header fields, the text and HTML bodies, and each attachment's bytes. Every
// value here is still untrusted; later stages decide what may cross.
import { simpleParser, type AddressObject, type EmailAddress, type HeaderValue } from 'mailparser';

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

export async function parseMessage(raw: Uint8Array): Promise<ParsedMessage> {
  const mail = await simpleParser(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    keepCidLinks: true,
  });
  const date = mail.date && !Number.isNaN(mail.date.getTime()) && mail.headers.has('date') ? mail.date : null;
  return {
    from: mailboxes(mail.from),
    to: mailboxes(mail.to),
    cc: mailboxes(mail.cc),
    subject: mail.subject ?? null,
    date,
    messageId: mail.messageId ?? null,
    text: typeof mail.text === 'string' ? mail.text : null,
    html: typeof mail.html === 'string' ? mail.html : null,
    attachments: mail.attachments.map((a) => {
      const ct = a.headers.get('content-type');
      return {
        untrustedName: a.filename ?? null,
        declaredType: (headerMain(ct) ?? 'application/octet-stream').toLowerCase(),
        declaredCharset: headerParam(ct, 'charset'),
        bytes: a.content,
        related: a.related === true,
      };
    }),
  };
}
