// The DNS resolver sender authentication asks: node's c-ares resolver with a
// timeout and a retry count per query, a small cache bounded in size and in
// age, and a deadline per message after which every query fails at once as a
// timeout (mailauth then reports temperror). Answers that are too big are
// refused like a broken server's: the check that asked gets temperror.
import { promises as dns } from 'node:dns';

export interface DnsOptions {
  /** host:port (or host) of the servers to ask; null: the system's (/etc/resolv.conf). */
  servers: readonly string[] | null;
  /** One query's wait for one server, ms. */
  timeoutMs: number;
  /** How often a query is sent before it fails. */
  tries: number;
  /** Answers kept at most. */
  cacheEntries: number;
  /** How long an answer (or a "no such record") is kept, s. DNS TTLs are not visible through node's TXT lookups: this caps them all. */
  cacheSeconds: number;
  /** An answer longer than this (all its strings together) is refused, bytes. */
  maxAnswerBytes: number;
}

/** What mailauth calls: (name, rrtype) → records, or a rejection with a DNS error code. */
export type DnsLookup = (name: string, rrtype: string) => Promise<unknown>;

export interface BoundedResolver {
  /** A lookup for one message: every query after `deadline` (epoch ms) fails as a timeout. */
  forMessage(deadline: number): DnsLookup;
  /** Answers in the cache now. */
  readonly cached: number;
}

const dnsError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

/** Record types mailauth asks for; anything else is refused rather than passed to c-ares. */
const TYPES = new Set(['TXT', 'A', 'AAAA', 'MX', 'PTR']);
/** Codes that are an answer ("nothing there"), cached like one. */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

type Entry = { until: number; value: unknown } | { until: number; code: string; message: string };

const answerBytes = (value: unknown): number => {
  if (!Array.isArray(value)) return 0;
  let n = 0;
  for (const v of value as unknown[]) {
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) for (const s of v as unknown[]) n += typeof s === 'string' ? s.length : 16;
    else n += 64;
  }
  return n;
};

export function createResolver(opts: DnsOptions, now: () => number = Date.now): BoundedResolver {
  const resolver = new dns.Resolver({ timeout: opts.timeoutMs, tries: opts.tries });
  if (opts.servers && opts.servers.length > 0) resolver.setServers([...opts.servers]);
  // Insertion order is age order: a hit moves an entry to the end, the first is evicted.
  const cache = new Map<string, Entry>();
  const remember = (key: string, entry: Entry): void => {
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > opts.cacheEntries) cache.delete(cache.keys().next().value!);
  };
  const inFlight = new Map<string, Promise<unknown>>();

  const ask = (name: string, rrtype: string): Promise<unknown> => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const hit = cache.get(key);
    if (hit && hit.until > now()) {
      cache.delete(key);
      cache.set(key, hit);
      return 'code' in hit ? Promise.reject(dnsError(hit.code, hit.message)) : Promise.resolve(hit.value);
    }
    if (hit) cache.delete(key);
    let pending = inFlight.get(key);
    if (!pending) {
      const until = now() + opts.cacheSeconds * 1000;
      pending = (resolver.resolve(name, rrtype) as Promise<unknown>).then(
        (value) => {
          if (answerBytes(value) > opts.maxAnswerBytes) throw dnsError('EBADRESP', `the ${rrtype} answer for ${name} is over ${opts.maxAnswerBytes} bytes`);
          remember(key, { until, value });
          return value;
        },
        (err: NodeJS.ErrnoException) => {
          const code = err.code ?? 'ESERVFAIL';
          if (NEGATIVE.has(code)) remember(key, { until, code, message: err.message });
          throw dnsError(code, err.message);
        },
      );
      const settled = (): void => {
        inFlight.delete(key);
      };
      pending.then(settled, settled);
      inFlight.set(key, pending);
    }
    return pending;
  };

  return {
    get cached() {
      return cache.size;
    },
    forMessage(deadline) {
      return (name, rrtype) => {
        const type = rrtype.toUpperCase();
        if (!TYPES.has(type)) return Promise.reject(dnsError('ENOTIMP', `${rrtype} lookups are not made`));
        if (typeof name !== 'string' || name.length > 253) return Promise.reject(dnsError('EBADNAME', 'not a domain name'));
        const left = deadline - now();
        if (left <= 0) return Promise.reject(dnsError('ETIMEOUT', `the time for DNS lookups on this message is used up (${name} ${type} not asked)`));
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(dnsError('ETIMEOUT', `the time for DNS lookups on this message ran out waiting for ${name} ${type}`)), left);
        });
        return Promise.race([ask(name, type), late]).finally(() => clearTimeout(timer));
      };
    },
  };
}
