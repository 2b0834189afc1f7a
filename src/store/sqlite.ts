// The embedded store: one SQLite file, <data dir>/mugaika.db, shared by the
// gateway, CLI commands and worker threads (each opens its own connection).
//
//   journal_mode=WAL, synchronous=FULL   a commit is on disk when it returns
//   busy_timeout                          writers queue instead of failing
//   BEGIN IMMEDIATE for appendAudit       the write lock is taken before the
//                                         head is read, so one chain results
//
// better-sqlite3 is synchronous: every call here blocks the event loop for the
// statement's duration. The audit log batches appends (src/audit/log.ts) so
// that the number of commits, each an fsync, stays small.
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { assertContinues, EMPTY_HEAD } from './chain-order.js';
import { deriveIndexFromText, normalizeAddress } from './derive.js';
import { AUDIT_COLUMNS, ITEM_COLUMNS, itemValues, toItem, toRecord, type AuditRow, type ItemDbRow } from './rows.js';
import { sqliteUsers } from './sqlite-users.js';
import { toUnlockState, UNLOCK_LIST_SQL, UNLOCK_STATE_SQL, unlockAttemptSql, unlockResetSql, type UnlockDbRow } from './unlock-sql.js';
import { migrate } from './sqlite-schema.js';
import type { AuditEffects, AuditFilter, AuditRecord, ChainHead, Checkpoint, IndexedAuditRow, ItemRow, StateChange, Store } from './types.js';
import { StateConflictError } from './types.js';

export const SQLITE_FILE = 'mugaika.db';

const BUSY_TIMEOUT_MS = 30_000;

/** Rows scanAuditIndexed reads per statement. */
const SCAN_BATCH = 500;

interface CheckpointRow {
  seq: number;
  hash: string;
  time: string;
  key_id: string;
  signature: string;
}

/** Creates the data dir (0700) and the database file (0600) when missing. */
function prepareFile(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, SQLITE_FILE);
  // SQLite gives its -wal and -shm files the mode of the database file.
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return file;
}

export async function openSqliteStore(dataDir: string): Promise<Store> {
  const file = prepareFile(dataDir);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new Error(`cannot open ${file}: ${(err as Error).message} / データベースを開けません。ファイルの権限と空き容量を確認してください`);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }

  const headStmt = db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1');
  const insertAudit = db.prepare('INSERT INTO audit_records (seq, time, actor, action, object, details, prev_hash, hash, sender, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insertRecipient = db.prepare('INSERT INTO audit_recipients (seq, address, time) VALUES (?, ?, ?)');
  const readStmt = db.prepare<[number, number], AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?`);
  // What verify reads of each record (IndexedAuditRow). SQLite writes its
  // canonical text (json_array escapes as JSON.stringify does): cheaper than
  // taking six more values out of each row into JavaScript and writing it
  // there. Its recipients come in the same row, as a JSON array text: one
  // index lookup per record in C is far cheaper than a row per address in
  // JavaScript. JSON cannot hold a BLOB (only a tampered file has one where
  // text belongs): such a record's canonical text is written from its values
  // as JSON.stringify writes them (canonicalFieldsStmt), and a BLOB address
  // is null in the array, which matches no derived address; so is one whose
  // time is not its record's (the recipient search walks that time).
  const scanIndexedStmt = db
    .prepare(
      `SELECT seq,
         CASE WHEN typeof(time) = 'text' AND typeof(actor) = 'text' AND typeof(action) = 'text' AND typeof(object) IN ('text', 'null') AND typeof(details) = 'text'
           THEN json_array(seq, time, actor, action, object, details) END,
         details, prev_hash, hash, sender, verdict,
         (SELECT json_group_array(CASE WHEN typeof(address) = 'text' AND a.time IS r.time THEN address END) FROM audit_recipients a WHERE a.seq = r.seq)
       FROM audit_records r WHERE seq > ? ORDER BY seq LIMIT ?`,
    )
    .raw(true);
  const canonicalFieldsStmt = db.prepare<[number], unknown[]>('SELECT seq, time, actor, action, object, details FROM audit_records WHERE seq = ?').raw(true);
  const verdictCountsStmt = db
    .prepare<[string, string], [string, number]>(
      `SELECT CASE WHEN verdict IS NULL OR verdict = '' THEN '?' ELSE verdict END, count(*) FROM audit_records WHERE action = 'verdict' AND time >= ? AND time < ? GROUP BY 1`,
    )
    .raw(true);
  // A record whose details are not JSON, or whose findings are not a list, counts for none.
  const findingCountsStmt = db
    .prepare<[string, string], [string, number]>(
      `SELECT f.value, count(DISTINCT r.seq) FROM audit_records r,
         json_each(CASE WHEN json_valid(r.details) AND json_type(r.details, '$.findings') = 'array' THEN json_extract(r.details, '$.findings') ELSE '[]' END) f
       WHERE r.action = 'verdict' AND r.time >= ? AND r.time < ? AND f.type = 'text' GROUP BY f.value`,
    )
    .raw(true);
  const insertCheckpoint = db.prepare('INSERT OR IGNORE INTO audit_checkpoints (seq, hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?)');
  const lastCheckpointStmt = db.prepare<[number], number | null>('SELECT max(seq) FROM audit_checkpoints WHERE seq <= ?').pluck();
  const insertItemStmt = db.prepare(`INSERT INTO quarantine_items (${ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const getItemStmt = db.prepare<[string], ItemDbRow>('SELECT * FROM quarantine_items WHERE id = ?');
  const rewrapStmt = db.prepare('UPDATE quarantine_items SET key_id = ?, wrapped_key = ? WHERE id = ?');
  const notUnderStmt = db.prepare<[string, number], { id: string; key_id: string; wrapped_key: Buffer }>('SELECT id, key_id, wrapped_key FROM quarantine_items WHERE key_id <> ? ORDER BY id LIMIT ?');

  /**
   * A recipient's records in time order: a walk down their (address, time,
   * seq) index, each record joined by its seq, so that "the newest 100 for
   * this address" is 100 index steps, not a sort of all of their records.
   * The time and seq bounds apply to the index; the other filters to the
   * record. A recipient row whose time is not its record's matches nothing.
   */
  const searchByRecipient = (filter: AuditFilter, recipient: string, order: 'newest' | 'oldest'): AuditRecord[] => {
    const { since, until, beforeKey, afterKey, afterSeq, beforeSeq, limit, recipient: _r, order: _o, ...rest } = filter;
    const walk = auditWhere({ since, until, beforeKey, afterKey, afterSeq, beforeSeq }, 'a.');
    const record = auditWhere(rest, 'r.');
    const params = [normalizeAddress(recipient), ...walk.params, ...record.params];
    const where = ['a.address = ?', ...walk.where, ...record.where].join(' AND ');
    const dir = order === 'newest' ? 'DESC' : '';
    const sql = `SELECT ${RECORD_COLUMNS} FROM audit_recipients a JOIN audit_records r ON r.seq = a.seq AND r.time = a.time WHERE ${where} ORDER BY a.time ${dir}, a.seq ${dir}${limit !== undefined ? ' LIMIT ?' : ''}`;
    if (limit !== undefined) params.push(limit);
    return (prepared(sql).all(...params) as AuditRow[]).map(toRecord);
  };

  const users = sqliteUsers(db);
  const unlockStateStmt = db.prepare<[string, string], UnlockDbRow>(UNLOCK_STATE_SQL(() => '?'));
  const unlockListStmt = db.prepare<[string], UnlockDbRow>(UNLOCK_LIST_SQL(() => '?'));
  const runUnlock = (q: { text: string; values: unknown[] }): void => {
    prepared(q.text).run(Object.fromEntries(q.values.map((v, i) => [`p${i + 1}`, v])));
  };

  const readHead = (): ChainHead => {
    const row = headStmt.get();
    return row ? { seq: Number(row.seq), hash: row.hash } : EMPTY_HEAD;
  };

  const insertItemRow = (row: ItemRow): void => {
    insertItemStmt.run(...itemValues(row));
  };

  const statementCache = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let s = statementCache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statementCache.set(sql, s);
    }
    return s;
  };

  /** Compare-and-set: true when the item was in an allowed state and now is in the new one. */
  const applyStateChange = (change: StateChange): boolean => {
    if (change.from.length === 0) return false;
    const sql = `UPDATE quarantine_items SET state = ?, state_changed_at = ?, state_changed_by = ? WHERE id = ? AND state IN (${change.from.map(() => '?').join(', ')})`;
    return prepared(sql).run(change.to, change.at.toISOString(), change.by, change.id, ...change.from).changes === 1;
  };

  const append = db.transaction((build: (head: ChainHead) => AuditRecord[], effects: AuditEffects): AuditRecord[] => {
    for (const row of effects.items ?? []) insertItemRow(row);
    for (const change of effects.stateChanges ?? []) if (!applyStateChange(change)) throw new StateConflictError(change.id);
    users.applyEffects(effects);
    for (const a of effects.unlockAttempts ?? []) runUnlock(unlockAttemptSql(a, (i) => `@p${i}`));
    for (const r of effects.unlockResets ?? []) runUnlock(unlockResetSql(r, (i) => `@p${i}`));
    const head = readHead();
    const records = build(head);
    assertContinues(head, records);
    for (const r of records) {
      const idx = deriveIndexFromText(r.details);
      insertAudit.run(r.seq, r.time, r.actor, r.action, r.object, r.details, r.prevHash, r.hash, idx.sender, idx.verdict);
      for (const address of idx.recipients) insertRecipient.run(r.seq, address, r.time);
    }
    return records;
  });

  const rewrap = db.transaction((rows: readonly { id: string; keyId: string; wrappedKey: Buffer }[]) => {
    for (const r of rows) {
      if (rewrapStmt.run(r.keyId, r.wrappedKey, r.id).changes !== 1) throw new Error(`rewrapKeys: no quarantine item ${r.id}; nothing was changed`);
    }
  });

  let closed = false;

  return {
    kind: 'sqlite',
    blobs: null,

    async appendAudit(build, effects = {}) {
      return append.immediate(build, effects);
    },
    async head() {
      return readHead();
    },
    async readAudit(afterSeq, limit) {
      return readStmt.all(afterSeq, limit).map(toRecord);
    },
    async scanAuditIndexed(afterSeq, limit, visit) {
      // all() a few hundred rows at a time: iterate() costs a call into the
      // addon and a result object per row, and a few hundred rows are
      // garbage before V8's young generation fills, where thousands held at
      // once live long enough to be copied.
      let n = 0;
      for (let after = afterSeq; n < limit;) {
        const batch = Math.min(SCAN_BATCH, limit - n);
        const rows = scanIndexedStmt.all(after, batch) as IndexedAuditRow[];
        for (const row of rows) {
          // The canonical text of values JSON cannot hold, as JSON.stringify writes them.
          if ((row[1] as string | null) === null) row[1] = JSON.stringify(canonicalFieldsStmt.get(row[0]));
          n++;
          if (!visit(row)) return n;
        }
        if (rows.length < batch) break;
        after = (rows[rows.length - 1] as IndexedAuditRow)[0];
      }
      return n;
    },
    async searchAudit(filter) {
      if (filter.recipient !== undefined && filter.order !== undefined && filter.order !== 'seq') return searchByRecipient(filter, filter.recipient, filter.order);
      const { where, params } = auditWhere(filter);
      const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_records${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${ORDERS[filter.order ?? 'seq']}${filter.limit !== undefined ? ' LIMIT ?' : ''}`;
      if (filter.limit !== undefined) params.push(filter.limit);
      return (prepared(sql).all(...params) as AuditRow[]).map(toRecord);
    },
    async countVerdicts({ since, until }) {
      const range = [since.toISOString(), until.toISOString()] as const;
      const verdicts = new Map(verdictCountsStmt.all(...range).map(([v, n]) => [v, n] as const));
      const findings = new Map(findingCountsStmt.all(...range).map(([f, n]) => [f, n] as const));
      return { messages: [...verdicts.values()].reduce((a, b) => a + b, 0), verdicts, findings };
    },
    async firstContacts(sender, recipients, since) {
      const wanted = [...new Set(recipients.map(normalizeAddress))];
      const reached = new Set<string>();
      for (let i = 0; i < wanted.length; i += FIRST_CONTACT_BATCH) {
        const batch = wanted.slice(i, i + FIRST_CONTACT_BATCH);
        // Each address's records since then by its (address, time, seq) index; the sender and action on the record.
        const sql = `SELECT DISTINCT a.address FROM audit_recipients a JOIN audit_records r ON r.seq = a.seq AND r.time = a.time
          WHERE r.sender = ? AND r.action = 'delivered' AND a.time >= ? AND a.address IN (${batch.map(() => '?').join(', ')})`;
        for (const row of prepared(sql).all(normalizeAddress(sender), since.toISOString(), ...batch) as { address: string }[]) reached.add(row.address);
      }
      return recipients.filter((r) => !reached.has(normalizeAddress(r)));
    },
    async addCheckpoint(c) {
      insertCheckpoint.run(c.seq, c.hash, c.time, c.keyId, c.signature);
    },
    async checkpoints(range = {}): Promise<Checkpoint[]> {
      // verify asks for those of each page of records it reads: a log can have as many checkpoints as records.
      const where: string[] = [];
      const params: number[] = [];
      if (range.afterSeq !== undefined) {
        where.push('seq > ?');
        params.push(range.afterSeq);
      }
      if (range.untilSeq !== undefined) {
        where.push('seq <= ?');
        params.push(range.untilSeq);
      }
      const sql = `SELECT seq, hash, time, key_id, signature FROM audit_checkpoints${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq, key_id`;
      return (prepared(sql).all(...params) as CheckpointRow[]).map((r) => ({ seq: Number(r.seq), hash: r.hash, time: r.time, keyId: r.key_id, signature: r.signature }));
    },
    async lastCheckpointSeq(atOrBefore) {
      return Number(lastCheckpointStmt.get(atOrBefore) ?? 0);
    },

    async insertItem(row) {
      insertItemRow(row);
    },
    async getItem(id) {
      const row = getItemStmt.get(id);
      return row ? toItem(row) : null;
    },
    async listItems(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.states) {
        where.push(`state IN (${filter.states.map(() => '?').join(', ') || 'NULL'})`);
        params.push(...filter.states);
      }
      if (filter.recipient !== undefined) {
        where.push('EXISTS (SELECT 1 FROM json_each(recipients) WHERE lower(value) = ?)');
        params.push(normalizeAddress(filter.recipient));
      }
      if (filter.recipientAny !== undefined) {
        where.push(`EXISTS (SELECT 1 FROM json_each(recipients) WHERE lower(value) IN (${filter.recipientAny.map(() => '?').join(', ') || 'NULL'}))`);
        params.push(...filter.recipientAny.map(normalizeAddress));
      }
      if (filter.sender !== undefined) {
        where.push('lower(envelope_from) = ?');
        params.push(normalizeAddress(filter.sender));
      }
      if (filter.receivedBefore) {
        where.push('received_at < ?');
        params.push(filter.receivedBefore.toISOString());
      }
      if (filter.receivedSince) {
        where.push('received_at >= ?');
        params.push(filter.receivedSince.toISOString());
      }
      const sql = `SELECT * FROM quarantine_items${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${filter.newestFirst ? 'received_at DESC, id DESC' : 'received_at, id'}${filter.limit !== undefined ? ' LIMIT ?' : ''}`;
      if (filter.limit !== undefined) params.push(filter.limit);
      return (prepared(sql).all(...params) as ItemDbRow[]).map(toItem);
    },
    async changeState(change) {
      return applyStateChange(change);
    },
    async rewrapKeys(rows) {
      rewrap.immediate(rows);
    },
    async itemsNotUnder(keyId, limit) {
      return notUnderStmt.all(keyId, limit).map((r) => ({ id: r.id, keyId: r.key_id, wrappedKey: Buffer.from(r.wrapped_key) }));
    },

    ...users.reads,
    async getUnlockState(item, user) {
      const row = unlockStateStmt.get(item, user);
      return row ? toUnlockState(row) : null;
    },
    async listUnlockStates(item) {
      return unlockListStmt.all(item).map(toUnlockState);
    },

    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

/** Recipients asked about in one query (SQLite allows 32766 parameters). */
const FIRST_CONTACT_BATCH = 500;

const ORDERS = { seq: 'seq', newest: 'time DESC, seq DESC', oldest: 'time, seq' } as const;
/** AUDIT_COLUMNS of the record `r` in a join. */
const RECORD_COLUMNS = AUDIT_COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ');

/** The filter as WHERE terms on audit_records' columns, each named with `t` in front (a table alias and a dot, in a join). */
function auditWhere(filter: AuditFilter, t = ''): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.since) {
    where.push(`${t}time >= ?`);
    params.push(filter.since.toISOString());
  }
  if (filter.until) {
    where.push(`${t}time < ?`);
    params.push(filter.until.toISOString());
  }
  if (filter.sender !== undefined) {
    where.push(`${t}sender = ?`);
    params.push(normalizeAddress(filter.sender));
  }
  if (filter.recipient !== undefined) {
    where.push(`${t}seq IN (SELECT seq FROM audit_recipients WHERE address = ?)`);
    params.push(normalizeAddress(filter.recipient));
  }
  if (filter.verdict !== undefined) {
    where.push(`${t}verdict = ?`);
    params.push(filter.verdict);
  }
  if (filter.actions) {
    where.push(`${t}action IN (${filter.actions.map(() => '?').join(', ') || 'NULL'})`);
    params.push(...filter.actions);
  }
  if (filter.actor !== undefined) {
    where.push(`${t}actor = ?`);
    params.push(filter.actor);
  }
  if (filter.objects) {
    where.push(`${t}object IN (${filter.objects.map(() => '?').join(', ') || 'NULL'})`);
    params.push(...filter.objects);
  }
  if (filter.afterSeq !== undefined) {
    where.push(`${t}seq > ?`);
    params.push(filter.afterSeq);
  }
  if (filter.beforeSeq !== undefined) {
    where.push(`${t}seq < ?`);
    params.push(filter.beforeSeq);
  }
  // Written so that the time index (or a (column, time) one) bounds the walk.
  if (filter.beforeKey) {
    where.push(`${t}time <= ? AND (${t}time < ? OR ${t}seq < ?)`);
    params.push(filter.beforeKey.time, filter.beforeKey.time, filter.beforeKey.seq);
  }
  if (filter.afterKey) {
    where.push(`${t}time >= ? AND (${t}time > ? OR ${t}seq > ?)`);
    params.push(filter.afterKey.time, filter.afterKey.time, filter.afterKey.seq);
  }
  return { where, params };
}
