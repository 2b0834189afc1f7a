// The PostgreSQL adapter's console users, sessions and sign-in records: the
// statements that apply an append's user effects (inside its transaction) and
// the reads of the Store port that concern users (postgres.ts spreads them in).
import type pg from 'pg';
import {
  credentialSql,
  loginAttemptStatements,
  SESSION_COLUMNS,
  sessionAndUserSql,
  sessionValues,
  toSessionAndUser,
  toLoginAddress,
  toSession,
  toUser,
  USER_COLUMNS,
  userUpsertSql,
  userValues,
  type LoginAddressDbRow,
  type SessionDbRow,
  type UserDbRow,
} from './rows.js';
import { CredentialConflictError, type AuditEffects, type Store } from './types.js';

const ph = (i: number): string => `$${i}`;
const UPSERT_USER = userUpsertSql(ph);
const CRED = credentialSql(ph);
const SESSION_AND_USER = sessionAndUserSql('$1');
const INSERT_SESSION = `INSERT INTO console_sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;

/** In this order: users, credentials (compare-and-set), counts, session ends, then session openings. */
export async function applyUserEffects(client: pg.PoolClient, effects: AuditEffects): Promise<void> {
  for (const u of effects.users ?? []) await client.query(UPSERT_USER, userValues(u));
  const mustChangeOne = async (text: string, values: unknown[], user: string, what: CredentialConflictError['what']): Promise<void> => {
    if ((await client.query(text, values)).rowCount !== 1) throw new CredentialConflictError(user, what);
  };
  for (const e of effects.totpEnrolled ?? []) {
    await mustChangeOne(CRED.enrol, [e.keyId, Buffer.from(e.sealed), e.at, e.name], e.name, 'totp-enrolled');
    await client.query(CRED.deleteCodes, [e.name]);
    for (const h of e.recoveryCodeHashes) await client.query(CRED.insertCode, [e.name, h]);
  }
  for (const name of effects.totpReset ?? []) {
    await client.query(CRED.reset, [name]);
    await client.query(CRED.deleteCodes, [name]);
  }
  for (const t of effects.totpStepsUsed ?? []) await mustChangeOne(CRED.step, [t.step, t.name], t.name, 'totp-step');
  for (const c of effects.recoveryCodesUsed ?? []) await mustChangeOne(CRED.useCode, [c.at, c.name, c.codeHash], c.name, 'recovery-code');
  for (const a of effects.loginAttempts ?? []) for (const q of loginAttemptStatements(a, ph)) await client.query(q.text, q.values);
  for (const name of effects.addressLocksCleared ?? []) await client.query(CRED.clearAddressLocks, [name]);
  for (const id of effects.sessionsEnded ?? []) await client.query('DELETE FROM console_sessions WHERE id = $1', [id]);
  for (const u of effects.userSessionsEnded ?? []) await client.query('DELETE FROM console_sessions WHERE user_name = $1 AND id <> $2', [u.user, u.except ?? '']);
  for (const x of effects.sessionsOpened ?? []) await client.query(INSERT_SESSION, sessionValues(x));
}

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

export function postgresUserReads(pool: pg.Pool, inTransaction: <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>): UserReads {
  return {
    async getUser(name) {
      const { rows } = await pool.query<UserDbRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name = $1`, [name]);
      return rows[0] ? toUser(rows[0]) : null;
    },
    async listUsers() {
      const { rows } = await pool.query<UserDbRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`);
      return rows.map(toUser);
    },
    async getSession(id) {
      const { rows } = await pool.query<SessionDbRow>(`SELECT ${SESSION_COLUMNS} FROM console_sessions WHERE id = $1`, [id]);
      return rows[0] ? toSession(rows[0]) : null;
    },
    async getSessionAndUser(id) {
      const { rows } = await pool.query<unknown[]>({ text: SESSION_AND_USER, values: [id], rowMode: 'array' });
      return rows[0] ? toSessionAndUser(rows[0]) : null;
    },
    async listSessions(user) {
      const { rows } =
        user === undefined
          ? await pool.query<SessionDbRow>(`SELECT ${SESSION_COLUMNS} FROM console_sessions ORDER BY created_at, id`)
          : await pool.query<SessionDbRow>(`SELECT ${SESSION_COLUMNS} FROM console_sessions WHERE user_name = $1 ORDER BY created_at, id`, [user]);
      return rows.map(toSession);
    },
    async touchSession(id, at) {
      const t = at.toISOString();
      await pool.query('UPDATE console_sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1', [t, id]);
    },
    async deleteExpiredSessions(now, idleBefore) {
      const r = await pool.query('DELETE FROM console_sessions WHERE expires_at < $1 OR last_seen_at < $2', [now.toISOString(), idleBefore?.toISOString() ?? '']);
      return r.rowCount ?? 0;
    },
    async getLoginAddress(user, address) {
      const { rows } = await pool.query<LoginAddressDbRow>('SELECT * FROM login_addresses WHERE user_name = $1 AND address = $2', [user, address]);
      return rows[0] ? toLoginAddress(rows[0]) : null;
    },
    async deleteStaleLoginAddresses(before) {
      const r = await pool.query(`DELETE FROM login_addresses WHERE coalesce(locked_until, '') < $1 AND coalesce(last_failure_at, '') < $1 AND coalesce(last_success_at, '') < $1`, [
        before.toISOString(),
      ]);
      return r.rowCount ?? 0;
    },
    async recoveryCodesLeft(user) {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM recovery_codes WHERE user_name = $1 AND used_at IS NULL', [user]);
      return Number(rows[0]?.n ?? 0);
    },
    async totpNotUnder(keyId, limit) {
      const { rows } = await pool.query<{ name: string; totp_key_id: string; totp_sealed: Buffer }>(
        'SELECT name, totp_key_id, totp_sealed FROM users WHERE totp_key_id IS NOT NULL AND totp_key_id <> $1 ORDER BY name LIMIT $2',
        [keyId, limit],
      );
      return rows.map((r) => ({ name: r.name, keyId: r.totp_key_id, sealed: r.totp_sealed }));
    },
    async resealTotp(rows) {
      if (rows.length === 0) return 0;
      return inTransaction(async (client) => {
        let n = 0;
        for (const r of rows) n += (await client.query(CRED.reseal, [r.keyId, Buffer.from(r.sealed), r.name, r.fromKeyId])).rowCount ?? 0;
        return n;
      });
    },
  };
}
