// What a restore ends with: the audit chain verified in the restored data
// dir (and database), and every kept original opened with the restored master
// key, counted. The result is recorded in the restored audit log.
//
// Without a master key (the backup had none and MUGAIKA_MASTER_KEY is not
// set) no key ring is opened: opening one would create a new, wrong key.
import { promises as fs } from 'node:fs';
import { headFilePath } from '../audit/head-file.js';
import { openAuditLog } from '../audit/log.js';
import { loadOrCreateSigner, loadTrust } from '../audit/signer.js';
import { verifyAudit } from '../audit/verify.js';
import type { VerifyResult } from '../audit/verify-types.js';
import { ENV_KEY, keyFilesOf, openKeyRing } from '../keys/key-ring.js';
import { itemStates } from '../model/item-states.js';
import { openVault } from '../quarantine/vault.js';
import { openStore } from '../store/open.js';

export interface RestoreCheck {
  verify: VerifyResult;
  originals: { total: number; opened: number; failed: string[]; keyAvailable: boolean };
}

const exists = (f: string): Promise<boolean> =>
  fs.access(f).then(
    () => true,
    () => false,
  );

export async function checkRestored(o: { dataDir: string; databaseUrl?: string | undefined; env: NodeJS.ProcessEnv; actor: string; backupCreatedAt: string }): Promise<RestoreCheck> {
  const store = await openStore({ dataDir: o.dataDir, databaseUrl: o.databaseUrl });
  try {
    const verify = await verifyAudit(store, await loadTrust(o.dataDir), { headFile: headFilePath(o.dataDir) });
    const log = openAuditLog(store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir, autoCheckpoint: verify.ok });
    try {
      const rows = await store.listItems({ states: itemStates.filter((s) => s !== 'expired') });
      const files = keyFilesOf(o.dataDir);
      const keyAvailable = Boolean(o.env[ENV_KEY]) || (await exists(files.current)) || (await exists(files.next));
      const failed: string[] = [];
      let opened = 0;
      if (keyAvailable) {
        const vault = await openVault({ dataDir: o.dataDir, store, audit: log, ring: await openKeyRing(o.dataDir, o.env) });
        for (const row of rows) {
          try {
            await vault.get(row.id);
            opened++;
          } catch {
            failed.push(row.id);
          }
        }
      } else {
        failed.push(...rows.map((r) => r.id));
      }
      await log.append({
        actor: o.actor,
        action: 'restored',
        object: null,
        details: { backupCreatedAt: o.backupCreatedAt, auditOk: verify.ok, records: verify.records, originals: rows.length, opened, keyAvailable },
      });
      return { verify, originals: { total: rows.length, opened, failed, keyAvailable } };
    } finally {
      await log.close();
    }
  } finally {
    await store.close();
  }
}
