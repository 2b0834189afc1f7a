// Bounces: a DSN (RFC 3464) to the envelope sender for recipients we gave up
// on, spooled like any other message and carried by the Internet-side relay.
// The null sender is never bounced, and a bounce is never bounced.
import { buildDsn, dsnRecipient } from '../delivery/dsn.js';
import type { RecipientFailure } from '../delivery/types.js';
import { newQueueId, type Spool } from '../spool/spool.js';
import type { DeliveryState, QueueId } from '../spool/types.js';

export interface BounceContext {
  spool: Spool;
  hostname: string;
  messageIdDomain: string;
}

/**
 * Spools a DSN for `failures` and returns its queue id, or null when nothing
 * may be sent back (to the null sender, null).
 */
export async function spoolBounce(
  ctx: BounceContext,
  origin: QueueId,
  envelopeFrom: string | null,
  failures: readonly RecipientFailure[],
  original: Buffer,
  receivedAt: Date,
  expiredAfterRetries: boolean,
): Promise<QueueId | null> {
  if (envelopeFrom === null || failures.length === 0) return null;
  const now = new Date();
  const dsn = buildDsn({
    reportingMta: ctx.hostname,
    originalEnvelopeFrom: envelopeFrom,
    recipients: failures.map((f) => dsnRecipient(f, expiredAfterRetries ? 'expired' : 'permanent', now)),
    arrivalDate: receivedAt,
    originalHeaders: original,
    queueId: origin,
    now,
    messageIdDomain: ctx.messageIdDomain,
  });
  const id = newQueueId();
  const state: DeliveryState = {
    version: 1,
    kind: 'bounce',
    origin,
    envelopeFrom: null,
    pending: [envelopeFrom],
    delivered: [],
    failed: [],
    attempts: 0,
    receivedAt: now.toISOString(),
    nextAttemptAt: now.toISOString(),
    lastError: null,
    verdict: 'bounce',
    quarantineId: null,
  };
  await ctx.spool.writeOutgoing(id, state, dsn);
  return id;
}
