// Build the message that crosses, from scratch: our header fields (RFC 2047
// encoded, 7-bit), our text body (UTF-8, base64, CRLF, short lines) and the
// parts we rebuilt. Nothing of the original's raw bytes is copied.
import MailComposer from 'nodemailer/lib/mail-composer';
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
}

const CRLF_BODY = (text: string): string => text.replace(/\r?\n/g, '\r\n');

export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const extra: Record<string, string> = { 'X-Mugaika-Verdict': input.verdict };
  if (input.quarantineId) extra['X-Mugaika-Quarantine-Id'] = input.quarantineId;
  if (input.headers.originalMessageId) extra['X-Mugaika-Original-Message-Id'] = input.headers.originalMessageId;
  const composer = new MailComposer({
    from: input.headers.from,
    to: input.headers.to,
    cc: input.headers.cc,
    subject: input.headers.subject,
    date: input.headers.date,
    messageId: input.messageId,
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
  return composer.compile().build();
}
