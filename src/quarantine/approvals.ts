// An administrator's approval of a release. With the policy's
// release.approvals at 1 it releases at once; at 2 the first approval is
// recorded (`release-approval-recorded`, the item stays where it was) and the
// item is released by the approval of another administrator. The same
// administrator never gives both. An item a sender rule marked (its sealed
// metadata's `approvals: 2`) needs two approvals whatever the policy says.
import type { Carrier } from '../delivery/types.js';
import type { ItemState } from '../model/item-states.js';
import type { Vault } from './vault.js';
import type { ReleaseResult, Workflow } from './workflow.js';

export type Approval =
  | { kind: 'released'; result: ReleaseResult & { ok: true }; approvers: string[] }
  | { kind: 'not-delivered'; result: ReleaseResult & { ok: false } }
  | { kind: 'first-recorded' }
  | { kind: 'already-approved-by-you' }
  | { kind: 'not-approvable'; state: ItemState };

const APPROVABLE: readonly ItemState[] = ['held', 'release-requested'];

export interface ApprovalDeps {
  vault: Pick<Vault, 'store' | 'audit' | 'open'>;
  workflow: Workflow;
  carrier: Carrier;
  approvals: 1 | 2;
}

/** The administrators who approved `id` so far (first approvals recorded), oldest first. */
export async function approvalsOf(vault: Pick<Vault, 'store'>, id: string): Promise<{ actor: string; time: string; comment: string }[]> {
  const records = await vault.store.searchAudit({ actions: ['release-approval-recorded'], objects: [id] });
  return records.map((r) => ({ actor: r.actor, time: r.time, comment: String((JSON.parse(r.details) as { comment?: unknown }).comment ?? '') }));
}

export async function approve(d: ApprovalDeps, id: string, actor: string, comment: string): Promise<Approval> {
  const row = await d.vault.store.getItem(id);
  if (!row || !APPROVABLE.includes(row.state)) return { kind: 'not-approvable', state: row?.state ?? 'expired' };
  // Metadata that cannot be opened throws: no release without knowing what it needs.
  const needed = d.approvals === 2 || (await d.vault.open(row)).meta.approvals === 2 ? 2 : 1;
  const earlier = needed === 2 ? await approvalsOf(d.vault, id) : [];
  if (earlier.some((a) => a.actor === actor)) return { kind: 'already-approved-by-you' };
  if (needed === 2 && earlier.length === 0) {
    await d.vault.audit.append({ actor, action: 'release-approval-recorded', object: id, details: { comment, approvalsNeeded: 2, state: row.state } });
    return { kind: 'first-recorded' };
  }
  const approvers = [...new Set(earlier.map((a) => a.actor)), actor];
  const result = await d.workflow.release(id, actor, d.carrier, { comment, approvers });
  return result.ok ? { kind: 'released', result, approvers } : { kind: 'not-delivered', result };
}
