// The database rows both adapters read and write, and their mapping to the
// port's types: the column sets are the same in SQLite and PostgreSQL (pg
// returns bigint columns as strings, hence the Number()s).
import type { AuditAction, AuditRecord, ItemRow, ItemState, LoginAttempt, Role, SessionRow, UserRow } from './types.js';

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

export interface UserDbRow {
  name: string;
  display_name: string;
  role: string;
  email: string | null;
  password_hash: string;
  disabled: number | boolean;
  failed_logins: number | string;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
}

export const USER_COLUMNS = 'name, display_name, role, email, password_hash, disabled, failed_logins, locked_until, created_at, updated_at';

/** Inserts a user, or replaces every column but the name and creation time. `ph(i)` writes the i-th placeholder (1-based). */
export const userUpsertSql = (ph: (i: number) => string): string => {
  const cols = USER_COLUMNS.split(', ');
  const keep = new Set(['name', 'created_at']);
  return `INSERT INTO users (${USER_COLUMNS}) VALUES (${cols.map((_, i) => ph(i + 1)).join(', ')})
    ON CONFLICT (name) DO UPDATE SET ${cols.filter((c) => !keep.has(c)).map((c) => `${c} = excluded.${c}`).join(', ')}`;
};

export const toUser = (r: UserDbRow): UserRow => ({
  name: r.name,
  displayName: r.display_name,
  role: r.role as Role,
  email: r.email,
  passwordHash: r.password_hash,
  disabled: Boolean(r.disabled),
  failedLogins: Number(r.failed_logins),
  lockedUntil: r.locked_until,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** A user's values in USER_COLUMNS order (`disabled` as 0/1: SQLite has no booleans, and PostgreSQL's column is a smallint). */
export const userValues = (u: UserRow): unknown[] => [
  u.name,
  u.displayName,
  u.role,
  u.email,
  u.passwordHash,
  u.disabled ? 1 : 0,
  u.failedLogins,
  u.lockedUntil,
  u.createdAt,
  u.updatedAt,
];

export interface SessionDbRow {
  id: string;
  user_name: string;
  created_at: string;
  expires_at: string;
}

export const toSession = (r: SessionDbRow): SessionRow => ({ id: r.id, user: r.user_name, createdAt: r.created_at, expiresAt: r.expires_at });

/** The login-counter updates, `ph(i)` writing the i-th placeholder: success (name), failure (lockAt, lockUntil, name). */
export const loginAttemptSql = (ph: (i: number) => string): { succeeded: string; failed: string } => ({
  succeeded: `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ${ph(1)}`,
  failed: `UPDATE users SET failed_logins = failed_logins + 1,
    locked_until = CASE WHEN failed_logins + 1 >= ${ph(1)} THEN ${ph(2)} ELSE locked_until END WHERE name = ${ph(3)}`,
});

/** A login attempt's statement and values. */
export const loginAttemptValues = (a: LoginAttempt): { failed: boolean; values: unknown[] } =>
  a.succeeded ? { failed: false, values: [a.name] } : { failed: true, values: [a.lockAt, a.lockUntil, a.name] };
