// Audit log benchmark:  npx tsx bench/audit.ts [--quick] [--verify-only]
//
//  1. durable appends/s through openAuditLog (group commit, hashing,
//     checkpoints), the relay's way: many appends outstanding at once;
//     baseline: the same batched inserts through the same store with no
//     hashing and no signing. SQLite, then PostgreSQL (a private cluster
//     started with test/helpers/postgres.ts, fsync on).
//  2. verifyAudit over one million records on SQLite; baseline: a plain
//     read of the same rows, page by page.
//  3. peak RSS of this process.
//
// Targets: >= 5,000 durable appends/s on SQLite; 1M records verified < 10 s.
// --verify-only runs part 2 alone (and 3), for working on verify.
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { chainPrepared, GENESIS_HASH, prepareEntry } from '../src/audit/chain.js';
import { headFilePath } from '../src/audit/head-file.js';
import { openAuditLog } from '../src/audit/log.js';
import { loadOrCreateSigner, loadTrust } from '../src/audit/signer.js';
import { segmentsOnThreads } from '../src/audit/verify-parallel.js';
import { verifyAudit } from '../src/audit/verify.js';
import { openStore } from '../src/store/open.js';
import { SQLITE_FILE } from '../src/store/sqlite.js';
import type { AuditEntry, AuditRecord, Store } from '../src/store/types.js';
import { createDatabase, startPostgres } from '../test/helpers/postgres.js';

const quick = process.argv.includes('--quick');
const verifyOnly = process.argv.includes('--verify-only');
const APPENDS = quick ? 5_000 : 30_000;
const OUTSTANDING = 200;
const VERIFY_RECORDS = quick ? 100_000 : 1_000_000;

const entryFor = (i: number): AuditEntry => ({
  actor: 'relay',
  action: i % 3 === 0 ? 'received' : i % 3 === 1 ? 'verdict' : 'delivered',
  object: `20261126-${String(i).padStart(8, '0')}`,
  details: {
    from: `sender${i % 977}@example.co.jp`,
    to: [`staff${i % 101}@city.example.lg.jp`, 'soumu@city.example.lg.jp'],
    verdict: i % 3 === 1 ? (i % 10 === 0 ? 'quarantined' : 'sanitized') : undefined,
    client: '192.0.2.10',
    size: 10_000 + (i % 5000),
  },
});

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'mugaika-bench-audit-'));

/** Appends through the audit log with OUTSTANDING appends in flight at any time. */
async function auditAppends(store: Store, dataDir: string, n: number): Promise<number> {
  const log = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir });
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await log.append(entryFor(next++));
  };
  await Promise.all(Array.from({ length: OUTSTANDING }, worker));
  await log.close();
  return n / ((performance.now() - t0) / 1000);
}

/** The same rows in the same batch sizes through store.appendAudit, without hashing or signing. */
async function plainAppends(store: Store, n: number, batch: number): Promise<number> {
  const t0 = performance.now();
  const now = new Date();
  for (let i = 0; i < n; i += batch) {
    const entries = Array.from({ length: Math.min(batch, n - i) }, (_, k) => prepareEntry(entryFor(i + k), now));
    await store.appendAudit((head) => entries.map((e, k): AuditRecord => ({ seq: head.seq + k + 1, ...e, prevHash: GENESIS_HASH, hash: GENESIS_HASH })));
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Average batch size the log achieved: appends / commits, counted on a wrapper around the real store. */
function counting(store: Store): { store: Store; commits: () => number } {
  let commits = 0;
  return {
    store: { ...store, kind: store.kind, blobs: store.blobs, appendAudit: (b) => (commits++, store.appendAudit(b)) },
    commits: () => commits,
  };
}

async function appendBench(label: string, open: () => Promise<{ store: Store; dataDir: string }>): Promise<void> {
  const a = await open();
  const c = counting(a.store);
  const rate = await auditAppends(c.store, a.dataDir, APPENDS);
  const avgBatch = APPENDS / c.commits();
  await a.store.close();
  const b = await open();
  const base = await plainAppends(b.store, APPENDS, Math.max(1, Math.round(avgBatch)));
  await b.store.close();
  console.log(
    `${label.padEnd(10)} audit log: ${fmt(rate)} durable appends/s (${APPENDS} appends, ${OUTSTANDING} outstanding, ${c.commits()} commits, avg batch ${avgBatch.toFixed(1)})` +
      `   baseline (same batches, no hash/sign): ${fmt(base)}/s   ratio ${(rate / base).toFixed(2)}`,
  );
}

/**
 * verify's baseline: the same rows read plainly, every stored column of each
 * record and its recipients, 500 rows a statement as the store reads them,
 * nothing rendered (the store has SQLite write each record's hashed text for
 * verify) and nothing checked.
 */
function plainRead(dataDir: string): number {
  const db = new Database(path.join(dataDir, SQLITE_FILE), { readonly: true });
  const page = db
    .prepare(
      `SELECT seq, time, actor, action, object, details, prev_hash, hash, sender, verdict,
         (SELECT group_concat(address, char(10)) FROM audit_recipients a WHERE a.seq = r.seq)
       FROM audit_records r WHERE seq > ? ORDER BY seq LIMIT ?`,
    )
    .raw(true);
  let rows = 0;
  for (let after = 0; ;) {
    const got = page.all(after, 500) as [number][];
    if (got.length === 0) break;
    rows += got.length;
    after = (got[got.length - 1] as [number])[0];
  }
  db.close();
  return rows;
}

async function verifyBench(): Promise<void> {
  const dataDir = tmp();
  const store = await openStore({ dataDir });
  const t0 = performance.now();
  const now = new Date();
  for (let i = 0; i < VERIFY_RECORDS; i += 10_000) {
    const entries = Array.from({ length: Math.min(10_000, VERIFY_RECORDS - i) }, (_, k) => prepareEntry(entryFor(i + k), now));
    await store.appendAudit((head) => chainPrepared(head, entries));
  }
  const log = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir, autoCheckpoint: false });
  await log.checkpoint();
  await log.close();
  console.log(`verify     filled ${fmt(VERIFY_RECORDS)} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const t1 = performance.now();
  const rows = plainRead(dataDir);
  const readS = (performance.now() - t1) / 1000;

  const t2 = performance.now();
  // As `mugaika audit verify` runs it: two halves on two threads.
  const result = await verifyAudit(store, await loadTrust(dataDir), { headFile: headFilePath(dataDir), parallel: segmentsOnThreads({ dataDir }) });
  const verifyS = (performance.now() - t2) / 1000;
  if (!result.ok || result.records !== VERIFY_RECORDS || rows !== VERIFY_RECORDS) throw new Error(`verification failed: ${JSON.stringify(result)}`);
  console.log(
    `verify     ${fmt(VERIFY_RECORDS)} records on SQLite: ${verifyS.toFixed(2)} s (target < 10 s for 1M)   baseline (plain paged read of the same rows): ${readS.toFixed(2)} s   ratio ${(verifyS / readS).toFixed(2)}`,
  );
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}

const dirs: string[] = [];
if (!verifyOnly) {
  await appendBench('SQLite', async () => {
    const dataDir = tmp();
    dirs.push(dataDir);
    return { store: await openStore({ dataDir }), dataDir };
  });
  const cluster = await startPostgres();
  try {
    await appendBench('PostgreSQL', async () => {
      const dataDir = tmp();
      dirs.push(dataDir);
      return { store: await openStore({ dataDir, databaseUrl: await createDatabase(cluster.url, 'bench') }), dataDir };
    });
  } finally {
    await cluster.stop();
  }
}
await verifyBench();
for (const d of dirs) rmSync(d, { recursive: true, force: true });
console.log(`peak RSS   ${fmt(process.resourceUsage().maxRSS / 1024)} MiB`);
