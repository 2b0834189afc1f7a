// The relay's record of every transfer, kept in the audit log: durable before
// the caller goes on (the relay removes a spool entry only after its outcome is
// recorded), group-committed, hash-chained and signed like every other record.
import type { AuditLog } from '../audit/log.js';
import type { FindingCode } from '../core/findings.js';
import type { AuditAction, AuditEntry, Store } from '../store/types.js';

export type TransferEvent = 'sanitized' | 'delivered' | 'deferred' | 'bounced' | 'rejected' | 'bounce-delivered' | 'bounce-failed';

export interface TransferRecord {
  event: TransferEvent;
  queueId: string;
  /** On 'sanitized' and 'rejected', the first records of a message: where and when it came in. */
  client?: string;
  receivedAt?: string;
  from?: string;
  to?: string[];
  verdict?: string;
  quarantineId?: string | null;
  findings?: FindingCode[];
  detail?: string;
}

export interface TransferLog {
  record(r: TransferRecord): Promise<void>;
}

/** What the relay appends for one event: a message's first event also records its receipt and verdict. */
export function auditEntries(r: TransferRecord, actor: string): AuditEntry[] {
  const who = { from: r.from ?? null, to: r.to ?? [] };
  const entry = (action: AuditAction, details: Record<string, unknown>): AuditEntry => ({ actor, action, object: r.queueId, details: { ...who, ...details } });
  const verdict = entry('verdict', { verdict: r.verdict, quarantineId: r.quarantineId ?? null, findings: r.findings ?? [] });
  const received = entry('received', { client: r.client, receivedAt: r.receivedAt });
  switch (r.event) {
    case 'sanitized':
      return [received, verdict];
    case 'rejected':
      return [received, verdict, entry('rejected', { verdict: r.verdict, detail: r.detail })];
    default:
      return [entry(r.event, { verdict: r.verdict, quarantineId: r.quarantineId ?? null, ...(r.detail ? { detail: r.detail } : {}) })];
  }
}

export function createTransferLog(audit: AuditLog, actor: string): TransferLog {
  return {
    async record(r) {
      await audit.appendMany(auditEntries(r, actor));
    },
  };
}

const ID_BATCH = 500;

/**
 * Recipients the audit log shows delivered for the given queue ids: after a
 * crash between a next hop's 250 and the spool update, they are not sent again.
 */
export async function deliveredSoFar(store: Store, ids: ReadonlySet<string>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const all = [...ids];
  for (let i = 0; i < all.length; i += ID_BATCH) {
    const records = await store.searchAudit({ objects: all.slice(i, i + ID_BATCH), actions: ['delivered', 'bounce-delivered'] });
    for (const r of records) {
      if (!r.object) continue;
      const to = (JSON.parse(r.details) as { to?: unknown }).to;
      const set = out.get(r.object) ?? new Set<string>();
      if (Array.isArray(to)) for (const rcpt of to) if (typeof rcpt === 'string') set.add(rcpt);
      out.set(r.object, set);
    }
  }
  return out;
}
