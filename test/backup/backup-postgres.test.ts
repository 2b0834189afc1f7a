// `mugaika backup` of a gateway on PostgreSQL (pg_dump, custom format) and
// `mugaika restore` of it into a new, empty database: the chain verifies and
// every original opens; a database that is not empty is refused.
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { mugaika } from '../helpers/cli.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/run.js';

const SAMPLE = readFileSync(path.resolve(import.meta.dirname, '../../samples/02-html-newsletter.eml'));

async function count(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
  } finally {
    await client.end();
  }
}

describe('backup and restore (PostgreSQL)', () => {
  const root = tempDir('mugaika-backup-pg-');
  let gw: GatewayProcess | undefined;
  afterAll(async () => {
    await gw?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('dumps with pg_dump and restores into an empty database only', async () => {
    const url = await createTestDatabase('backup_src');
    const dataDir = path.join(root, 'data');
    gw = await startGatewayProcess({ dataDir, env: { MUGAIKA_DATABASE_URL: url } });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: gw.smtpPort, secure: false, ignoreTLS: true });
    for (let i = 0; i < 3; i++) await transport.sendMail({ envelope: { from: 'sender@example.jp', to: ['soumu@city.example.lg.jp'] }, raw: SAMPLE });
    transport.close();
    const end = Date.now() + 30_000;
    while ((await count(url, 'SELECT count(*) AS n FROM quarantine_items')) < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));

    const backup = path.join(root, 'backup');
    const made = await mugaika(['backup', backup, '--data-dir', dataDir], { MUGAIKA_DATABASE_URL: url });
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('PostgreSQL (pg_dump)');
    const manifest = JSON.parse(await fs.readFile(path.join(backup, 'manifest.json'), 'utf8')) as { database: { tool: string }; originals: { count: number } };
    expect(manifest.database.tool).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(manifest.originals.count).toBe(3);
    expect((await fs.readFile(path.join(backup, 'database', 'mugaika.dump'))).subarray(0, 5).toString()).toBe('PGDMP');

    // Into the database in use: refused.
    const busy = await mugaika(['restore', backup, '--data-dir', path.join(root, 'busy')], { MUGAIKA_DATABASE_URL: url });
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain('戻し先のデータベースにはすでに表があります。上書きはしません。');

    const target = await createTestDatabase('backup_dst');
    const r = await mugaika(['restore', backup, '--data-dir', path.join(root, 'restored')], { MUGAIKA_DATABASE_URL: target });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('監査ログの検証: 正常です');
    expect(r.stdout).toContain('原本: 3 件中 3 件を開けました');
    expect(await count(target, 'SELECT count(*) AS n FROM quarantine_blobs')).toBe(3);
  }, 120_000);
});
