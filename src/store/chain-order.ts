// What every adapter checks before it inserts audit records: they continue the
// chain (next seq, prevHash = the previous hash). The hashing itself lives in
// src/audit/chain.ts; this only refuses records that would break the links.
import type { AuditRecord, ChainHead } from './types.js';
import { auditActions } from '../model/audit-actions.js';

/** prevHash of the first record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

const HASH = /^[0-9a-f]{64}$/;
const actions = new Set<string>(auditActions);

export class AuditAppendError extends Error {
  override readonly name = 'AuditAppendError';
}

export function assertContinues(head: ChainHead, records: readonly AuditRecord[]): void {
  let prev = head;
  for (const r of records) {
    if (r.seq !== prev.seq + 1 || r.prevHash !== prev.hash) {
      throw new AuditAppendError(
        `audit record seq ${r.seq} does not continue the chain at seq ${prev.seq} (expected seq ${prev.seq + 1} and prevHash ${prev.hash.slice(0, 12)}…): a bug in the caller, nothing was written`,
      );
    }
    if (!HASH.test(r.hash)) throw new AuditAppendError(`audit record seq ${r.seq} has no SHA-256 hex hash: nothing was written`);
    if (!actions.has(r.action)) throw new AuditAppendError(`audit record seq ${r.seq} has unknown action ${JSON.stringify(r.action)}: nothing was written`);
    prev = { seq: r.seq, hash: r.hash };
  }
}
