// Sender facts at receipt: authentication on the original bytes, done once
// per message and kept beside its incoming file, so a message sanitized again
// (after a restart, or a quarantine that was down) is not checked again with
// answers that may have changed. Mail the gateway made itself (an unlocked
// attachment) is not checked: it did not come from the Internet.
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { authenticationResults } from '../core/authentication-results.js';
import type { ReceivedEnvelope } from '../model/envelope.js';
import type { SenderFacts } from '../model/sender-trust.js';
import type { SenderAuthenticator } from '../sender/authenticate.js';
import type { Spool } from '../spool/spool.js';
import type { QueueId } from '../spool/types.js';

export interface SenderFactsDeps {
  spool: Spool;
  /** null or absent: senders are not checked (`dns.authenticate: false`). */
  authenticator?: SenderAuthenticator | null;
}

/** The client address as SPF wants it: IPv4 without its IPv6-mapped prefix; null when not an address. */
export const clientIpOf = (address: string): string | null => {
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return isIP(plain) ? plain : null;
};

export async function senderFactsFor(d: SenderFactsDeps, id: QueueId, envelope: ReceivedEnvelope, raw: Uint8Array, log: Logger): Promise<SenderFacts | undefined> {
  if (!d.authenticator || envelope.unlockOf) return undefined;
  const kept = await d.spool.readSenderFacts(id);
  if (kept) return kept;
  const authentication = await d.authenticator.authenticate({ raw, mailFrom: envelope.mailFrom, clientIp: clientIpOf(envelope.clientAddress), helo: envelope.heloName || null });
  // First contact is found elsewhere (the store); unknown here.
  const facts: SenderFacts = { authentication, firstContactFor: null };
  try {
    await d.spool.writeSenderFacts(id, facts);
  } catch (err) {
    // Not kept: checked again should the message be sanitized again. Not a reason to hold it.
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'sender facts not kept in the spool');
  }
  return facts;
}

/** One line for the audit record: our Authentication-Results value, unfolded. */
export const authenticationSummary = (facts: SenderFacts | undefined): string | undefined => (facts?.authentication ? authenticationResults(facts.authentication).replace(/\r\n /g, ' ') : undefined);
