// A consistent copy of the database while the gateway writes to it.
//
// SQLite: the online backup API (better-sqlite3 `db.backup()`), all pages in
// one step, so that the copy is one committed state of the file; then the
// copy is checked (quick_check) and turned into a single file (no WAL).
// PostgreSQL: `pg_dump --format=custom`, which reads one snapshot; the
// password goes through PGPASSWORD, never on the command line.
import { execFile as execFileCb } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { SQLITE_FILE } from '../store/sqlite.js';

const execFile = promisify(execFileCb);

export interface SnapshotFacts {
  tool: string;
  auditHead: { seq: number; hash: string };
  /** Originals not purged: id and the master key its data key is wrapped under. */
  items: Array<{ id: string; keyId: string }>;
}

const ITEMS_SQL = "SELECT id, key_id AS keyId FROM quarantine_items WHERE state <> 'expired' ORDER BY id";
const HEAD_SQL = 'SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1';

/** Copies <dataDir>/mugaika.db to `to` and reads what the copy holds. */
export async function snapshotSqlite(dataDir: string, to: string): Promise<SnapshotFacts> {
  const source = new Database(path.join(dataDir, SQLITE_FILE), { fileMustExist: true, timeout: 30_000 });
  try {
    // The first step only starts the backup; the second copies every page at once.
    await source.backup(to, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  const copy = new Database(to, { timeout: 30_000 });
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy of the database fails its check: ${String(check)}`);
    const head = copy.prepare<[], { seq: number; hash: string }>(HEAD_SQL).get();
    return {
      tool: `SQLite ${String(copy.prepare('SELECT sqlite_version()').pluck().get())} online backup`,
      auditHead: head ? { seq: Number(head.seq), hash: head.hash } : { seq: 0, hash: '' },
      items: copy.prepare<[], { id: string; keyId: string }>(ITEMS_SQL).all(),
    };
  } finally {
    copy.close();
  }
}

/** The URL without its password, and the password for PGPASSWORD. */
export function splitPassword(url: string): { url: string; password: string | undefined } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.toString(), password };
}

/** `pg_dump --format=custom` of the database at `url` into `to`. */
export async function snapshotPostgres(url: string, to: string, pgDump = 'pg_dump'): Promise<SnapshotFacts> {
  const { url: bare, password } = splitPassword(url);
  const env = { ...process.env, ...(password !== undefined && { PGPASSWORD: password }) };
  const version = (await execFile(pgDump, ['--version'], { env })).stdout.trim();
  try {
    await execFile(pgDump, ['--format=custom', '--no-owner', '--no-privileges', `--file=${to}`, `--dbname=${bare}`], { env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`pg_dump failed: ${(e.stderr || e.message).trim()}`);
  }
  // What the dump holds, read back from the dump itself would need pg_restore; the
  // database's state just after the dump is close enough for the summary.
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const head = (await client.query<{ seq: string; hash: string }>(HEAD_SQL)).rows[0];
    const items = (await client.query<{ id: string; keyid: string }>(ITEMS_SQL)).rows.map((r) => ({ id: r.id, keyId: r.keyid }));
    return { tool: version, auditHead: head ? { seq: Number(head.seq), hash: head.hash } : { seq: 0, hash: '' }, items };
  } finally {
    await client.end();
  }
}

/** `pg_restore` of a custom-format dump into the (empty) database at `url`. */
export async function restorePostgres(url: string, dump: string, pgRestore = 'pg_restore'): Promise<void> {
  const { url: bare, password } = splitPassword(url);
  const env = { ...process.env, ...(password !== undefined && { PGPASSWORD: password }) };
  try {
    await execFile(pgRestore, ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${bare}`, dump], { env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`pg_restore failed: ${(e.stderr || e.message).trim()}`);
  }
}
