// The shared store: one PostgreSQL database used by several gateways.
//
// appendAudit runs in one transaction that first takes a transaction-scoped
// advisory lock: appends from every gateway are serialized on it, so they all
// extend one chain. Commits are durable with PostgreSQL's defaults
// (synchronous_commit = on, fsync = on). Sealed originals are kept in the
// quarantine_blobs table so that every gateway can read them.
import pg from 'pg';
import { assertContinues, EMPTY_HEAD } from './chain-order.js';
import { deriveIndexFromText, normalizeAddress } from './derive.js';
import { AUDIT_LOCK, migratePostgres } from './postgres-schema.js';
import { AUDIT_COLUMNS, ITEM_COLUMNS, itemValues, toItem, toRecord, type AuditRow, type ItemDbRow } from './rows.js';
import type { AuditEffects, AuditFilter, BlobStore, ChainHead, Checkpoint, ItemRow, StateChange, Store } from './types.js';
import { StateConflictError } from './types.js';
import { applyUserEffects, postgresUserReads } from './postgres-users.js';
import { toUnlockState, UNLOCK_LIST_SQL, UNLOCK_STATE_SQL, unlockAttemptSql, unlockResetSql, type UnlockDbRow } from './unlock-sql.js';

/** Hides the password when a URL appears in an error message. */
export const redactUrl = (url: string): string => url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');

async function insertItemRow(db: Pick<pg.Pool | pg.PoolClient, 'query'>, row: ItemRow): Promise<void> {
  await db.query(`INSERT INTO quarantine_items (${ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, itemValues(row));
}

/** Compare-and-set: true when the item was in an allowed state and now is in the new one. */
async function applyStateChange(db: Pick<pg.Pool | pg.PoolClient, 'query'>, change: StateChange): Promise<boolean> {
  const r = await db.query('UPDATE quarantine_items SET state = $1, state_changed_at = $2, state_changed_by = $3 WHERE id = $4 AND state = ANY($5::text[])', [
    change.to,
    change.at.toISOString(),
    change.by,
    change.id,
    [...change.from],
  ]);
  return r.rowCount === 1;
}

/** Writes what an audit append carries, inside its transaction. */
async function applyEffects(client: pg.PoolClient, effects: AuditEffects): Promise<void> {
  for (const row of effects.items ?? []) await insertItemRow(client, row);
  for (const change of effects.stateChanges ?? []) if (!(await applyStateChange(client, change))) throw new StateConflictError(change.id);
  await applyUserEffects(client, effects);
  const ph = (i: number): string => `$${i}`;
  for (const a of effects.unlockAttempts ?? []) {
    const q = unlockAttemptSql(a, ph);
    await client.query(q.text, q.values);
  }
  for (const r of effects.unlockResets ?? []) {
    const q = unlockResetSql(r, ph);
    await client.query(q.text, q.values);
  }
}

export async function openPostgresStore(url: string, opts: { maxConnections?: number } = {}): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 10 });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    const e = err as Error & { code?: string };
    throw new Error(`cannot open the PostgreSQL store ${redactUrl(url)}: ${e.message} / PostgreSQL に接続できません。database.url (MUGAIKA_DATABASE_URL) とサーバーの状態を確認してください`, {
      cause: err,
    });
  }

  const inTransaction = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // A connection the server drops while it is checked out emits 'error' on
    // the client, which the pool does not listen to then: unheard, it ended
    // the process (the gateway's audit thread, when PostgreSQL restarted).
    let broken: Error | null = null;
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      broken ??= err instanceof Error && /terminat|ECONNRESET|Connection/i.test(err.message) ? err : null;
      throw err;
    } finally {
      client.off('error', onError);
      // A broken connection is closed, not handed to the next caller.
      client.release(broken ?? undefined);
    }
  };

  const readHead = async (q: pg.Pool | pg.PoolClient): Promise<ChainHead> => {
    const { rows } = await q.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1');
    const row = rows[0];
    return row ? { seq: Number(row.seq), hash: row.hash } : EMPTY_HEAD;
  };

  const blobs: BlobStore = {
    async put(id, sealed) {
      await pool.query('INSERT INTO quarantine_blobs (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data', [id, sealed]);
    },
    async get(id) {
      const { rows } = await pool.query<{ data: Buffer }>('SELECT data FROM quarantine_blobs WHERE id = $1', [id]);
      return rows[0]?.data ?? null;
    },
    async delete(id) {
      await pool.query('DELETE FROM quarantine_blobs WHERE id = $1', [id]);
    },
  };

  let closed = false;

  return {
    kind: 'postgres',
    blobs,

    async appendAudit(build, effects = {}) {
      return inTransaction(async (client) => {
        await applyEffects(client, effects);
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', AUDIT_LOCK);
        const head = await readHead(client);
        const records = build(head);
        assertContinues(head, records);
        if (records.length === 0) return records;
        const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
        for (const r of records) {
          const idx = deriveIndexFromText(r.details);
          const values = [r.seq, r.time, r.actor, r.action, r.object, r.details, r.prevHash, r.hash, idx.sender, JSON.stringify(idx.recipients), idx.verdict];
          values.forEach((v, i) => (cols[i] as unknown[]).push(v));
        }
        await client.query(
          `INSERT INTO audit_records (seq, time, actor, action, object, details, prev_hash, hash, sender, recipients, verdict)
           SELECT s, t, a, ac, o, d, p, h, se, ARRAY(SELECT jsonb_array_elements_text(r::jsonb)), v
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
             AS x(s, t, a, ac, o, d, p, h, se, r, v)`,
          cols,
        );
        return records;
      });
    },
    async head() {
      return readHead(pool);
    },
    async readAudit(afterSeq, limit) {
      const { rows } = await pool.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
      return rows.map(toRecord);
    },
    async scanAuditIndexed(afterSeq, limit, visit) {
      const { rows } = await pool.query<[string, string, string, string, string | null, string, string, string, string | null, string | null, string]>({
        text: `SELECT ${AUDIT_COLUMNS}, sender, verdict, array_to_json(recipients)::text FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2`,
        values: [afterSeq, limit],
        rowMode: 'array',
      });
      let n = 0;
      for (const [s, time, actor, action, object, details, prevHash, hash, sender, verdict, recipients] of rows) {
        // bigint arrives as a string.
        const seq = Number(s);
        n++;
        if (!visit([seq, JSON.stringify([seq, time, actor, action, object, details]), details, prevHash, hash, sender, verdict, recipients])) break;
      }
      return n;
    },
    async searchAudit(filter) {
      const { where, params } = auditWhere(filter);
      let sql = `SELECT ${AUDIT_COLUMNS} FROM audit_records${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${ORDERS[filter.order ?? 'seq']}`;
      if (filter.limit !== undefined) {
        params.push(filter.limit);
        sql += ` LIMIT $${params.length}`;
      }
      const { rows } = await pool.query<AuditRow>(sql, params);
      return rows.map(toRecord);
    },
    async countVerdicts({ since, until }) {
      const range = [since.toISOString(), until.toISOString()];
      const [v, f] = await Promise.all([
        pool.query<{ v: string; n: number }>(
          `SELECT CASE WHEN verdict IS NULL OR verdict = '' THEN '?' ELSE verdict END AS v, count(*)::int AS n FROM audit_records WHERE action = 'verdict' AND time >= $1 AND time < $2 GROUP BY 1`,
          range,
        ),
        // A record whose details are not JSON (mugaika_jsonb_or_null), or whose findings are not a list, counts for none.
        pool.query<{ f: string; n: number }>(
          `SELECT e.v #>> '{}' AS f, count(DISTINCT r.seq)::int AS n
           FROM (SELECT seq, mugaika_jsonb_or_null(details) -> 'findings' AS fs FROM audit_records WHERE action = 'verdict' AND time >= $1 AND time < $2) r
           CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.fs) = 'array' THEN r.fs ELSE '[]'::jsonb END) AS e(v)
           WHERE jsonb_typeof(e.v) = 'string' GROUP BY 1`,
          range,
        ),
      ]);
      const verdicts = new Map(v.rows.map((r) => [r.v, r.n] as const));
      return { messages: [...verdicts.values()].reduce((a, b) => a + b, 0), verdicts, findings: new Map(f.rows.map((r) => [r.f, r.n] as const)) };
    },
    async firstContacts(sender, recipients, since) {
      const wanted = [...new Set(recipients.map(normalizeAddress))];
      if (wanted.length === 0) return [];
      const { rows } = await pool.query<{ address: string }>(
        `SELECT DISTINCT x AS address FROM audit_records r, unnest(r.recipients) x
          WHERE r.sender = $1 AND r.action = 'delivered' AND r.time >= $2 AND r.recipients && $3::text[] AND x = ANY($3::text[])`,
        [normalizeAddress(sender), since.toISOString(), wanted],
      );
      const reached = new Set(rows.map((r) => r.address));
      return recipients.filter((r) => !reached.has(normalizeAddress(r)));
    },
    async addCheckpoint(c) {
      await pool.query('INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq, key_id) DO NOTHING', [
        c.seq,
        c.hash,
        c.time,
        c.keyId,
        c.signature,
      ]);
    },
    async checkpoints(range = {}): Promise<Checkpoint[]> {
      const where: string[] = [];
      const params: number[] = [];
      // verify asks for those of each page of records it reads: a log can have as many checkpoints as records.
      if (range.afterSeq !== undefined) where.push(`seq > $${params.push(range.afterSeq)}`);
      if (range.untilSeq !== undefined) where.push(`seq <= $${params.push(range.untilSeq)}`);
      const { rows } = await pool.query<{ seq: string; hash: string; time: string; key_id: string; signature: string }>(
        `SELECT seq, hash, time, key_id, signature FROM audit_checkpoints${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq, key_id`,
        params,
      );
      return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, time: r.time, keyId: r.key_id, signature: r.signature }));
    },
    async lastCheckpointSeq(atOrBefore) {
      const { rows } = await pool.query<{ max: string | null }>('SELECT max(seq) FROM audit_checkpoints WHERE seq <= $1', [atOrBefore]);
      return Number(rows[0]?.max ?? 0);
    },

    async insertItem(row) {
      await insertItemRow(pool, row);
    },
    async getItem(id) {
      const { rows } = await pool.query<ItemDbRow>('SELECT * FROM quarantine_items WHERE id = $1', [id]);
      return rows[0] ? toItem(rows[0]) : null;
    },
    async listItems(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      const p = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      if (filter.states) where.push(`state = ANY(${p([...filter.states])}::text[])`);
      if (filter.recipient !== undefined) {
        where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements_text(recipients::jsonb) r WHERE lower(r) = ${p(normalizeAddress(filter.recipient))})`);
      }
      if (filter.recipientAny !== undefined) {
        where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements_text(recipients::jsonb) r WHERE lower(r) = ANY(${p(filter.recipientAny.map(normalizeAddress))}::text[]))`);
      }
      if (filter.sender !== undefined) where.push(`lower(envelope_from) = ${p(normalizeAddress(filter.sender))}`);
      if (filter.receivedBefore) where.push(`received_at < ${p(filter.receivedBefore.toISOString())}`);
      if (filter.receivedSince) where.push(`received_at >= ${p(filter.receivedSince.toISOString())}`);
      let sql = `SELECT * FROM quarantine_items${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${filter.newestFirst ? 'received_at DESC, id DESC' : 'received_at, id'}`;
      if (filter.limit !== undefined) sql += ` LIMIT ${p(filter.limit)}`;
      const { rows } = await pool.query<ItemDbRow>(sql, params);
      return rows.map(toItem);
    },
    async changeState(change) {
      return applyStateChange(pool, change);
    },
    async rewrapKeys(rows) {
      if (rows.length === 0) return;
      await inTransaction(async (client) => {
        for (const r of rows) {
          const u = await client.query('UPDATE quarantine_items SET key_id = $1, wrapped_key = $2 WHERE id = $3', [r.keyId, r.wrappedKey, r.id]);
          if (u.rowCount !== 1) throw new Error(`rewrapKeys: no quarantine item ${r.id}; nothing was changed`);
        }
      });
    },
    async itemsNotUnder(keyId, limit) {
      const { rows } = await pool.query<{ id: string; key_id: string; wrapped_key: Buffer }>('SELECT id, key_id, wrapped_key FROM quarantine_items WHERE key_id <> $1 ORDER BY id LIMIT $2', [
        keyId,
        limit,
      ]);
      return rows.map((r) => ({ id: r.id, keyId: r.key_id, wrappedKey: r.wrapped_key }));
    },

    ...postgresUserReads(pool, inTransaction),
    async getUnlockState(item, user) {
      const { rows } = await pool.query<UnlockDbRow>(
        UNLOCK_STATE_SQL((i) => `$${i}`),
        [item, user],
      );
      return rows[0] ? toUnlockState(rows[0]) : null;
    },
    async listUnlockStates(item) {
      const { rows } = await pool.query<UnlockDbRow>(
        UNLOCK_LIST_SQL((i) => `$${i}`),
        [item],
      );
      return rows.map(toUnlockState);
    },

    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

const ORDERS = { seq: 'seq', newest: 'time DESC, seq DESC', oldest: 'time, seq' } as const;

function auditWhere(filter: AuditFilter): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  if (filter.since) where.push(`time >= ${p(filter.since.toISOString())}`);
  if (filter.until) where.push(`time < ${p(filter.until.toISOString())}`);
  if (filter.sender !== undefined) where.push(`sender = ${p(normalizeAddress(filter.sender))}`);
  if (filter.recipient !== undefined) where.push(`recipients @> ARRAY[${p(normalizeAddress(filter.recipient))}::text]`);
  if (filter.verdict !== undefined) where.push(`verdict = ${p(filter.verdict)}`);
  // One value compared with =, not = ANY(array): only then does the planner walk the (column, time, seq)
  // index in the order asked and stop at the page's end (with ANY it read every match and sorted them).
  const oneOf = (column: string, values: readonly string[]): string => (values.length === 1 ? `${column} = ${p(values[0])}` : `${column} = ANY(${p([...values])}::text[])`);
  if (filter.actions) where.push(oneOf('action', filter.actions));
  if (filter.actor !== undefined) where.push(`actor = ${p(filter.actor)}`);
  if (filter.objects) where.push(oneOf('object', filter.objects));
  if (filter.afterSeq !== undefined) where.push(`seq > ${p(filter.afterSeq)}`);
  if (filter.beforeSeq !== undefined) where.push(`seq < ${p(filter.beforeSeq)}`);
  if (filter.beforeKey) where.push(`(time, seq) < (${p(filter.beforeKey.time)}::text COLLATE "C", ${p(filter.beforeKey.seq)}::bigint)`);
  if (filter.afterKey) where.push(`(time, seq) > (${p(filter.afterKey.time)}::text COLLATE "C", ${p(filter.afterKey.seq)}::bigint)`);
  return { where, params };
}
