import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { tempDir } from '../helpers/run.js';
import { sqliteBackend } from './backends.js';
import { storeContract } from './contract.js';

storeContract(sqliteBackend);

describe('SQLite store files', () => {
  it('creates the data dir 0700 and mugaika.db 0600 in WAL mode', async () => {
    const dataDir = path.join(tempDir(), 'fresh');
    const store = await openStore({ dataDir });
    try {
      expect(store.kind).toBe('sqlite');
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const file = path.join(dataDir, 'mugaika.db');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      await store.appendAudit(() => []);
      const raw = new Database(file, { readonly: true });
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      raw.close();
      expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it('refuses a database made by a newer mugaika, saying what to do', async () => {
    const dataDir = tempDir();
    await (await openStore({ dataDir })).close();
    const raw = new Database(path.join(dataDir, 'mugaika.db'));
    raw.prepare('UPDATE schema_version SET version = 99').run();
    raw.close();
    await expect(openStore({ dataDir })).rejects.toThrow(/schema version 99 is newer.*upgrade mugaika/);
  });
});
