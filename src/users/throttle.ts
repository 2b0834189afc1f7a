// Login throttling kept in the gateway's memory, checked before anything else
// about a login:
//
// - per client address (an IPv6 address counts by its /64, which one client
//   usually holds whole): a leaky bucket of `addressFailures` failed logins,
//   draining over `windowMinutes`. An address over it is refused (429) before
//   its name is even looked up; it costs nothing and tells nothing.
// - one at a time per key (oneAtATime): auth-deps.ts's inTurn keys attempts
//   by name and address, and by name for addresses the account never logged
//   in from, so that the failure count read before a check is the count after
//   the previous check (41 parallel guesses are checked in turn, and the lock
//   stops them); at most `maxWaitingPerName` wait per key, the others are refused.
//
// The per-account locks (per address, and for addresses the account never
// logged in from) are in the database, counted with each failure's audit
// record (src/users/login.ts).
import net from 'node:net';

export interface ThrottleSettings {
  addressFailures: number;
  windowMinutes: number;
  maxWaitingPerName?: number;
  /** Addresses remembered at most; the quietest are forgotten first. */
  maxAddresses?: number;
}

export interface LoginThrottle {
  /** Seconds until this address may try again; 0 when it may now. */
  retryAfter(client: string): number;
  /** One failure more for the address. */
  failed(client: string): void;
  /** Runs `fn` when nothing else for `key` runs; null (not run) when too many wait already. */
  oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T | null>;
}

/** The key an address is counted under: IPv4 itself (also when IPv4-mapped), IPv6 its /64. */
export function addressKey(client: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(client);
  if (mapped) return mapped[1]!;
  if (net.isIPv6(client)) {
    const [head = '', tail = ''] = client.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = client.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
    return `${groups
      .slice(0, 4)
      .map((g) => (parseInt(g, 16) || 0).toString(16))
      .join(':')}::/64`;
  }
  return client;
}

export function createLoginThrottle(s: ThrottleSettings, now: () => number = Date.now): LoginThrottle {
  const windowMs = s.windowMinutes * 60_000;
  const drainPerMs = s.addressFailures / windowMs;
  const maxWaiting = s.maxWaitingPerName ?? 16;
  const maxAddresses = s.maxAddresses ?? 100_000;
  /** Per address: the bucket's level when last changed. */
  const buckets = new Map<string, { level: number; at: number }>();
  /** Per name: the tail of its chain of attempts, and how many are in it. */
  const chains = new Map<string, { tail: Promise<unknown>; count: number }>();

  const levelOf = (key: string, t: number): number => {
    const b = buckets.get(key);
    if (!b) return 0;
    const level = Math.max(0, b.level - (t - b.at) * drainPerMs);
    if (level === 0) buckets.delete(key);
    return level;
  };

  const forgetQuietest = (t: number): void => {
    // Map order is insertion order; a bucket is re-inserted on each failure, so the first are the quietest.
    for (const key of buckets.keys()) {
      if (buckets.size < maxAddresses) return;
      levelOf(key, t);
      if (buckets.size >= maxAddresses) buckets.delete(key);
    }
  };

  return {
    retryAfter(client) {
      const t = now();
      const level = levelOf(addressKey(client), t);
      if (level + 1 <= s.addressFailures) return 0;
      return Math.max(1, Math.ceil((level + 1 - s.addressFailures) / drainPerMs / 1000));
    },
    failed(client) {
      const t = now();
      const key = addressKey(client);
      const level = levelOf(key, t);
      buckets.delete(key);
      if (buckets.size >= maxAddresses) forgetQuietest(t);
      buckets.set(key, { level: level + 1, at: t });
    },
    async oneAtATime(name, fn) {
      const chain = chains.get(name) ?? { tail: Promise.resolve(), count: 0 };
      if (chain.count >= maxWaiting) return null;
      chain.count++;
      chains.set(name, chain);
      const run = chain.tail.then(fn);
      chain.tail = run.catch(() => undefined);
      try {
        return await run;
      } finally {
        chain.count--;
        if (chain.count === 0) chains.delete(name);
      }
    },
  };
}
