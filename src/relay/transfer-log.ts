// The relay's record of every transfer, kept in the audit log: durable before
// the caller goes on (the relay removes a spool entry only after its outcome is
// recorded), group-committed, hash-chained and signed like every other record.
import type { AuditLog } from '../audit/log.js';
import type { QuarantineId } from '../core/ports.js';
import { isQuarantineId } from '../quarantine/ids.js';
import type { TransferRecord, TransferVerdict } from '../spool/types.js';
import type { AuditAction } from '../model/audit-actions.js';
import type { AuditEntry, Store } from '../store/types.js';

export type { TransferEvent, TransferRecord } from '../spool/types.js';

export interface TransferLog {
  /** Appends the records of one or more events, in one commit. */
  record(...records: TransferRecord[]): Promise<void>;
  /** Those of `records` (all of one queue id) that the audit log does not hold yet. */
  missing(records: readonly TransferRecord[]): Promise<TransferRecord[]>;
}

/** What the relay appends for one event: a message's first event also records its receipt and verdict. */
export function auditEntries(r: TransferRecord, actor: string): AuditEntry[] {
  const who = { from: r.from ?? null, to: r.to ?? [] };
  const entry = (action: AuditAction, details: Record<string, unknown>): AuditEntry => ({ actor, action, object: r.queueId, details: { ...who, ...details } });
  const verdict = entry('verdict', { verdict: r.verdict, quarantineId: r.quarantineId ?? null, findings: r.findings ?? [] });
  const received = entry('received', {
    client: r.client,
    receivedAt: r.receivedAt,
    ...(r.authentication ? { authentication: r.authentication } : {}),
    ...(r.detail ? { detail: r.detail } : {}),
  });
  switch (r.event) {
    case 'sanitized':
      return [received, verdict];
    case 'rejected':
      return [received, verdict, entry('rejected', { verdict: r.verdict, detail: r.detail })];
    default:
      return [entry(r.event, { verdict: r.verdict, quarantineId: r.quarantineId ?? null, ...(r.detail ? { detail: r.detail } : {}) })];
  }
}

/** The audit action that tells whether a record is in the log. */
const witness = (r: TransferRecord): AuditAction => (r.event === 'sanitized' ? 'verdict' : r.event);
const sameRecipients = (a: readonly string[] | undefined, b: unknown): boolean => Array.isArray(b) && (a ?? []).length === b.length && (a ?? []).every((x) => b.includes(x));

export function createTransferLog(audit: AuditLog, actor: string, store: Pick<Store, 'searchAudit'>): TransferLog {
  return {
    async record(...records) {
      await audit.appendMany(records.flatMap((r) => auditEntries(r, actor)));
    },
    async missing(records) {
      if (records.length === 0) return [];
      const objects = [...new Set(records.map((r) => r.queueId))];
      const actions = [...new Set(records.map(witness))];
      const logged = (await store.searchAudit({ objects, actions })).map((r) => ({ object: r.object, action: r.action, to: (JSON.parse(r.details) as { to?: unknown }).to }));
      // Each logged record answers for one of ours at most.
      const used = new Set<number>();
      return records.filter((r) => {
        const at = logged.findIndex((l, i) => !used.has(i) && l.object === r.queueId && l.action === witness(r) && (r.event === 'sanitized' || sameRecipients(r.to, l.to)));
        if (at < 0) return true;
        used.add(at);
        return false;
      });
    },
  };
}

/** A verdict the audit log holds for a message, with its quarantine item. */
export interface RecordedVerdict {
  verdict: TransferVerdict;
  quarantineId: QuarantineId | null;
}

const VERDICTS: ReadonlySet<string> = new Set<TransferVerdict>(['clean', 'sanitized', 'blocked', 'rejected', 'bounce']);
const isVerdict = (v: unknown): v is TransferVerdict => typeof v === 'string' && VERDICTS.has(v);

/**
 * The verdict the audit log holds for each of these queue ids, if any: a
 * message sanitized before a crash is sanitized again with its quarantine item,
 * not into a second one, and its receipt and verdict are not recorded twice.
 */
export async function recordedVerdicts(store: Pick<Store, 'searchAudit'>, ids: readonly string[]): Promise<Map<string, RecordedVerdict>> {
  const out = new Map<string, RecordedVerdict>();
  for (let i = 0; i < ids.length; i += ID_BATCH) {
    for (const r of await store.searchAudit({ objects: ids.slice(i, i + ID_BATCH), actions: ['verdict'] })) {
      const d = JSON.parse(r.details) as { verdict?: unknown; quarantineId?: unknown };
      if (r.object && isVerdict(d.verdict)) out.set(r.object, { verdict: d.verdict, quarantineId: typeof d.quarantineId === 'string' && isQuarantineId(d.quarantineId) ? d.quarantineId : null });
    }
  }
  return out;
}

const ID_BATCH = 500;

/**
 * Recipients the audit log shows delivered for the given queue ids: after a
 * crash between a next hop's 250 and the spool update, they are not sent again.
 */
export async function deliveredSoFar(store: Pick<Store, 'searchAudit'>, ids: ReadonlySet<string>): Promise<Map<string, Set<string>>> {
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

/** What the audit log tells of the spool's entries at start: delivered recipients, and the verdicts of those still incoming. */
export async function recoveredFromLog(
  store: Pick<Store, 'searchAudit'>,
  outgoing: readonly string[],
  incoming: readonly string[],
): Promise<{ delivered: Map<string, Set<string>>; verdicts: Map<string, RecordedVerdict> }> {
  return { delivered: await deliveredSoFar(store, new Set([...outgoing, ...incoming])), verdicts: await recordedVerdicts(store, incoming) };
}
