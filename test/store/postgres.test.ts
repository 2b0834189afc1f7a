import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/run.js';
import { postgresBackend } from './backends.js';
import { storeContract } from './contract.js';

storeContract(postgresBackend);

describe('PostgreSQL store opening', () => {
  it('says which server it could not reach, without the password', async () => {
    const url = new URL(await createTestDatabase('unreachable'));
    url.port = '1';
    await expect(openStore({ dataDir: tempDir(), databaseUrl: url.toString() })).rejects.toThrow(/cannot open the PostgreSQL store postgres:\/\/mugaika:\*\*\*@127\.0\.0\.1:1\//);
    await expect(openStore({ dataDir: tempDir(), databaseUrl: url.toString() })).rejects.not.toThrow(new RegExp(url.password));
  });

  it('lets several gateways open (and migrate) one database at once', async () => {
    const databaseUrl = await createTestDatabase('migrate');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore({ dataDir: tempDir(), databaseUrl })));
    for (const s of stores) expect((await s.head()).seq).toBe(0);
    await Promise.all(stores.map((s) => s.close()));
  });
});
