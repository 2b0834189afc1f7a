// The release workflow. Every step is a compare-and-set on the item's state,
// committed in one transaction with its audit record (which names the actor):
//
//   held ──request──▶ release-requested ──release──▶ released
//     │                     │
//     ├──release──▶ released└──reject──▶ rejected
//     └──reject───▶ rejected
//   any state ──purge (after the retention period)──▶ expired (blob deleted, row kept)
//
// A release re-delivers the original, marked as one (release-header.ts: the
// X-Mugaika-Released-By header, the policy's release.subjectPrefix in front of
// the Subject, a line in front of its text saying who released it and when),
// through a Carrier; the item becomes 'released' only once the carrier
// accepted it for every recipient. A failed delivery is audited and leaves
// the state as it was.
import type { AttemptResult, Carrier, RecipientFailure } from '../delivery/types.js';
import type { ItemState } from '../model/item-states.js';
import { QuarantineReadError, QuarantineWorkflowError } from './errors.js';
import { defaultPolicy, type Policy } from '../core/policy.js';
import { markReleased } from './release-header.js';
import type { Vault } from './vault.js';

const STEPS = {
  request: { from: ['held'], to: 'release-requested', action: 'release-requested', ja: '解放申請' },
  release: { from: ['held', 'release-requested'], to: 'released', action: 'release-approved', ja: '解放' },
  reject: { from: ['held', 'release-requested'], to: 'rejected', action: 'release-rejected', ja: '却下' },
} as const satisfies Record<string, { from: readonly ItemState[]; to: ItemState; action: string; ja: string }>;
type Step = keyof typeof STEPS;

const PURGEABLE: readonly ItemState[] = ['held', 'release-requested', 'released', 'rejected'];

export type ReleaseResult = { ok: true; id: string; accepted: string[]; carrier: string } | { ok: false; id: string; accepted: string[]; failed: RecipientFailure[]; carrier: string };

export interface PurgeResult {
  count: number;
  ids: string[];
  cutoff: Date;
}

export interface Workflow {
  request(id: string, actor: string, reason?: string): Promise<void>;
  reject(id: string, actor: string, reason?: string): Promise<void>;
  /** Re-delivers the original; resolves { ok: false } (audited, state unchanged) when the carrier did not accept it. */
  release(id: string, actor: string, carrier: Carrier, details?: Record<string, unknown>): Promise<ReleaseResult>;
  /** Expires every item received more than `retentionDays` ago: deletes its blob, keeps its row. */
  purge(retentionDays: number, actor: string): Promise<PurgeResult>;
}

const PURGE_BATCH = 500;
const DAY_MS = 86_400_000;

/** By name: through the gateway's audit thread the error arrives as another class with this name. */
const isStateConflict = (err: unknown): boolean => err instanceof Error && err.name === 'StateConflictError';

/** What the policy says about marking a released original. */
export type ReleaseMarking = Pick<Policy['release'], 'subjectPrefix'> & Pick<Policy, 'language'>;

export const releaseMarkingOf = (policy: Policy): ReleaseMarking => ({ subjectPrefix: policy.release.subjectPrefix, language: policy.language });

/** The item's state if it allows `step`; otherwise an error that says which states do (QuarantineReadError when there is no such item). */
export async function stateAllowing(store: Pick<Vault['store'], 'getItem'>, id: string, step: Step): Promise<ItemState> {
  const row = await store.getItem(id);
  if (!row) throw new QuarantineReadError(`隔離メッセージ ${id} はありません。/ no quarantined message ${id}`);
  const { from, ja } = STEPS[step];
  if (!(from as readonly ItemState[]).includes(row.state)) {
    throw new QuarantineWorkflowError(
      `${id} は状態が ${row.state} のため${ja}できません(${from.join(' / ')} のときのみ)。/ cannot ${step} ${id}: it is ${row.state} (allowed from ${from.join(', ')})`,
    );
  }
  return row.state;
}

export function createWorkflow(vault: Vault, now: () => Date = () => new Date(), marking: ReleaseMarking = releaseMarkingOf(defaultPolicy)): Workflow {
  const { store, audit, blobs } = vault;
  const stateAllows = (id: string, step: Step): Promise<ItemState> => stateAllowing(store, id, step);

  async function transition(id: string, step: Step, actor: string, details: Record<string, unknown>): Promise<void> {
    const was = await stateAllows(id, step);
    const { from, to, action } = STEPS[step];
    try {
      // The step and its record: one transaction.
      await audit.append({ actor, action, object: id, details: { ...details, fromState: was, toState: to } }, { stateChanges: [{ id, from, to, at: now(), by: actor }] });
    } catch (err) {
      if (!isStateConflict(err)) throw err;
      // Someone else moved it between our read and our write: report what it is now.
      await stateAllows(id, step);
      throw new QuarantineWorkflowError(`${id} の状態が同時に変更されました。もう一度確認してください。/ the state of ${id} changed meanwhile: check it and try again`);
    }
  }

  const reasonOf = (reason?: string): Record<string, unknown> => (reason ? { reason } : {});

  return {
    request: (id, actor, reason) => transition(id, 'request', actor, reasonOf(reason)),
    reject: (id, actor, reason) => transition(id, 'reject', actor, reasonOf(reason)),

    async release(id, actor, carrier, extra = {}) {
      const was = await stateAllows(id, 'release');
      let item;
      try {
        item = await vault.get(id);
      } catch (err) {
        await audit.append({ actor, action: 'release-failed', object: id, details: { carrier: carrier.name, reason: err instanceof Error ? err.message : String(err) } });
        throw err;
      }
      const { meta } = item;
      const to = [...(meta.envelopeTo.length > 0 ? meta.envelopeTo : meta.to)];
      if (to.length === 0) {
        await audit.append({ actor, action: 'release-failed', object: id, details: { carrier: carrier.name, reason: 'no recipients' } });
        throw new QuarantineWorkflowError(`${id} には宛先がありません。/ ${id} has no recipients to release it to`);
      }
      await audit.append({ actor, action: 'release-approved', object: id, details: { ...extra, from: meta.envelopeFrom, to, fromState: was } });
      const marked = markReleased(item.raw, { actor, at: now(), subjectPrefix: marking.subjectPrefix, language: marking.language });
      const result: AttemptResult = await carrier.send({ mailFrom: meta.envelopeFrom, rcptTo: to }, marked);
      const failed = [...result.temporary, ...result.permanent];
      if (failed.length > 0) {
        await audit.append({ actor, action: 'release-failed', object: id, details: { carrier: carrier.name, to, accepted: result.accepted, failed } });
        return { ok: false, id, accepted: result.accepted, failed, carrier: carrier.name };
      }
      const delivered = { actor, action: 'release-delivered', object: id } as const;
      let changed = true;
      try {
        await audit.append(
          { ...delivered, details: { carrier: carrier.name, to: result.accepted, stateChanged: true } },
          { stateChanges: [{ id, from: STEPS.release.from, to: 'released', at: now(), by: actor }] },
        );
      } catch (err) {
        if (!isStateConflict(err)) throw err;
        changed = false;
        await audit.append({ ...delivered, details: { carrier: carrier.name, to: result.accepted, stateChanged: false } });
      }
      if (!changed) {
        throw new QuarantineWorkflowError(
          `${id} は配送されましたが、その間に状態が変更されたため released にできませんでした。監査ログを確認してください。/ ${id} was delivered, but its state changed meanwhile so it was not marked released: check the audit log`,
        );
      }
      return { ok: true, id, accepted: result.accepted, carrier: carrier.name };
    },

    async purge(retentionDays, actor) {
      const cutoff = new Date(now().getTime() - retentionDays * DAY_MS);
      const done: string[] = [];
      const seen = new Set<string>();
      for (;;) {
        const rows = (await store.listItems({ states: PURGEABLE, receivedBefore: cutoff, limit: PURGE_BATCH + seen.size })).filter((r) => !seen.has(r.id));
        if (rows.length === 0) break;
        // Order for a crash at any point: blobs go first (a row left purgeable
        // is finished by the next purge), then the audit record is durable,
        // then the rows turn 'expired'. A crash before the last step repeats
        // the audit record on the next purge; it never leaves an unaudited purge.
        const batch = rows.map((r) => r.id);
        for (const id of batch) {
          seen.add(id);
          await blobs.delete(id);
        }
        await audit.append({ actor, action: 'purged', object: null, details: { count: batch.length, ids: batch, retentionDays, cutoff: cutoff.toISOString() } });
        for (const id of batch) await store.changeState({ id, from: PURGEABLE, to: 'expired', at: now(), by: actor });
        done.push(...batch);
      }
      if (done.length === 0) await audit.append({ actor, action: 'purged', object: null, details: { count: 0, ids: [], retentionDays, cutoff: cutoff.toISOString() } });
      return { count: done.length, ids: done, cutoff };
    },
  };
}
