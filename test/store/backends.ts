// The two store adapters as the tests open them: each test gets a fresh data
// dir (SQLite) or a fresh database (PostgreSQL), and raw SQL access to the
// same database to play the attacker or check what is really stored.
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/run.js';

export interface Backend {
  kind: 'sqlite' | 'postgres';
  /** A fresh, empty store. */
  fresh(): Promise<Opened>;
}

export interface Opened {
  store: Store;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Opens another Store on the same database (another gateway, another process's view). */
  reopen(): Promise<Store>;
  /** Raw SQL on the same database, bypassing the adapter. Placeholders $1, $2, ... in order. */
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export const sqliteBackend: Backend = {
  kind: 'sqlite',
  async fresh() {
    const dataDir = path.join(tempDir('mugaika-store-'), 'data');
    const store = await openStore({ dataDir });
    const raw = new Database(path.join(dataDir, 'mugaika.db'));
    // An attacker with the file is not bound by our foreign keys.
    raw.pragma('foreign_keys = OFF');
    const extra: Store[] = [];
    return {
      store,
      dataDir,
      databaseUrl: undefined,
      async reopen() {
        const s = await openStore({ dataDir });
        extra.push(s);
        return s;
      },
      async sql(text, params = []) {
        const stmt = raw.prepare(text.replace(/\$\d+/g, '?'));
        if (stmt.reader) return stmt.all(...params) as Record<string, unknown>[];
        stmt.run(...params);
        return [];
      },
      async close() {
        raw.close();
        for (const s of [store, ...extra]) await s.close();
      },
    };
  },
};

export const postgresBackend: Backend = {
  kind: 'postgres',
  async fresh() {
    const databaseUrl = await createTestDatabase('store');
    const dataDir = path.join(tempDir('mugaika-store-pg-'), 'data');
    const store = await openStore({ dataDir, databaseUrl });
    const raw = new pg.Client({ connectionString: databaseUrl });
    await raw.connect();
    const extra: Store[] = [];
    return {
      store,
      dataDir,
      databaseUrl,
      async reopen() {
        const s = await openStore({ dataDir, databaseUrl });
        extra.push(s);
        return s;
      },
      async sql(text, params = []) {
        return (await raw.query(text, params)).rows as Record<string, unknown>[];
      },
      async close() {
        await raw.end();
        for (const s of [store, ...extra]) await s.close();
      },
    };
  },
};
