// The SMTP envelope, one type from the SMTP door through the spool and the
// relay to the next hop: whom a message is from and whom it is for. The null
// sender (`MAIL FROM:<>`, which bounces carry and which is never bounced) is
// null, everywhere; '' is not a sender (earlier spool files wrote it, and the
// spool reads them as null: src/spool/legacy.ts).

export interface Envelope {
  /** The envelope sender; null for the null sender. */
  mailFrom: string | null;
  rcptTo: readonly string[];
  /**
   * Set by the gateway (spool metadata, never a header) on a mail it made from
   * the password-protected attachment of this quarantine item, which its
   * recipient unlocked in the console: the notice says so.
   */
  unlockedFrom?: string | null;
}

/** An envelope as the SMTP door received it, with where and when: what the spool keeps with a message. */
export interface ReceivedEnvelope extends Envelope {
  clientAddress: string;
  heloName: string;
  /** ISO 8601. */
  receivedAt: string;
  /**
   * A mail the gateway made itself from a password-protected attachment that
   * a recipient unlocked in the console (src/unlock/): which quarantine item
   * it came from. Only the gateway writes it; nothing a sender sends sets it.
   */
  unlockOf?: { quarantineId: string; user: string };
}
