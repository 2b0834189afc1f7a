// The gateway's and `mugaika sanitize`'s sender authenticator, from the
// configuration's `dns` block. Without `dns.servers` the system's resolvers
// (/etc/resolv.conf) are asked, under the same per-query timeout and
// per-message budget: a gateway without DNS gets temperrors after at most
// `dns.budgetMs`, and still delivers every message sanitized.
// `dns.authenticate: false` turns the checks off (no facts, no header); left
// unset, they are on only where `dns.servers` names resolvers.
import type { DnsConfig } from '../config/schema.js';
import { createAuthenticator, type SenderAuthenticator } from './authenticate.js';
import { createResolver } from './resolver.js';

export function senderAuthenticatorFor(dns: DnsConfig, authservId: string): SenderAuthenticator | null {
  if (!(dns.authenticate ?? dns.servers !== undefined)) return null;
  const resolver = createResolver({
    servers: dns.servers ?? null,
    timeoutMs: dns.timeoutMs,
    tries: dns.tries,
    cacheEntries: dns.cacheEntries,
    cacheSeconds: dns.cacheSeconds,
    maxAnswerBytes: dns.maxAnswerBytes,
  });
  return createAuthenticator({ resolver, authservId, budgetMs: dns.budgetMs, maxKeyBits: dns.maxKeyBits });
}
