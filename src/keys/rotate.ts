// Master key rotation. The data keys of all items are re-wrapped under a new
// master key, in batches; the sealed blobs are not touched. While it runs the
// ring holds both keys, so a crash at any point leaves every item readable,
// and running it again finishes the job.
//
// Key files: the new key is written durably as master.key.next (which makes
// every process that refreshes its ring wrap new items under it), every item
// is re-wrapped, then master.key.next is renamed over master.key, retiring the
// old key, and a last pass re-wraps anything a process wrote meanwhile.
// Environment: the new key comes from MUGAIKA_MASTER_KEY_NEW; the operator
// switches MUGAIKA_MASTER_KEY to it afterwards.
//
// The console users' TOTP secrets are sealed under the master key too
// (src/users/totp.ts): they are re-sealed in the same passes, before the old
// key is retired.
import { promises as fs } from 'node:fs';
import type { AuditEntry, Store } from '../store/types.js';
import { fsyncDir } from '../durable/files.js';
import { resealTotpSecret } from '../users/totp.js';
import { unwrapDataKey, wrapDataKey } from './data-key.js';
import { ENV_KEY, ENV_NEXT_KEY, openKeyRing, type KeyRing } from './key-ring.js';
import { createKeyFileOnce, KeyError, type KeyId, type MasterKey } from './master-key.js';

export type RewrapStore = Pick<Store, 'itemsNotUnder' | 'rewrapKeys'> & Partial<Pick<Store, 'totpNotUnder' | 'resealTotp'>>;

/** Re-wraps up to `limit` items whose data key is not under `target`; returns how many it did (0: none left). */
export async function rewrapBatch(store: RewrapStore, ring: KeyRing, target: MasterKey, limit: number): Promise<number> {
  const rows = await store.itemsNotUnder(target.id, limit);
  if (rows.length === 0) return 0;
  const rewrapped = rows.map((row) => ({ id: row.id, keyId: target.id as string, wrappedKey: wrapDataKey(target, row.id, unwrapDataKey(ring, row.id, row.keyId, row.wrappedKey)) }));
  await store.rewrapKeys(rewrapped);
  return rewrapped.length;
}

/** Re-seals every TOTP secret not under `target`; returns how many. */
async function resealAllTotp(store: RewrapStore, ring: KeyRing, target: MasterKey, batchSize: number): Promise<number> {
  if (!store.totpNotUnder || !store.resealTotp) return 0;
  let total = 0;
  for (;;) {
    const rows = await store.totpNotUnder(target.id, batchSize);
    if (rows.length === 0) return total;
    // Each only if still under the key it was read under: one changed meanwhile is read again.
    total += await store.resealTotp(rows.map((r) => ({ name: r.name, fromKeyId: r.keyId, keyId: target.id, sealed: resealTotpSecret(ring, r.name, r, target) })));
  }
}

async function rewrapAll(store: RewrapStore, ring: KeyRing, target: MasterKey, batchSize: number, onBatch?: (done: number) => void): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await rewrapBatch(store, ring, target, batchSize);
    if (n === 0) return total;
    total += n;
    onBatch?.(total);
  }
}

export interface RotationOptions {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  store: RewrapStore;
  audit: { append(entry: AuditEntry): Promise<unknown> };
  actor: string;
  batchSize?: number;
  onProgress?: (rewrapped: number) => void;
}

export interface RotationReport {
  source: 'file' | 'env';
  from: KeyId;
  to: KeyId;
  rewrapped: number;
  /** A rotation interrupted earlier was finished rather than a new one started. */
  resumed: boolean;
  /** Console users' TOTP secrets re-sealed. */
  secondFactors: number;
}

export async function rotateMasterKey(o: RotationOptions): Promise<RotationReport> {
  const batchSize = o.batchSize ?? 500;
  const ring = await openKeyRing(o.dataDir, o.env);
  let report: RotationReport;
  if (ring.source.kind === 'env') {
    const from = ring.previous();
    if (!from) {
      throw new KeyError(
        `鍵を更新するには新しい鍵を ${ENV_NEXT_KEY} に設定してください(例: openssl rand -base64 32)。/ ` +
          `set ${ENV_NEXT_KEY} to the new key (e.g. \`openssl rand -base64 32\`), different from ${ENV_KEY}, then run the rotation`,
      );
    }
    const to = ring.wrapping();
    const rewrapped = await rewrapAll(o.store, ring, to, batchSize, o.onProgress);
    const secondFactors = await resealAllTotp(o.store, ring, to, batchSize);
    report = { source: 'env', from: from.id, to: to.id, rewrapped, resumed: false, secondFactors };
  } else {
    const files = ring.source.files;
    const resumed = ring.previous() !== null;
    if (!resumed) {
      await createKeyFileOnce(files.next);
      await ring.refresh();
    }
    const from = ring.previous();
    if (!from) throw new KeyError(`${files.next} が消えました。もう一度実行してください。/ ${files.next} disappeared during the rotation: run it again`);
    const to = ring.wrapping();
    let rewrapped = await rewrapAll(o.store, ring, to, batchSize, o.onProgress);
    let secondFactors = await resealAllTotp(o.store, ring, to, batchSize);
    await fs.rename(files.next, files.current);
    await fsyncDir(files.dir);
    // Processes that had not yet seen master.key.next may have wrapped a few
    // items (or sealed a TOTP secret) under the old key; this ring still holds it.
    rewrapped += await rewrapAll(o.store, ring, to, batchSize, o.onProgress);
    secondFactors += await resealAllTotp(o.store, ring, to, batchSize);
    report = { source: 'file', from: from.id, to: to.id, rewrapped, resumed, secondFactors };
  }
  await o.audit.append({
    actor: o.actor,
    action: 'key-rotated',
    object: null,
    details: {
      fromKeyId: report.from,
      toKeyId: report.to,
      count: report.rewrapped,
      source: report.source,
      resumed: report.resumed,
      ...(report.secondFactors > 0 ? { secondFactors: report.secondFactors } : {}),
    },
  });
  return report;
}
