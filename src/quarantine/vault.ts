// The quarantine vault: originals kept encrypted at rest, searchable by what
// the database holds in the clear (envelope sender, recipients, time, size,
// finding codes, state) and readable only with the master key.
//
//   put: fresh data key -> seal original and private metadata with it -> wrap
//        it under the master key -> blob written durably -> row inserted
//        ('held') and `quarantined` audited in one commit. A put that resolved
//        is complete. It is prepare (everything sealed, nothing written) then
//        commit (written): a sanitizer thread prepares, the main thread
//        commits once the thread's answer is final, so a thread killed at its
//        budget, or a result replaced by the blocked path, leaves no item.
//   get: row -> unwrap data key -> open blob and metadata whole, or throw
//        QuarantineReadError; never partial data.
//
// Blobs are files under <data dir>/quarantine, or in the database when the
// store keeps them (PostgreSQL shared by several gateways).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QuarantineId, QuarantineMeta, QuarantineStore } from '../core/ports.js';
import { DataKeyError, newDataKey, unwrapDataKey, wrapDataKey, type DataKey } from '../keys/data-key.js';
import { openKeyRing, type KeyRing } from '../keys/key-ring.js';
import type { AuditEffects, AuditEntry, BlobStore, ItemFilter, ItemRow, Store } from '../store/types.js';
import { QuarantineReadError } from './errors.js';
import { openFileBlobStore } from './file-blobs.js';
import { isQuarantineId, newQuarantineId } from './ids.js';
import { openBlob, openMeta, sealBlob, sealMeta } from './sealed-item.js';

export interface AuditAppender {
  /** `effects` are committed in the same transaction as the record. */
  append(entry: AuditEntry, effects?: AuditEffects): Promise<unknown>;
}

/** An item as listed: what the database holds in the clear. */
export type ItemSummary = Omit<ItemRow, 'wrappedKey' | 'sealedMeta'>;

export interface ItemDetails {
  item: ItemSummary;
  meta: QuarantineMeta;
}

export interface ItemWithOriginal extends ItemDetails {
  raw: Buffer;
}

/**
 * An item sealed and ready to be written: what `prepare` makes (in a
 * sanitizer thread) and `commit` writes (in the main thread). Plain data, so
 * it crosses threads; it holds the item's data key, so it never leaves the
 * process.
 */
export interface PreparedItem {
  id: QuarantineId;
  row: ItemRow;
  /** The original, sealed under the data key. */
  blob: Uint8Array;
  dataKey: Uint8Array;
  /** The `quarantined` record's details. */
  details: Record<string, unknown>;
}

export interface Vault extends QuarantineStore {
  /** The original and its metadata sealed under a fresh id and data key; nothing written. */
  prepare(original: Uint8Array, meta: QuarantineMeta): Promise<PreparedItem>;
  /** Writes a prepared item: the blob, then the row with its `quarantined` record in one commit. */
  commit(item: PreparedItem): Promise<QuarantineId>;
  /** Metadata, decrypted (also for purged items). */
  details(id: string): Promise<ItemDetails>;
  /** Metadata of a row the caller has already read (a list's): no second read of the row. */
  open(row: ItemRow): Promise<ItemDetails>;
  /** Metadata and the original, decrypted and authenticated whole. */
  get(id: string): Promise<ItemWithOriginal>;
  list(filter: ItemFilter): Promise<ItemSummary[]>;
  /** The metadata of a row already read (the subject index reads rows in batches). */
  metaOf(row: ItemRow): Promise<QuarantineMeta>;
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly ring: KeyRing;
  readonly audit: AuditAppender;
}

export interface VaultOptions {
  dataDir: string;
  store: Store;
  audit: AuditAppender;
  /** The master keys; by default from MUGAIKA_MASTER_KEY or <dataDir>/keys. */
  ring?: KeyRing;
  env?: NodeJS.ProcessEnv;
  /** Recorded on each item and as the actor of `quarantined`; default the host name. */
  gateway?: string;
  now?: () => Date;
  /** At the gateway's start: remove what writes a crash cut short (file-blobs.ts). */
  recover?: boolean;
}

export const summaryOf = ({ wrappedKey: _w, sealedMeta: _s, ...summary }: ItemRow): ItemSummary => summary;

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

export async function openVault(o: VaultOptions): Promise<Vault> {
  await fs.mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const ring = o.ring ?? (await openKeyRing(o.dataDir, o.env ?? process.env));
  const blobs = o.store.blobs ?? (await openFileBlobStore(path.join(o.dataDir, 'quarantine'), { recover: o.recover }));
  const gateway = o.gateway ?? os.hostname();
  const now = o.now ?? (() => new Date());
  const { store, audit } = o;

  async function rowOf(id: string): Promise<ItemRow> {
    if (!isQuarantineId(id))
      throw new QuarantineReadError(`隔離IDではありません: ${JSON.stringify(id.slice(0, 40))} / not a quarantine id: ${JSON.stringify(id.slice(0, 40))} (expected Q-YYYYMMDD-XXXXXXXXXX)`);
    const row = await store.getItem(id);
    if (!row) throw new QuarantineReadError(`隔離メッセージ ${id} はありません。/ no quarantined message ${id}`);
    return row;
  }

  async function dataKeyOf(row: ItemRow): Promise<DataKey> {
    // A key this process does not know yet: another process may have rotated.
    if (!ring.find(row.keyId)) await ring.refresh();
    try {
      return unwrapDataKey(ring, row.id, row.keyId, row.wrappedKey);
    } catch (err) {
      if (err instanceof DataKeyError) throw new QuarantineReadError(err.message, { cause: err });
      throw err;
    }
  }

  async function prepare(original: Uint8Array, meta: QuarantineMeta): Promise<PreparedItem> {
    await ring.refresh();
    const master = ring.wrapping();
    const id = newQuarantineId(meta.receivedAt);
    const dataKey = newDataKey();
    const recipients = [...(meta.envelopeTo.length > 0 ? meta.envelopeTo : meta.to)];
    const findings = [...new Set(meta.findings.map((f) => f.code))];
    const row: ItemRow = {
      id,
      gateway,
      receivedAt: meta.receivedAt.toISOString(),
      envelopeFrom: meta.envelopeFrom,
      recipients,
      size: original.length,
      findings,
      state: 'held',
      stateChangedAt: now().toISOString(),
      stateChangedBy: gateway,
      keyId: master.id,
      wrappedKey: wrapDataKey(master, id, dataKey),
      sealedMeta: sealMeta(dataKey, id, meta),
    };
    return { id, row, blob: sealBlob(dataKey, id, original), dataKey, details: { from: meta.envelopeFrom, to: recipients, findings, size: original.length } };
  }

  async function commit(p: PreparedItem): Promise<QuarantineId> {
    // Buffers that crossed from a thread arrive as plain Uint8Arrays.
    const { id } = p;
    const row: ItemRow = { ...p.row, wrappedKey: asBuffer(p.row.wrappedKey), sealedMeta: asBuffer(p.row.sealedMeta) };
    const dataKey = asBuffer(p.dataKey) as DataKey;
    await blobs.put(id, asBuffer(p.blob));
    try {
      // The row and the record of its quarantine are committed together (one commit).
      await audit.append({ actor: gateway, action: 'quarantined', object: id, details: p.details }, { items: [row] });
    } catch (err) {
      await blobs.delete(id).catch(() => undefined);
      throw err;
    }
    // A key rotation may have started, and even finished, between our
    // refresh and our commit: its passes could not see this item yet, and
    // the key it is wrapped under may already be gone from disk. We still
    // hold the data key, so we wrap it under the key in use now.
    await ring.refresh();
    const latest = ring.wrapping();
    if (latest.id !== row.keyId) await store.rewrapKeys([{ id, keyId: latest.id, wrappedKey: wrapDataKey(latest, id, dataKey) }]);
    return id;
  }

  const detailsOf = (row: ItemRow, dataKey: DataKey): ItemDetails => ({
    item: summaryOf(row),
    meta: { receivedAt: new Date(row.receivedAt), ...openMeta(dataKey, row.id, row.sealedMeta) },
  });

  return {
    store,
    blobs,
    ring,
    audit,
    async put(original: Uint8Array, meta: QuarantineMeta): Promise<QuarantineId> {
      return commit(await prepare(original, meta));
    },
    prepare,
    commit,
    async details(id) {
      const row = await rowOf(id);
      return detailsOf(row, await dataKeyOf(row));
    },
    async open(row) {
      return detailsOf(row, await dataKeyOf(row));
    },
    async get(id) {
      const row = await rowOf(id);
      if (row.state === 'expired') {
        throw new QuarantineReadError(`${id} の原本は保存期間を過ぎて削除されました(${row.stateChangedAt})。/ the original of ${id} was purged after its retention period (${row.stateChangedAt})`);
      }
      const dataKey = await dataKeyOf(row);
      const details = detailsOf(row, dataKey);
      const blob = await blobs.get(id);
      if (!blob)
        throw new QuarantineReadError(
          `${id} の原本がありません(ファイルが削除されています)。バックアップから戻してください。/ the original of ${id} is missing from the blob store: restore it from backup`,
        );
      return { ...details, raw: openBlob(dataKey, id, blob) };
    },
    async metaOf(row) {
      return detailsOf(row, await dataKeyOf(row)).meta;
    },
    async list(filter) {
      return (await store.listItems(filter)).map(summaryOf);
    },
  };
}
