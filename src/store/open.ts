// Opens the store the configuration names: PostgreSQL when a database URL is
// given (config database.url or MUGAIKA_DATABASE_URL), otherwise SQLite in
// <data dir>/mugaika.db.
import type { Store } from './types.js';

export interface OpenStoreOptions {
  dataDir: string;
  /** postgres:// or postgresql:// URL; without it, SQLite under dataDir. */
  databaseUrl?: string | undefined;
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (opts.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
      throw new Error('database URL must start with postgres:// or postgresql:// / データベース URL は postgres:// で始めてください');
    }
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(opts.databaseUrl);
  }
  const { openSqliteStore } = await import('./sqlite.js');
  return openSqliteStore(opts.dataDir);
}
