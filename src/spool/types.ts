// What the spool keeps about each message.
import type { RecipientFailure } from '../delivery/types.js';

export type QueueId = string & { readonly __brand: 'QueueId' };

/** The SMTP envelope as received, with where it came from. */
export interface Envelope {
  /** '' for the null sender. */
  mailFrom: string;
  rcptTo: string[];
  clientAddress: string;
  heloName: string;
  receivedAt: string;
}

/** A sanitized message on its way to the LGWAN side, or a bounce on its way back. */
export interface DeliveryState {
  version: 1;
  kind: 'sanitized' | 'bounce';
  /** The queue id of the message this entry came from (itself for a sanitized message). */
  origin: QueueId;
  envelopeFrom: string;
  /** Recipients still owed a delivery. */
  pending: string[];
  delivered: string[];
  failed: RecipientFailure[];
  attempts: number;
  receivedAt: string;
  nextAttemptAt: string;
  lastError: string | null;
  verdict: string;
  quarantineId: string | null;
  /** Set by `mugaika queue bounce`: give up on the pending recipients now. */
  bounceRequested?: boolean;
}
