// The SMTP envelope, one type from the SMTP door through the spool and the
// relay to the next hop: whom a message is from and whom it is for. The null
// sender (`MAIL FROM:<>`, which bounces carry and which is never bounced) is
// null, everywhere; '' is not a sender (earlier spool files wrote it, and the
// spool reads them as null: src/spool/legacy.ts).

export interface Envelope {
  /** The envelope sender; null for the null sender. */
  mailFrom: string | null;
  rcptTo: readonly string[];
}

/** An envelope as the SMTP door received it, with where and when: what the spool keeps with a message. */
export interface ReceivedEnvelope extends Envelope {
  clientAddress: string;
  heloName: string;
  /** ISO 8601. */
  receivedAt: string;
}
