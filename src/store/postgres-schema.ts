// The PostgreSQL schema and its migrations. Gateways starting together
// serialize on an advisory lock, so each migration is applied once.
import type pg from 'pg';
import { itemStates } from '../model/item-states.js';
import { roles } from '../model/users.js';

/** Advisory lock keys (two int4): 'muga' and what is locked. */
const LOCK_CLASS = 0x6d756761;
export const AUDIT_LOCK: [number, number] = [LOCK_CLASS, 1];
const SCHEMA_LOCK: [number, number] = [LOCK_CLASS, 2];

const states = itemStates.map((s) => `'${s}'`).join(', ');
const roleList = roles.map((r) => `'${r}'`).join(', ');

/** Migration n (1-based) brings the schema from version n-1 to n. Append only; never edit a released one. */
const migrations: readonly string[] = [
  `
  CREATE TABLE audit_records (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    time text COLLATE "C" NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    object text,
    details text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    sender text,
    recipients text[] NOT NULL,
    verdict text
  );
  CREATE INDEX audit_records_time ON audit_records (time);
  CREATE INDEX audit_records_sender ON audit_records (sender) WHERE sender IS NOT NULL;
  CREATE INDEX audit_records_recipients ON audit_records USING gin (recipients);
  CREATE INDEX audit_records_verdict ON audit_records (verdict) WHERE verdict IS NOT NULL;
  CREATE INDEX audit_records_action ON audit_records (action);
  CREATE INDEX audit_records_actor ON audit_records (actor);
  CREATE INDEX audit_records_object ON audit_records (object) WHERE object IS NOT NULL;
  CREATE TABLE audit_checkpoints (
    seq bigint NOT NULL,
    hash text NOT NULL,
    time text NOT NULL,
    key_id text NOT NULL,
    signature text NOT NULL,
    PRIMARY KEY (seq, key_id)
  );
  CREATE TABLE quarantine_items (
    id text PRIMARY KEY,
    gateway text NOT NULL,
    received_at text COLLATE "C" NOT NULL,
    envelope_from text,
    recipients text NOT NULL,
    size bigint NOT NULL,
    findings text NOT NULL,
    state text NOT NULL CHECK (state IN (${states})),
    state_changed_at text NOT NULL,
    state_changed_by text NOT NULL,
    key_id text NOT NULL,
    wrapped_key bytea NOT NULL,
    sealed_meta bytea NOT NULL
  );
  CREATE INDEX quarantine_items_state ON quarantine_items (state, received_at);
  CREATE INDEX quarantine_items_received ON quarantine_items (received_at);
  CREATE INDEX quarantine_items_key ON quarantine_items (key_id);
  CREATE TABLE quarantine_blobs (
    id text PRIMARY KEY,
    data bytea NOT NULL
  );
  `,
  `
  CREATE TABLE users (
    name text PRIMARY KEY,
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN (${roleList})),
    email text,
    password_hash text NOT NULL,
    disabled smallint NOT NULL CHECK (disabled IN (0, 1)),
    failed_logins integer NOT NULL,
    locked_until text COLLATE "C",
    created_at text NOT NULL,
    updated_at text NOT NULL
  );
  CREATE TABLE console_sessions (
    id text PRIMARY KEY,
    user_name text NOT NULL REFERENCES users (name),
    created_at text NOT NULL,
    expires_at text COLLATE "C" NOT NULL
  );
  CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
  `,
  // 3: console sign-in (issue 14): directory users, TOTP, recovery codes,
  // per-address failures and locks, session stages and idle times. Its value
  // lists are written out: a later change to the types must not change it.
  `
  ALTER TABLE users ADD COLUMN source text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap'));
  ALTER TABLE users ADD COLUMN totp_key_id text;
  ALTER TABLE users ADD COLUMN totp_sealed bytea;
  ALTER TABLE users ADD COLUMN totp_enrolled_at text;
  ALTER TABLE users ADD COLUMN totp_last_step bigint;
  ALTER TABLE console_sessions ADD COLUMN stage text NOT NULL DEFAULT 'full' CHECK (stage IN ('full', 'second-factor', 'enrol'));
  ALTER TABLE console_sessions ADD COLUMN client text NOT NULL DEFAULT '';
  ALTER TABLE console_sessions ADD COLUMN user_agent text NOT NULL DEFAULT '';
  ALTER TABLE console_sessions ADD COLUMN last_seen_at text COLLATE "C" NOT NULL DEFAULT '';
  UPDATE console_sessions SET last_seen_at = created_at;
  CREATE INDEX console_sessions_user ON console_sessions (user_name);
  CREATE INDEX console_sessions_seen ON console_sessions (last_seen_at);
  CREATE TABLE recovery_codes (
    user_name text NOT NULL REFERENCES users (name),
    code_hash text NOT NULL,
    used_at text,
    PRIMARY KEY (user_name, code_hash)
  );
  CREATE TABLE login_addresses (
    user_name text NOT NULL REFERENCES users (name),
    address text NOT NULL,
    failures integer NOT NULL,
    locked_until text COLLATE "C",
    last_failure_at text COLLATE "C",
    last_success_at text COLLATE "C",
    PRIMARY KEY (user_name, address)
  );
  `,
  // PPAP: failed attempts to unlock an item's password-protected attachments, per user.
  `
  CREATE TABLE unlock_attempts (
    item_id text COLLATE "C" NOT NULL,
    user_name text COLLATE "C" NOT NULL,
    failures integer NOT NULL,
    locked_at text COLLATE "C",
    last_attempt_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (item_id, user_name)
  );
  `,
  // A staff member's other addresses (issue 13): their quarantined mail too.
  `
  ALTER TABLE users ADD COLUMN aliases text NOT NULL DEFAULT '[]';
  `,
  // The auditor's search (issue 13) pages by time then seq within any one
  // filter: each search index becomes (column, time, seq), so that "the
  // newest 100 of this sender in November" is a walk down one index, not a
  // sort of all of the sender's records. Equality lookups use their prefix.
  `
  CREATE INDEX audit_records_time_seq ON audit_records (time, seq);
  CREATE INDEX audit_records_action_time ON audit_records (action, time, seq);
  CREATE INDEX audit_records_actor_time ON audit_records (actor, time, seq);
  CREATE INDEX audit_records_object_time ON audit_records (object, time, seq) WHERE object IS NOT NULL;
  CREATE INDEX audit_records_sender_time ON audit_records (sender, time, seq) WHERE sender IS NOT NULL;
  CREATE INDEX audit_records_verdict_time ON audit_records (verdict, time, seq) WHERE verdict IS NOT NULL;
  DROP INDEX audit_records_time;
  DROP INDEX audit_records_action;
  DROP INDEX audit_records_actor;
  DROP INDEX audit_records_object;
  DROP INDEX audit_records_sender;
  DROP INDEX audit_records_verdict;
  `,
  // A record's details as jsonb, or null where they are not JSON (only a
  // tampered record): what counts over details (the monthly report's
  // findings) reads, so that one bad record cannot fail the whole count.
  `
  CREATE FUNCTION mugaika_jsonb_or_null(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE STRICT AS $$
  BEGIN
    RETURN t::jsonb;
  EXCEPTION WHEN others THEN
    RETURN NULL;
  END
  $$;
  `,
];

export const PG_SCHEMA_VERSION = migrations.length;

export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', SCHEMA_LOCK);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
    const current = rows[0]?.version ?? 0;
    if (current > migrations.length) {
      throw new Error(
        `database schema version ${current} is newer than this mugaika (${migrations.length}): upgrade mugaika / データベースがこのバージョンより新しい形式です。mugaika を更新してください`,
      );
    }
    for (let v = current; v < migrations.length; v++) await client.query(migrations[v] as string);
    if (rows[0]) await client.query('UPDATE schema_version SET version = $1', [migrations.length]);
    else await client.query('INSERT INTO schema_version (version) VALUES ($1)', [migrations.length]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
