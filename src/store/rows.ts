// The database rows both adapters read and write, and their mapping to the
// port's types: the column sets are the same in SQLite and PostgreSQL (pg
// returns bigint columns as strings, hence the Number()s).
import type { AuditAction, AuditRecord, ItemRow, ItemState } from './types.js';

export const AUDIT_COLUMNS = 'seq, time, actor, action, object, details, prev_hash, hash';

export interface AuditRow {
  seq: number | string;
  time: string;
  actor: string;
  action: string;
  object: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface ItemDbRow {
  id: string;
  gateway: string;
  received_at: string;
  envelope_from: string | null;
  recipients: string;
  size: number | string;
  findings: string;
  state: string;
  state_changed_at: string;
  state_changed_by: string;
  key_id: string;
  wrapped_key: Uint8Array;
  sealed_meta: Uint8Array;
}

export const toRecord = (r: AuditRow): AuditRecord => ({
  seq: Number(r.seq),
  time: r.time,
  actor: r.actor,
  action: r.action as AuditAction,
  object: r.object,
  details: r.details,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export const toItem = (r: ItemDbRow): ItemRow => ({
  id: r.id,
  gateway: r.gateway,
  receivedAt: r.received_at,
  envelopeFrom: r.envelope_from,
  recipients: JSON.parse(r.recipients) as string[],
  size: Number(r.size),
  findings: JSON.parse(r.findings) as string[],
  state: r.state as ItemState,
  stateChangedAt: r.state_changed_at,
  stateChangedBy: r.state_changed_by,
  keyId: r.key_id,
  wrappedKey: Buffer.from(r.wrapped_key),
  sealedMeta: Buffer.from(r.sealed_meta),
});

export const ITEM_COLUMNS =
  'id, gateway, received_at, envelope_from, recipients, size, findings, state, state_changed_at, state_changed_by, key_id, wrapped_key, sealed_meta';

/** An item's values in ITEM_COLUMNS order. */
export const itemValues = (row: ItemRow): unknown[] => [
  row.id,
  row.gateway,
  row.receivedAt,
  row.envelopeFrom,
  JSON.stringify(row.recipients),
  row.size,
  JSON.stringify(row.findings),
  row.state,
  row.stateChangedAt,
  row.stateChangedBy,
  row.keyId,
  Buffer.from(row.wrappedKey),
  Buffer.from(row.sealedMeta),
];
