// The mail a recipient gets after unlocking: a new message, built in memory
// from the original's shown header fields, with the opened files as plain
// attachments and no body of its own. It is not delivered as it is: it goes
// into the spool like a mail that just arrived, and the core sanitizes it
// (its notice says where it came from: the spool envelope's unlockOf).
import MailComposer from 'nodemailer/lib/mail-composer';
import type { ParsedMessage } from '../core/parse.js';

export interface OpenedFile {
  /** The name the sender gave the attachment (untrusted: the core neutralises it). */
  untrustedName: string | null;
  bytes: Buffer;
}

const mailbox = (m: { name: string; address: string }): { name: string; address: string } => ({ name: m.name, address: m.address });

export function unlockedMessage(original: ParsedMessage, files: readonly OpenedFile[], messageId: string): Promise<Buffer> {
  const composer = new MailComposer({
    from: original.from.map(mailbox),
    to: original.to.map(mailbox),
    cc: original.cc.map(mailbox),
    subject: original.subject ?? '',
    date: original.date ?? new Date(),
    messageId,
    // In the original's thread: the core checks the id like any other.
    ...(original.messageId ? { inReplyTo: original.messageId } : {}),
    text: '',
    attachments: files.map((f, i) => ({
      filename: f.untrustedName ?? `attachment-${i + 1}`,
      content: f.bytes,
      contentType: 'application/octet-stream',
      contentTransferEncoding: 'base64',
      contentDisposition: 'attachment' as const,
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}
