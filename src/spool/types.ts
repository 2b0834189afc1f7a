// What the spool keeps about each message.
import type { VerdictWord } from '../core/compose.js';
import type { FindingCode } from '../core/findings.js';
import type { QuarantineId } from '../core/ports.js';
import type { RecipientFailure } from '../delivery/types.js';

export type QueueId = string & { readonly __brand: 'QueueId' };

/** What a spool entry carries: its message's verdict, or 'bounce' for a DSN on its way back. */
export type EntryVerdict = VerdictWord | 'bounce';
/** What the transfer log records as a verdict: an entry's, or 'rejected' for a message refused by policy. */
export type TransferVerdict = EntryVerdict | 'rejected';

/** A sanitized message on its way to the LGWAN side, or a bounce on its way back. */
export interface DeliveryState {
  version: 1;
  kind: 'sanitized' | 'bounce';
  /** The queue id of the message this entry came from (itself for a sanitized message). */
  origin: QueueId;
  /** The envelope sender; null for the null sender (a bounce's). */
  envelopeFrom: string | null;
  /** Recipients still owed a delivery. */
  pending: string[];
  delivered: string[];
  failed: RecipientFailure[];
  attempts: number;
  receivedAt: string;
  nextAttemptAt: string;
  lastError: string | null;
  verdict: EntryVerdict;
  quarantineId: QuarantineId | null;
  /** Set by `mugaika queue bounce`: give up on the pending recipients now. */
  bounceRequested?: boolean;
  /**
   * What happened to this entry but may not be in the transfer log yet (the
   * database failed): written here first, appended before anything else is
   * done with the entry, and never done again.
   */
  unaudited?: TransferRecord[];
}

export type TransferEvent = 'sanitized' | 'delivered' | 'deferred' | 'bounced' | 'rejected' | 'bounce-delivered' | 'bounce-failed';

/** One event of a message's journey, as the relay records it in the audit log. */
export interface TransferRecord {
  event: TransferEvent;
  queueId: string;
  /** On 'sanitized' and 'rejected', the first records of a message: where and when it came in. */
  client?: string;
  receivedAt?: string;
  /** On 'sanitized' and 'rejected': what sender authentication found (our Authentication-Results value, one line). */
  authentication?: string;
  /** The envelope sender; null for the null sender. */
  from?: string | null;
  to?: readonly string[];
  verdict?: TransferVerdict;
  quarantineId?: QuarantineId | null;
  findings?: FindingCode[];
  detail?: string;
}

/**
 * What a first delivery attempt (made from memory, with only the incoming
 * file on disk) did, written the moment the next hop has answered and before
 * the audit log is asked to record it: after a crash or with the database
 * down, what the next hop accepted is never sent again.
 */
export interface Receipt {
  version: 1;
  /** Recipients the next hop accepted. */
  delivered: string[];
  /** Recipients bounced (their DSN is spooled) or refused by policy. */
  bounced: string[];
  /** Recipients still owed a delivery. */
  pending: string[];
  /** The records of these outcomes, for the transfer log. */
  unaudited: TransferRecord[];
}
