// Start and policy records: every start of the gateway is audited with a
// fingerprint of the policy it runs, and a policy that differs from the one
// the last start ran is audited as a change.
import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/log.js';
import type { Policy } from '../core/policy.js';
import type { Store } from '../store/types.js';

/** SHA-256 of the effective policy (defaults filled in), so a reformatted file is no change. */
export const policyFingerprint = (policy: Policy): string => createHash('sha256').update(JSON.stringify(policy)).digest('hex');

async function lastPolicy(store: Store, actor: string): Promise<string | null> {
  const records = await store.searchAudit({ actions: ['gateway-started'], actor });
  const last = records.at(-1);
  if (!last) return null;
  const fp = (JSON.parse(last.details) as { policy?: unknown }).policy;
  return typeof fp === 'string' ? fp : null;
}

export async function recordStart(audit: AuditLog, store: Store, actor: string, policy: string): Promise<void> {
  const before = await lastPolicy(store, actor);
  const entries = [{ actor, action: 'gateway-started' as const, object: actor, details: { policy } }];
  if (before !== null && before !== policy) {
    await audit.appendMany([{ actor, action: 'policy-changed', object: actor, details: { before, after: policy } }, ...entries]);
  } else {
    await audit.appendMany(entries);
  }
}
