// Build the message that crosses, from scratch: our header fields (RFC 2047
// encoded, 7-bit), our text body (UTF-8, base64, CRLF, short lines) and the
// parts we rebuilt. Nothing of the original's raw bytes is copied.
import MailComposer from 'nodemailer/lib/mail-composer';
import type MimeNode from 'nodemailer/lib/mime-node';
import type { DeliveredPart } from './attachments.js';
import type { NewHeaders } from './headers.js';

export type VerdictWord = 'clean' | 'sanitized' | 'blocked';

export interface ComposeInput {
  headers: NewHeaders;
  body: string;
  parts: readonly DeliveredPart[];
  verdict: VerdictWord;
  quarantineId: string | null;
  messageId: string;
  /** Our Authentication-Results value (authentication-results.ts), already folded; none when nothing was checked. */
  authenticationResults?: string | null;
}

const CRLF_BODY = (text: string): string => text.replace(/\r?\n/g, '\r\n');

export function composeMessage(input: ComposeInput): Promise<Buffer> {
  return Promise.resolve(serializeMime(mimeTree(input)));
}

/** The MIME tree of the message, as nodemailer's MailComposer makes it. */
export function mimeTree(input: ComposeInput): MimeNode {
  const extra: Record<string, string | { prepared: true; value: string }> = {};
  // Ours, written from the relay's facts; the original's never cross (nothing of its header is copied).
  if (input.authenticationResults) extra['Authentication-Results'] = { prepared: true, value: input.authenticationResults };
  extra['X-Mugaika-Verdict'] = input.verdict;
  if (input.quarantineId) extra['X-Mugaika-Quarantine-Id'] = input.quarantineId;
  if (input.headers.originalMessageId) extra['X-Mugaika-Original-Message-Id'] = input.headers.originalMessageId;
  const composer = new MailComposer({
    from: input.headers.from,
    to: input.headers.to,
    cc: input.headers.cc,
    subject: input.headers.subject,
    date: input.headers.date,
    messageId: input.messageId,
    // Ids headers.ts checked; absent fields are not written.
    ...(input.headers.inReplyTo.length > 0 ? { inReplyTo: input.headers.inReplyTo.join(' ') } : {}),
    ...(input.headers.references.length > 0 ? { references: input.headers.references } : {}),
    ...(input.headers.replyTo.length > 0 ? { replyTo: input.headers.replyTo } : {}),
    headers: extra,
    text: CRLF_BODY(input.body),
    textEncoding: 'base64',
    attachments: input.parts.map((p) => ({
      filename: p.filename,
      content: Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength),
      contentType: p.contentType,
      contentTransferEncoding: 'base64',
      contentDisposition: 'attachment',
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile();
}

const LINE = 76;

/**
 * Base64 in lines of 76 with no line break after the last, as nodemailer's
 * base64 wrap() writes it, without its regular expression over the whole text.
 */
export function base64Lines(bytes: Buffer): string {
  const b64 = bytes.toString('base64');
  if (b64.length <= LINE) return b64;
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += LINE) lines.push(b64.slice(i, i + LINE));
  return lines.join('\r\n');
}

/**
 * The bytes of a MIME tree, built at once: what MimeNode's build() streams for
 * our trees (every leaf a string or Buffer sent as base64, no transforms), with
 * none of its per-node streams, pipelines and event-loop turns, which cost more
 * than the rest of composing. nodemailer still writes every header (encoded
 * words, addresses, folding, boundaries); test/core/compose.test.ts checks the
 * bytes against build() for folded Japanese headers, many recipients, odd
 * line ends, empty bodies and binary parts.
 */
export function serializeMime(root: MimeNode): Buffer {
  const out: string[] = [];
  const write = (node: MimeNode): void => {
    out.push(`${node.buildHeaders()}\r\n\r\n`);
    const content = node.content;
    if (content) {
      if (typeof content !== 'string' && !Buffer.isBuffer(content)) throw new Error('serializeMime: only string or Buffer contents');
      const encoding = node.getTransferEncoding();
      if (encoding !== 'base64') throw new Error(`serializeMime: only base64 leaves, not ${String(encoding)}`);
      out.push(base64Lines(typeof content === 'string' ? Buffer.from(content, 'utf8') : content));
    }
    if (node.multipart) {
      node.childNodes.forEach((child, i) => {
        out.push(`${i > 0 ? '\r\n' : ''}--${String(node.boundary)}\r\n`);
        write(child);
      });
      out.push(`\r\n--${String(node.boundary)}--\r\n`);
    }
  };
  write(root);
  const text = out.join('');
  // As build() does: the message ends with a line break.
  return Buffer.from(text.endsWith('\n') ? text : `${text}\r\n`, 'utf8');
}
