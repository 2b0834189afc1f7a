// The SQLite schema and its migrations. schema_version holds the number of
// the last migration applied; each migration runs once, in a write
// transaction, so processes opening the database together apply it once.
import type Database from 'better-sqlite3';
import { itemStates } from '../model/item-states.js';
import { roles } from '../model/users.js';

const states = itemStates.map((s) => `'${s}'`).join(', ');
const roleList = roles.map((r) => `'${r}'`).join(', ');

/** Migration n (1-based) brings the schema from version n-1 to n. Append only; never edit a released one. */
const migrations: readonly string[] = [
  `
  CREATE TABLE audit_records (
    seq INTEGER PRIMARY KEY CHECK (seq > 0),
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sender TEXT,
    verdict TEXT
  );
  CREATE INDEX audit_records_time ON audit_records (time);
  CREATE INDEX audit_records_sender ON audit_records (sender) WHERE sender IS NOT NULL;
  CREATE INDEX audit_records_verdict ON audit_records (verdict) WHERE verdict IS NOT NULL;
  CREATE INDEX audit_records_action ON audit_records (action);
  CREATE INDEX audit_records_actor ON audit_records (actor);
  CREATE INDEX audit_records_object ON audit_records (object) WHERE object IS NOT NULL;
  CREATE TABLE audit_recipients (
    seq INTEGER NOT NULL REFERENCES audit_records (seq),
    address TEXT NOT NULL,
    PRIMARY KEY (seq, address)
  ) WITHOUT ROWID;
  CREATE INDEX audit_recipients_address ON audit_recipients (address, seq);
  CREATE TABLE audit_checkpoints (
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (seq, key_id)
  );
  CREATE TABLE quarantine_items (
    id TEXT PRIMARY KEY,
    gateway TEXT NOT NULL,
    received_at TEXT NOT NULL,
    envelope_from TEXT,
    recipients TEXT NOT NULL,
    size INTEGER NOT NULL,
    findings TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN (${states})),
    state_changed_at TEXT NOT NULL,
    state_changed_by TEXT NOT NULL,
    key_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    sealed_meta BLOB NOT NULL
  );
  CREATE INDEX quarantine_items_state ON quarantine_items (state, received_at);
  CREATE INDEX quarantine_items_received ON quarantine_items (received_at);
  CREATE INDEX quarantine_items_key ON quarantine_items (key_id);
  `,
  `
  CREATE TABLE users (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN (${roleList})),
    email TEXT,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    failed_logins INTEGER NOT NULL,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
  `,
  // 3: console sign-in (issue 14): directory users, TOTP, recovery codes,
  // per-address failures and locks, session stages and idle times. Its value
  // lists are written out: a later change to the types must not change it.
  `
  ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap'));
  ALTER TABLE users ADD COLUMN totp_key_id TEXT;
  ALTER TABLE users ADD COLUMN totp_sealed BLOB;
  ALTER TABLE users ADD COLUMN totp_enrolled_at TEXT;
  ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
  ALTER TABLE console_sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full' CHECK (stage IN ('full', 'second-factor', 'enrol'));
  ALTER TABLE console_sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';
  ALTER TABLE console_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
  ALTER TABLE console_sessions ADD COLUMN last_seen_at TEXT NOT NULL DEFAULT '';
  UPDATE console_sessions SET last_seen_at = created_at;
  CREATE INDEX console_sessions_user ON console_sessions (user_name);
  CREATE INDEX console_sessions_seen ON console_sessions (last_seen_at);
  CREATE TABLE recovery_codes (
    user_name TEXT NOT NULL REFERENCES users (name),
    code_hash TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (user_name, code_hash)
  ) WITHOUT ROWID;
  CREATE TABLE login_addresses (
    user_name TEXT NOT NULL REFERENCES users (name),
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until TEXT,
    last_failure_at TEXT,
    last_success_at TEXT,
    PRIMARY KEY (user_name, address)
  ) WITHOUT ROWID;
  `,
  // PPAP: failed attempts to unlock an item's password-protected attachments, per user.
  `
  CREATE TABLE unlock_attempts (
    item_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_at TEXT,
    last_attempt_at TEXT NOT NULL,
    PRIMARY KEY (item_id, user_name)
  ) WITHOUT ROWID;
  `,
  // A staff member's other addresses (issue 13): their quarantined mail too.
  `
  ALTER TABLE users ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
  `,
  // The auditor's search (issue 13) pages by time then seq within any one
  // filter: each search index becomes (column, time) (and the rowid, seq,
  // ends every index), so that "the newest 100 of this sender in November"
  // is a walk down one index, not a sort of all of the sender's records.
  // Equality lookups use their prefix.
  `
  CREATE INDEX audit_records_action_time ON audit_records (action, time);
  CREATE INDEX audit_records_actor_time ON audit_records (actor, time);
  CREATE INDEX audit_records_object_time ON audit_records (object, time) WHERE object IS NOT NULL;
  CREATE INDEX audit_records_sender_time ON audit_records (sender, time) WHERE sender IS NOT NULL;
  CREATE INDEX audit_records_verdict_time ON audit_records (verdict, time) WHERE verdict IS NOT NULL;
  DROP INDEX audit_records_action;
  DROP INDEX audit_records_actor;
  DROP INDEX audit_records_object;
  DROP INDEX audit_records_sender;
  DROP INDEX audit_records_verdict;
  `,
  // A recipient's records in time order (the auditor's search by recipient,
  // first contact): each recipient row carries its record's time, indexed
  // (address, time, seq), so that the newest of one address is an index walk.
  `
  ALTER TABLE audit_recipients ADD COLUMN time TEXT;
  UPDATE audit_recipients SET time = (SELECT r.time FROM audit_records r WHERE r.seq = audit_recipients.seq);
  CREATE INDEX audit_recipients_address_time ON audit_recipients (address, time, seq);
  DROP INDEX audit_recipients_address;
  `,
];

export const SCHEMA_VERSION = migrations.length;

export function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare<[], { version: number }>('SELECT version FROM schema_version').get();
    const current = row?.version ?? 0;
    if (current > migrations.length) {
      throw new Error(
        `database schema version ${current} is newer than this mugaika (${migrations.length}): upgrade mugaika / データベースがこのバージョンより新しい形式です。mugaika を更新してください`,
      );
    }
    for (let v = current; v < migrations.length; v++) db.exec(migrations[v] as string);
    if (row) db.prepare('UPDATE schema_version SET version = ?').run(migrations.length);
    else db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(migrations.length);
  });
  run.immediate();
}
