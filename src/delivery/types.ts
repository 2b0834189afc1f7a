// What the relay needs from whatever carries a message onward: the LGWAN-side
// MTA over SMTP, a local Maildir, or the Internet-side relay for bounces.
import type { Envelope } from '../model/envelope.js';

export interface RecipientFailure {
  rcpt: string;
  /** SMTP reply code when the peer gave one (e.g. 450, 550); null for a connection-level failure. */
  code: number | null;
  /** Enhanced status code when the peer gave one (e.g. "5.1.1"). */
  status: string | null;
  /** What the peer said, or what went wrong, for logs and DSNs. */
  reason: string;
}

/** Per-recipient outcome of one attempt. Every recipient of the envelope is in exactly one list. */
export interface AttemptResult {
  accepted: string[];
  /** 4xx replies, timeouts, refused or dropped connections: try again later. */
  temporary: RecipientFailure[];
  /** 5xx replies: bounce. */
  permanent: RecipientFailure[];
}

export interface Carrier {
  /** Human-readable name for logs: "smtp:10.0.0.1:25", "maildir:/var/lib/mugaika/maildir". */
  readonly name: string;
  /** Never rejects: failures come back in the result. */
  send(envelope: Envelope, raw: Buffer): Promise<AttemptResult>;
  close(): Promise<void>;
}
