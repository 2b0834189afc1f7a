// First contact, found in the audit log as the relay takes a message up: the
// envelope recipients to whom nothing from this envelope sender was delivered
// within the policy's window (senders.firstContactDays). Handed to the core
// as SenderFacts.firstContactFor; the notice's first line says it.
import type { Policy } from '../core/policy.js';
import type { Envelope } from '../model/envelope.js';
import type { Store } from '../store/types.js';

const DAY_MS = 86_400_000;

/**
 * The recipients who are first contacts; null when not known: the check is
 * off, the sender is the null sender (a bounce), or the store did not answer
 * (the message is not held up for it: the notice then says nothing about it).
 */
export async function firstContactFor(store: Pick<Store, 'firstContacts'>, policy: Policy, envelope: Envelope, now: Date): Promise<string[] | null> {
  const days = policy.senders.firstContactDays;
  if (days === 0 || !envelope.mailFrom || envelope.rcptTo.length === 0) return null;
  try {
    return await store.firstContacts(envelope.mailFrom, envelope.rcptTo, new Date(now.getTime() - days * DAY_MS));
  } catch {
    return null;
  }
}
