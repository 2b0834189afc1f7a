// Everything a quarantine or key command needs, opened from the gateway's
// configuration: the store (PostgreSQL when database.url / MUGAIKA_DATABASE_URL
// is set, else SQLite under the data dir), the audit log and the vault.
import path from 'node:path';
import { openAuditLog, type AuditLog } from '../audit/log.js';
import { loadOrCreateSigner } from '../audit/signer.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { openVault, type Vault } from './vault.js';

export interface VaultContext {
  config: Config;
  dataDir: string;
  store: Store;
  audit: AuditLog;
  vault: Vault;
  /** Flushes the audit log and closes the store. */
  close(): Promise<void>;
}

export interface VaultContextOptions {
  configFile?: string;
  /** Overrides the configuration's data dir. */
  dataDir?: string;
  env: NodeJS.ProcessEnv;
}

/** Loads the configuration, then opens the store, the audit log and the vault (creating the master key on first use). */
export async function openVaultContext(o: VaultContextOptions): Promise<VaultContext> {
  const config = await loadConfig(o.configFile, o.env);
  const dataDir = path.resolve(o.dataDir ?? config.dataDir);
  const store = await openStore({ dataDir, databaseUrl: config.database.url });
  try {
    const audit = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir });
    const vault = await openVault({ dataDir, store, audit, env: o.env }).catch(async (err: unknown) => {
      await audit.close();
      throw err;
    });
    return {
      config,
      dataDir,
      store,
      audit,
      vault,
      async close() {
        try {
          await audit.close();
        } finally {
          await store.close();
        }
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
