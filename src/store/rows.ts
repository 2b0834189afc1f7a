// The database rows both adapters read and write, and their mapping to the
// port's types: the column sets are the same in SQLite and PostgreSQL (pg
// returns bigint columns as strings, hence the Number()s).
import type { AuditAction } from '../model/audit-actions.js';
import type { AuditRecord, ItemRow } from './types.js';
import type { ItemState } from '../model/item-states.js';
import type { LoginAddressRow, LoginAttempt, Role, SessionRow, SessionStage, UserRow, UserSource } from '../model/users.js';

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

export const ITEM_COLUMNS = 'id, gateway, received_at, envelope_from, recipients, size, findings, state, state_changed_at, state_changed_by, key_id, wrapped_key, sealed_meta';

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
  /** A JSON array of addresses. */
  aliases: string;
  password_hash: string;
  disabled: number | boolean;
  failed_logins: number | string;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
  source: string;
  totp_key_id: string | null;
  totp_sealed: Uint8Array | null;
  totp_enrolled_at: string | null;
  totp_last_step: number | string | null;
}

/** The columns a `users` effect writes: not the TOTP ones, which only the totp* effects change. */
const USER_WRITTEN = ['name', 'display_name', 'role', 'email', 'password_hash', 'disabled', 'failed_logins', 'locked_until', 'created_at', 'updated_at', 'source', 'aliases'];

export const USER_COLUMNS = `${USER_WRITTEN.join(', ')}, totp_key_id, totp_sealed, totp_enrolled_at, totp_last_step`;

/** Inserts a user, or replaces every column but the name, creation time and TOTP. `ph(i)` writes the i-th placeholder (1-based). */
export const userUpsertSql = (ph: (i: number) => string): string => {
  const keep = new Set(['name', 'created_at']);
  return `INSERT INTO users (${USER_WRITTEN.join(', ')}) VALUES (${USER_WRITTEN.map((_, i) => ph(i + 1)).join(', ')})
    ON CONFLICT (name) DO UPDATE SET ${USER_WRITTEN.filter((c) => !keep.has(c))
      .map((c) => `${c} = excluded.${c}`)
      .join(', ')}`;
};

const parseAliases = (json: string): string[] => {
  const v: unknown = JSON.parse(json || '[]');
  return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : [];
};

export const toUser = (r: UserDbRow): UserRow => ({
  name: r.name,
  displayName: r.display_name,
  role: r.role as Role,
  email: r.email,
  aliases: parseAliases(r.aliases),
  passwordHash: r.password_hash,
  disabled: Boolean(r.disabled),
  failedLogins: Number(r.failed_logins),
  lockedUntil: r.locked_until,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  source: r.source as UserSource,
  totp:
    r.totp_key_id !== null && r.totp_sealed !== null && r.totp_enrolled_at !== null
      ? { keyId: r.totp_key_id, sealed: Buffer.from(r.totp_sealed), enrolledAt: r.totp_enrolled_at, lastStep: r.totp_last_step === null ? null : Number(r.totp_last_step) }
      : null,
});

/** A user's values in the upsert's column order (`disabled` as 0/1: SQLite has no booleans, and PostgreSQL's column is a smallint). */
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
  u.source,
  JSON.stringify(u.aliases ?? []),
];

export interface SessionDbRow {
  id: string;
  user_name: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  stage: string;
  client: string;
  user_agent: string;
}

export const SESSION_COLUMNS = 'id, user_name, created_at, expires_at, last_seen_at, stage, client, user_agent';

const SESSION_NAMES = SESSION_COLUMNS.split(', ');
const USER_NAMES = USER_COLUMNS.split(', ');
/**
 * A session and its user in one statement (the console asks for both on
 * every request), the session's columns then the user's, read by position
 * (rowMode 'array' / raw()): the two tables share column names. `ph` is the
 * placeholder of the session id.
 */
export const sessionAndUserSql = (ph: string): string =>
  `SELECT ${SESSION_NAMES.map((c) => `s.${c}`).join(', ')}, ${USER_NAMES.map((c) => `u.${c}`).join(', ')} FROM console_sessions s JOIN users u ON u.name = s.user_name WHERE s.id = ${ph}`;
const byName = (names: readonly string[], values: readonly unknown[], from: number): Record<string, unknown> => Object.fromEntries(names.map((c, i) => [c, values[from + i]]));
export const toSessionAndUser = (values: readonly unknown[]): { session: SessionRow; user: UserRow } => ({
  session: toSession(byName(SESSION_NAMES, values, 0) as unknown as SessionDbRow),
  user: toUser(byName(USER_NAMES, values, SESSION_NAMES.length) as unknown as UserDbRow),
});

export const toSession = (r: SessionDbRow): SessionRow => ({
  id: r.id,
  user: r.user_name,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastSeenAt: r.last_seen_at,
  stage: r.stage as SessionStage,
  client: r.client,
  userAgent: r.user_agent,
});

export const sessionValues = (x: SessionRow): unknown[] => [x.id, x.user, x.createdAt, x.expiresAt, x.lastSeenAt, x.stage, x.client, x.userAgent];

export interface LoginAddressDbRow {
  user_name: string;
  address: string;
  failures: number | string;
  locked_until: string | null;
  last_failure_at: string | null;
  last_success_at: string | null;
}

export const toLoginAddress = (r: LoginAddressDbRow): LoginAddressRow => ({
  user: r.user_name,
  address: r.address,
  failures: Number(r.failures),
  lockedUntil: r.locked_until,
  lastFailureAt: r.last_failure_at,
  lastSuccessAt: r.last_success_at,
});

/** One statement and its values. */
export interface Sql {
  text: string;
  values: unknown[];
}

/**
 * The statements of one login outcome, in order, `ph(i)` writing the i-th
 * placeholder. Counted in place, so that concurrent attempts (and gateways)
 * all count.
 */
export function loginAttemptStatements(a: LoginAttempt, ph: (i: number) => string): Sql[] {
  if (a.succeeded) {
    return [
      {
        text: `INSERT INTO login_addresses (user_name, address, failures, locked_until, last_failure_at, last_success_at) VALUES (${ph(1)}, ${ph(2)}, 0, NULL, NULL, ${ph(3)})
          ON CONFLICT (user_name, address) DO UPDATE SET failures = 0, locked_until = NULL, last_success_at = excluded.last_success_at`,
        values: [a.name, a.address, a.at],
      },
      ...(a.account ? [{ text: `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ${ph(1)}`, values: [a.name] }] : []),
    ];
  }
  const out: Sql[] = [
    {
      text: `INSERT INTO login_addresses (user_name, address, failures, locked_until, last_failure_at, last_success_at)
          VALUES (${ph(1)}, ${ph(2)}, 1, CASE WHEN 1 >= ${ph(3)} THEN ${ph(4)} END, ${ph(5)}, NULL)
          ON CONFLICT (user_name, address) DO UPDATE SET failures = login_addresses.failures + 1,
            locked_until = CASE WHEN login_addresses.failures + 1 >= ${ph(3)} THEN ${ph(4)} ELSE login_addresses.locked_until END,
            last_failure_at = excluded.last_failure_at`,
      values: [a.name, a.address, a.lockAt, a.lockUntil, a.at],
    },
  ];
  if (a.account) {
    out.push({
      text: `UPDATE users SET failed_logins = failed_logins + 1,
        locked_until = CASE WHEN failed_logins + 1 >= ${ph(1)} THEN ${ph(2)} ELSE locked_until END WHERE name = ${ph(3)}`,
      values: [a.account.lockAt, a.lockUntil, a.name],
    });
  }
  return out;
}

/** The compare-and-set statements of the one-time credentials; each must change exactly one row. */
export const credentialSql = (ph: (i: number) => string) => ({
  enrol: `UPDATE users SET totp_key_id = ${ph(1)}, totp_sealed = ${ph(2)}, totp_enrolled_at = ${ph(3)}, totp_last_step = NULL WHERE name = ${ph(4)} AND totp_enrolled_at IS NULL`,
  deleteCodes: `DELETE FROM recovery_codes WHERE user_name = ${ph(1)}`,
  insertCode: `INSERT INTO recovery_codes (user_name, code_hash, used_at) VALUES (${ph(1)}, ${ph(2)}, NULL)`,
  reset: `UPDATE users SET totp_key_id = NULL, totp_sealed = NULL, totp_enrolled_at = NULL, totp_last_step = NULL WHERE name = ${ph(1)}`,
  step: `UPDATE users SET totp_last_step = ${ph(1)} WHERE name = ${ph(2)} AND totp_enrolled_at IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ${ph(1)})`,
  useCode: `UPDATE recovery_codes SET used_at = ${ph(1)} WHERE user_name = ${ph(2)} AND code_hash = ${ph(3)} AND used_at IS NULL`,
  clearAddressLocks: `UPDATE login_addresses SET failures = 0, locked_until = NULL WHERE user_name = ${ph(1)}`,
  reseal: `UPDATE users SET totp_key_id = ${ph(1)}, totp_sealed = ${ph(2)} WHERE name = ${ph(3)} AND totp_key_id = ${ph(4)}`,
});
