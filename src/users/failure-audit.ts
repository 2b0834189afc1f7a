// The audit records of failed logins, bounded under attack.
//
// A failure that changed something (a count that can lock an account) is
// always written, one record each, with its change: the locks bound how many
// there can be. A failure that changed nothing (an unknown name, a locked
// account, an address over its limit) is written on its own only while its
// address has written fewer than `perAddress` such records in the current
// minute and the gateway fewer than `perMinute`; beyond that it is counted,
// and once a minute one `login-failures-summarised` record says how many came
// from which address, why, and for which names. A flood of any size thus adds
// about one record a minute, and still says where it came from.
import type { AuditLog } from '../audit/log.js';
import type { AuditEffects, AuditEntry } from '../store/types.js';

export interface FailureAuditSettings {
  perAddress?: number;
  perMinute?: number;
  /** Addresses named one by one in a summary; the rest are counted together. */
  listed?: number;
  intervalMs?: number;
}

export interface FailureAudit {
  /** A failure with effects: written now, resolves once durable. */
  counted(entry: AuditEntry, effects: AuditEffects): Promise<void>;
  /** A failure without effects: written now if within the budgets, else summarised. */
  uncounted(client: string, entry: AuditEntry): Promise<void>;
  /** Writes what is counted so far (at shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Tally {
  attempts: number;
  reasons: Record<string, number>;
  names: Set<string>;
  first: string;
  last: string;
}

const NAMES_KEPT = 10;

export function createFailureAudit(audit: Pick<AuditLog, 'append'>, s: FailureAuditSettings = {}, now: () => Date = () => new Date(), onError: (err: unknown) => void = () => undefined): FailureAudit {
  const perAddress = s.perAddress ?? 5;
  const perMinute = s.perMinute ?? 60;
  const listed = s.listed ?? 50;
  const intervalMs = s.intervalMs ?? 60_000;

  let minuteStart = 0;
  let writtenThisMinute = 0;
  const writtenByAddress = new Map<string, number>();
  let tallies = new Map<string, Tally>();

  const rollMinute = (t: number): void => {
    if (t - minuteStart < 60_000) return;
    minuteStart = t;
    writtenThisMinute = 0;
    writtenByAddress.clear();
  };

  const flush = async (): Promise<void> => {
    if (tallies.size === 0) return;
    const batch = tallies;
    tallies = new Map();
    const all = [...batch.entries()].sort((a, b) => b[1].attempts - a[1].attempts);
    const attempts = all.reduce((n, [, t]) => n + t.attempts, 0);
    const shown = all.slice(0, listed).map(([client, t]) => ({ client, attempts: t.attempts, reasons: t.reasons, names: [...t.names], first: t.first, last: t.last }));
    await audit.append({
      actor: 'console',
      action: 'login-failures-summarised',
      object: null,
      details: {
        attempts,
        addresses: all.length,
        from: all.reduce((m, [, t]) => (t.first < m ? t.first : m), all[0]![1].first),
        until: all.reduce((m, [, t]) => (t.last > m ? t.last : m), all[0]![1].last),
        byAddress: shown,
        ...(all.length > listed ? { otherAddresses: all.length - listed, otherAttempts: all.slice(listed).reduce((n, [, t]) => n + t.attempts, 0) } : {}),
      },
    });
  };

  const timer = setInterval(() => void flush().catch(onError), intervalMs);
  timer.unref();

  return {
    async counted(entry, effects) {
      await audit.append(entry, effects);
    },
    async uncounted(client, entry) {
      const t = now();
      rollMinute(t.getTime());
      const mine = writtenByAddress.get(client) ?? 0;
      if (mine < perAddress && writtenThisMinute < perMinute) {
        writtenByAddress.set(client, mine + 1);
        writtenThisMinute++;
        await audit.append(entry);
        return;
      }
      const at = t.toISOString();
      let tally = tallies.get(client);
      if (!tally) {
        tally = { attempts: 0, reasons: {}, names: new Set(), first: at, last: at };
        tallies.set(client, tally);
      }
      tally.attempts++;
      tally.last = at;
      const reason = typeof entry.details.reason === 'string' ? entry.details.reason : 'other';
      tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
      if (entry.object !== null && tally.names.size < NAMES_KEPT) tally.names.add(entry.object);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
