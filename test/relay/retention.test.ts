// Retention: the gateway purges originals older than quarantine.retentionDays
// by itself (at start, then daily), and the purge is audited.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { openVault } from '../../src/quarantine/vault.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/run.js';
import { cleanup, startGateway, waitFor } from './harness.js';

afterEach(cleanup);

describe('quarantine retention in the gateway', () => {
  it('purges originals older than retentionDays at start and audits it; younger ones stay', async () => {
    const dataDir = path.join(tempDir('mugaika-retention-'), 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = await openSqliteStore(dataDir);
    const audit = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir });
    const vault = await openVault({ dataDir, store, audit, env: {} });
    const meta = (daysAgo: number) => ({
      receivedAt: new Date(Date.now() - daysAgo * 86_400_000),
      envelopeFrom: 'a@example.jp',
      envelopeTo: ['b@city.example.lg.jp'],
      from: 'a@example.jp',
      to: ['b@city.example.lg.jp'],
      subject: '件名',
      findings: [],
    });
    const old = await vault.put(Buffer.from('Subject: old\r\n\r\nold\r\n'), meta(40));
    const young = await vault.put(Buffer.from('Subject: young\r\n\r\nyoung\r\n'), meta(5));
    await audit.close();
    await store.close();

    const gw = await startGateway({ dataDir, config: { quarantine: { retentionDays: 30 } } });
    const check = await openSqliteStore(dataDir);
    try {
      await waitFor('the purge', async () => (await check.getItem(old))?.state === 'expired');
      // The audit record is committed by the audit thread just after the state change.
      await waitFor('the purge audit record', async () => (await check.searchAudit({ actions: ['purged'] })).length > 0);
      expect((await check.getItem(young))?.state).toBe('held');
      const purged = await check.searchAudit({ actions: ['purged'] });
      expect(purged.map((r) => JSON.parse(r.details) as { ids: string[] }).flatMap((d) => d.ids)).toEqual([old]);
      expect(purged[0]!.actor).toMatch(/^gateway:/);
    } finally {
      await check.close();
      await gw.stop();
    }
  });
});
