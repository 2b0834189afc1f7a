// The SQLite adapter's console users, sessions and sign-in records: the
// statements that apply an append's user effects (inside its transaction) and
// the reads of the Store port that concern users (sqlite.ts spreads them in).
import type Database from 'better-sqlite3';
import {
  credentialSql,
  loginAttemptStatements,
  SESSION_COLUMNS,
  sessionAndUserSql,
  toSessionAndUser,
  sessionValues,
  toLoginAddress,
  toSession,
  toUser,
  USER_COLUMNS,
  userUpsertSql,
  userValues,
  type LoginAddressDbRow,
  type SessionDbRow,
  type Sql,
  type UserDbRow,
} from './rows.js';
import { CredentialConflictError, type AuditEffects, type Store } from './types.js';

type UserReads = Pick<
  Store,
  | 'getUser'
  | 'listUsers'
  | 'getSession'
  | 'getSessionAndUser'
  | 'listSessions'
  | 'touchSession'
  | 'deleteExpiredSessions'
  | 'getLoginAddress'
  | 'deleteStaleLoginAddresses'
  | 'recoveryCodesLeft'
  | 'totpNotUnder'
  | 'resealTotp'
>;

export function sqliteUsers(db: Database.Database): { applyEffects(effects: AuditEffects): void; reads: UserReads } {
  const upsertUserStmt = db.prepare(userUpsertSql(() => '?'));
  const getUserStmt = db.prepare<[string], UserDbRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`);
  const listUsersStmt = db.prepare<[], UserDbRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`);
  const insertSessionStmt = db.prepare(`INSERT INTO console_sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const deleteSessionStmt = db.prepare('DELETE FROM console_sessions WHERE id = ?');
  const deleteUserSessionsStmt = db.prepare('DELETE FROM console_sessions WHERE user_name = ? AND id <> ?');
  const getSessionStmt = db.prepare<[string], SessionDbRow>(`SELECT ${SESSION_COLUMNS} FROM console_sessions WHERE id = ?`);
  const getSessionAndUserStmt = db.prepare<[string], unknown[]>(sessionAndUserSql('?')).raw(true);
  const listSessionsStmt = db.prepare<[], SessionDbRow>(`SELECT ${SESSION_COLUMNS} FROM console_sessions ORDER BY created_at, id`);
  const listUserSessionsStmt = db.prepare<[string], SessionDbRow>(`SELECT ${SESSION_COLUMNS} FROM console_sessions WHERE user_name = ? ORDER BY created_at, id`);
  const touchSessionStmt = db.prepare('UPDATE console_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?');
  const deleteExpiredStmt = db.prepare('DELETE FROM console_sessions WHERE expires_at < ? OR last_seen_at < ?');
  const getLoginAddressStmt = db.prepare<[string, string], LoginAddressDbRow>('SELECT * FROM login_addresses WHERE user_name = ? AND address = ?');
  const deleteStaleAddressesStmt = db.prepare(`DELETE FROM login_addresses WHERE coalesce(locked_until, '') < @p1 AND coalesce(last_failure_at, '') < @p1 AND coalesce(last_success_at, '') < @p1`);
  const codesLeftStmt = db.prepare<[string], number>('SELECT count(*) FROM recovery_codes WHERE user_name = ? AND used_at IS NULL').pluck();
  const totpNotUnderStmt = db.prepare<[string, number], { name: string; totp_key_id: string; totp_sealed: Buffer }>(
    'SELECT name, totp_key_id, totp_sealed FROM users WHERE totp_key_id IS NOT NULL AND totp_key_id <> ? ORDER BY name LIMIT ?',
  );
  const cred = credentialSql((i) => `@p${i}`);
  const statements = new Map<string, Database.Statement>();
  /** Runs one statement written with @p1, @p2, ... placeholders; returns the rows it changed. */
  const runNamed = (q: Sql): number => {
    let stmt = statements.get(q.text);
    if (!stmt) statements.set(q.text, (stmt = db.prepare(q.text)));
    return stmt.run(Object.fromEntries(q.values.map((v, i) => [`p${i + 1}`, v]))).changes;
  };
  const mustChangeOne = (q: Sql, user: string, what: CredentialConflictError['what']): void => {
    if (runNamed(q) !== 1) throw new CredentialConflictError(user, what);
  };
  const reseal = db.transaction((rows: readonly { name: string; fromKeyId: string; keyId: string; sealed: Buffer }[]): number => {
    let n = 0;
    for (const r of rows) n += runNamed({ text: cred.reseal, values: [r.keyId, Buffer.from(r.sealed), r.name, r.fromKeyId] });
    return n;
  });

  return {
    /** In this order: users, credentials (compare-and-set), counts, session ends, then session openings. */
    applyEffects(effects) {
      for (const u of effects.users ?? []) upsertUserStmt.run(...userValues(u));
      for (const e of effects.totpEnrolled ?? []) {
        mustChangeOne({ text: cred.enrol, values: [e.keyId, Buffer.from(e.sealed), e.at, e.name] }, e.name, 'totp-enrolled');
        runNamed({ text: cred.deleteCodes, values: [e.name] });
        for (const h of e.recoveryCodeHashes) runNamed({ text: cred.insertCode, values: [e.name, h] });
      }
      for (const name of effects.totpReset ?? []) {
        runNamed({ text: cred.reset, values: [name] });
        runNamed({ text: cred.deleteCodes, values: [name] });
      }
      for (const t of effects.totpStepsUsed ?? []) mustChangeOne({ text: cred.step, values: [t.step, t.name] }, t.name, 'totp-step');
      for (const c of effects.recoveryCodesUsed ?? []) mustChangeOne({ text: cred.useCode, values: [c.at, c.name, c.codeHash] }, c.name, 'recovery-code');
      for (const a of effects.loginAttempts ?? []) for (const q of loginAttemptStatements(a, (i) => `@p${i}`)) runNamed(q);
      for (const name of effects.addressLocksCleared ?? []) runNamed({ text: cred.clearAddressLocks, values: [name] });
      for (const id of effects.sessionsEnded ?? []) deleteSessionStmt.run(id);
      for (const u of effects.userSessionsEnded ?? []) deleteUserSessionsStmt.run(u.user, u.except ?? '');
      for (const x of effects.sessionsOpened ?? []) insertSessionStmt.run(...sessionValues(x));
    },
    reads: {
      async getUser(name) {
        const row = getUserStmt.get(name);
        return row ? toUser(row) : null;
      },
      async listUsers() {
        return listUsersStmt.all().map(toUser);
      },
      async getSession(id) {
        const row = getSessionStmt.get(id);
        return row ? toSession(row) : null;
      },
      async getSessionAndUser(id) {
        const values = getSessionAndUserStmt.get(id);
        return values ? toSessionAndUser(values) : null;
      },
      async listSessions(user) {
        return (user === undefined ? listSessionsStmt.all() : listUserSessionsStmt.all(user)).map(toSession);
      },
      async touchSession(id, at) {
        const t = at.toISOString();
        touchSessionStmt.run(t, id, t);
      },
      async deleteExpiredSessions(now, idleBefore) {
        return deleteExpiredStmt.run(now.toISOString(), idleBefore?.toISOString() ?? '').changes;
      },
      async getLoginAddress(user, address) {
        const row = getLoginAddressStmt.get(user, address);
        return row ? toLoginAddress(row) : null;
      },
      async deleteStaleLoginAddresses(before) {
        return deleteStaleAddressesStmt.run({ p1: before.toISOString() }).changes;
      },
      async recoveryCodesLeft(user) {
        return Number(codesLeftStmt.get(user) ?? 0);
      },
      async totpNotUnder(keyId, limit) {
        return totpNotUnderStmt.all(keyId, limit).map((r) => ({ name: r.name, keyId: r.totp_key_id, sealed: Buffer.from(r.totp_sealed) }));
      },
      async resealTotp(rows) {
        return reseal.immediate(rows);
      },
    },
  };
}
