// Tamper detection, run against both adapters (verify-*.test.ts): a log of
// 30 records with signed checkpoints at 10, 20 and 30, then the database is
// edited with plain SQL, as an attacker with database access would, and
// verifyAudit must name the first record that cannot be trusted.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordHash } from '../../src/audit/chain.js';
import { headFilePath } from '../../src/audit/head-file.js';
import { openAuditLog } from '../../src/audit/log.js';
import { checkpointText, keyIdOf, loadOrCreateSigner, loadTrust } from '../../src/audit/signer.js';
import { verifyAudit, type VerifyResult } from '../../src/audit/verify.js';
import { segmentsOnThreads } from '../../src/audit/verify-parallel.js';
import type { AuditRecord, IndexedAuditRow, Store } from '../../src/store/types.js';
import type { Backend, Opened } from '../store/backends.js';
import { sign } from 'node:crypto';

const T0 = Date.parse('2026-05-01T09:00:00.000Z');

export function verifyContract(backend: Backend): void {
  // On one thread, and cut into chunks checked on two threads (as long logs
  // are): two chunks, and chunks of 4 records (smaller than a page).
  describe.each([
    ['one thread', 0],
    ['two threads, two chunks', 1_000],
    ['two threads, chunks of 4', 4],
  ])(`verifyAudit finds tampering: ${backend.kind}, %s`, (_mode, chunkRecords) => {
    let o: Opened;

    const verify = async (pageSize = 7): Promise<VerifyResult> =>
      verifyAudit(o.store, await loadTrust(o.dataDir), {
        headFile: headFilePath(o.dataDir),
        pageSize,
        ...(chunkRecords > 0 ? { parallel: segmentsOnThreads({ dataDir: o.dataDir, databaseUrl: o.databaseUrl, pageSize }), parallelMinRecords: 2, chunkRecords } : {}),
      });

    const records = async (): Promise<AuditRecord[]> => o.store.readAudit(0, 1000);

    /** Renumbers records with seq >= from by delta (both tables on SQLite), as an attacker must. */
    const shift = async (from: number, delta: number): Promise<void> => {
      // Through a far range: a direct seq + 1 would collide with the next row.
      for (const table of backend.kind === 'sqlite' ? ['audit_records', 'audit_recipients'] : ['audit_records']) {
        await o.sql(`UPDATE ${table} SET seq = seq + 1000000 + $1 WHERE seq >= $2`, [delta, from]);
        await o.sql(`UPDATE ${table} SET seq = seq - 1000000 WHERE seq > 1000000`);
      }
    };

    const insertRaw = async (r: AuditRecord): Promise<void> => {
      await o.sql(
        `INSERT INTO audit_records (seq, time, actor, action, object, details, prev_hash, hash, sender, verdict${backend.kind === 'postgres' ? ', recipients' : ''})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL${backend.kind === 'postgres' ? ", '{}'" : ''})`,
        [r.seq, r.time, r.actor, r.action, r.object, r.details, r.prevHash, r.hash],
      );
    };

    /** Rewrites records from `from` to the end with valid hashes, as if the chain were rebuilt. */
    const rewriteForward = async (from: number, edit: (r: AuditRecord) => AuditRecord): Promise<void> => {
      const all = await records();
      let prev = all[from - 2]?.hash as string;
      for (const r of all.slice(from - 1)) {
        const changed = r.seq === from ? edit(r) : r;
        const hash = recordHash(prev, changed);
        await o.sql('UPDATE audit_records SET details = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [changed.details, prev, hash, r.seq]);
        prev = hash;
      }
    };

    const expectBad = (res: VerifyResult, seq: number, kind?: string): void => {
      if (res.ok) throw new Error(`verification passed, expected a problem at seq ${seq}`);
      expect(res.firstBadSeq).toBe(seq);
      if (kind) expect(res.kind).toBe(kind);
      expect(res.problem).toMatch(/[ぁ-んァ-ン一-龯].* \/ [a-z]/);
    };

    beforeEach(async () => {
      o = await backend.fresh();
      const signer = await loadOrCreateSigner(o.dataDir);
      let n = 0;
      const log = openAuditLog(o.store, signer, { dataDir: o.dataDir, autoCheckpoint: false, now: () => new Date(T0 + n * 1000) });
      for (let batch = 0; batch < 3; batch++) {
        await Promise.all(
          Array.from({ length: 10 }, () => {
            n++;
            return log.append({
              actor: 'relay',
              action: n % 2 ? 'received' : 'verdict',
              object: `Q-${n}`,
              details: { from: `s${n}@ext.example.jp`, to: [`r${n % 3}@city.example.lg.jp`, 'all@city.example.lg.jp'], verdict: n % 2 ? undefined : 'sanitized', n },
            });
          }),
        );
        await log.checkpoint();
      }
      await log.close();
    });
    afterEach(async () => {
      await o.close();
    });

    it('passes an intact log, with every checkpoint and the head file checked', async () => {
      expect(await verify()).toEqual({ ok: true, records: 30, head: { seq: 30, hash: (await records())[29]?.hash }, checkpoints: 4, unsignedTail: 0, headFile: 'matched' });
      expect(await verify(1000)).toMatchObject({ ok: true, records: 30 });
    });

    it('an edited record', async () => {
      await o.sql('UPDATE audit_records SET details = $1 WHERE seq = 17', ['{"from":"s17@ext.example.jp","n":170}']);
      expectBad(await verify(), 17, 'edited-record');
    });

    it('an edited record whose hash was recomputed', async () => {
      const r = (await records())[16] as AuditRecord;
      const edited = { ...r, actor: 'admin' };
      await o.sql('UPDATE audit_records SET actor = $1, hash = $2 WHERE seq = 17', ['admin', recordHash(r.prevHash, edited)]);
      expectBad(await verify(), 17, 'rehashed-record');
    });

    it('a store whose JSON says the same values otherwise (\\u escapes) still verifies', async () => {
      const { store } = o;
      const escaping: Store = {
        ...store,
        scanAuditIndexed: (afterSeq, limit, visit) =>
          store.scanAuditIndexed(afterSeq, limit, (r) => visit([r[0], r[1].replace(/(?<!\\)[a-z]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`), ...r.slice(2)] as IndexedAuditRow)),
      };
      expect(await verifyAudit(escaping, await loadTrust(o.dataDir), { headFile: headFilePath(o.dataDir) })).toMatchObject({ ok: true, records: 30 });
    });

    it.skipIf(backend.kind !== 'sqlite')('a field, a search column or an address turned into a BLOB (SQLite keeps any type)', async () => {
      await o.sql('UPDATE audit_records SET details = CAST(details AS BLOB) WHERE seq = 17');
      expectBad(await verify(), 17, 'edited-record');
      await o.sql('UPDATE audit_records SET sender = CAST(sender AS BLOB) WHERE seq = 13');
      expectBad(await verify(), 13, 'index-mismatch');
      await o.sql('UPDATE audit_recipients SET address = CAST(address AS BLOB) WHERE seq = 9');
      expectBad(await verify(), 9, 'index-mismatch');
    });

    it.skipIf(backend.kind !== 'sqlite')("a recipient row's time moved (the recipient search walks it: a record hidden from it)", async () => {
      await o.sql("UPDATE audit_recipients SET time = '1999-01-01T00:00:00.000Z' WHERE seq = 9");
      expectBad(await verify(), 9, 'index-mismatch');
    });

    it('a verify thread that fails fails verify with its error (the process lives on)', async () => {
      const failing = { parallel: () => Promise.reject(new Error('thread died')), parallelMinRecords: 2, chunkRecords: 4 };
      await expect(verifyAudit(o.store, await loadTrust(o.dataDir), { headFile: headFilePath(o.dataDir), ...failing })).rejects.toThrow('thread died');
    });

    it('an edited search column', async () => {
      await o.sql('UPDATE audit_records SET sender = $1 WHERE seq = 12', ['someone@else.jp']);
      expectBad(await verify(), 12, 'index-mismatch');
    });

    it('a deleted record', async () => {
      if (backend.kind === 'sqlite') await o.sql('DELETE FROM audit_recipients WHERE seq = 17');
      await o.sql('DELETE FROM audit_records WHERE seq = 17');
      expectBad(await verify(), 17, 'missing-record');
    });

    it('a deleted record with the later ones renumbered to close the gap', async () => {
      if (backend.kind === 'sqlite') await o.sql('DELETE FROM audit_recipients WHERE seq = 17');
      await o.sql('DELETE FROM audit_records WHERE seq = 17');
      await shift(18, -1);
      expectBad(await verify(), 17);
    });

    it('an inserted record (garbage hash)', async () => {
      const r = (await records())[16] as AuditRecord;
      await shift(17, 1);
      await insertRaw({ ...r, actor: 'intruder', details: '{}', hash: 'f'.repeat(64) });
      expectBad(await verify(), 17);
    });

    it('an inserted record with a valid hash and link', async () => {
      const r = (await records())[16] as AuditRecord;
      await shift(17, 1);
      const forged = { ...r, actor: 'intruder', details: '{}' };
      await insertRaw({ ...forged, hash: recordHash(r.prevHash, forged) });
      expectBad(await verify(), 17, 'inserted-records');
    });

    // Around 16, where two chunks meet (and chunks of 4 meet at 16 and 19):
    // a thread starting a chunk must name it as one thread does.
    it.each([14, 15, 16, 17, 18])('an inserted record with a valid hash and link at %i', async (at) => {
      const r = (await records())[at - 1] as AuditRecord;
      await shift(at, 1);
      const forged = { ...r, actor: 'intruder', details: '{}' };
      await insertRaw({ ...forged, hash: recordHash(r.prevHash, forged) });
      expectBad(await verify(), at, 'inserted-records');
    });

    it('two records swapped', async () => {
      await o.sql('UPDATE audit_records SET seq = 999999 WHERE seq = 17');
      await o.sql('UPDATE audit_records SET seq = 17 WHERE seq = 18');
      await o.sql('UPDATE audit_records SET seq = 18 WHERE seq = 999999');
      if (backend.kind === 'sqlite') {
        await o.sql('UPDATE audit_recipients SET seq = 999999 WHERE seq = 17');
        await o.sql('UPDATE audit_recipients SET seq = 17 WHERE seq = 18');
        await o.sql('UPDATE audit_recipients SET seq = 18 WHERE seq = 999999');
      }
      expectBad(await verify(), 17);
    });

    it('the whole chain rewritten forward from an edit: caught by the next signed checkpoint', async () => {
      await rewriteForward(15, (r) => ({ ...r, details: r.details.replace('"n":15', '"n":1500') }));
      // Records 11..20 are no longer vouched for by any checkpoint; 1..10 still are.
      expectBad(await verify(), 11, 'checkpoint-mismatch');
    });

    it('rewritten forward with the later checkpoints deleted: caught by head.json', async () => {
      await rewriteForward(15, (r) => ({ ...r, details: r.details.replace('"n":15', '"n":1500') }));
      await o.sql('DELETE FROM audit_checkpoints WHERE seq > 10');
      expectBad(await verify(), 11, 'head-file-mismatch');
    });

    it('the newest records deleted together with their checkpoints: caught by head.json', async () => {
      if (backend.kind === 'sqlite') await o.sql('DELETE FROM audit_recipients WHERE seq > 25');
      await o.sql('DELETE FROM audit_records WHERE seq > 25');
      await o.sql('DELETE FROM audit_checkpoints WHERE seq > 25');
      expectBad(await verify(), 26, 'records-deleted-at-end');
      // The audit log refuses to overwrite that evidence with a newer checkpoint.
      const log = openAuditLog(o.store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir, autoCheckpoint: false });
      await log.append({ actor: 'cli', action: 'audit-verified', object: null, details: {} });
      await expect(log.checkpoint()).rejects.toThrow(/no longer holds record 30/);
      await log.close();
      expect(await verify()).toMatchObject({ ok: false, kind: 'records-deleted-at-end' });
    });

    it('a forged checkpoint, and one by a key nobody trusts until its .pub is in keys/trusted/', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const keyId = keyIdOf(publicKey);
      // In both halves: the second thread must trust the same keys.
      for (const seq of [5, 25]) {
        const r = (await records())[seq - 1] as AuditRecord;
        const unsigned = { seq, hash: r.hash, time: new Date(T0).toISOString(), keyId };
        await o.sql('INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature) VALUES ($1, $2, $3, $4, $5)', [
          seq,
          r.hash,
          unsigned.time,
          keyId,
          sign(null, Buffer.from(checkpointText(unsigned)), privateKey).toString('base64'),
        ]);
      }
      expectBad(await verify(), 5, 'checkpoint-unknown-key');
      mkdirSync(path.join(o.dataDir, 'keys', 'trusted'), { recursive: true });
      writeFileSync(path.join(o.dataDir, 'keys', 'trusted', 'gw2.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
      expect(await verify()).toMatchObject({ ok: true, checkpoints: 6 });
      await o.sql('UPDATE audit_checkpoints SET hash = $1 WHERE seq = 20', [(await records())[18]?.hash]);
      expectBad(await verify(), 20, 'checkpoint-bad-signature');
    });

    it('problems are named in log order: an edited record before a forged checkpoint', async () => {
      await o.sql('UPDATE audit_checkpoints SET hash = $1 WHERE seq = 20', [(await records())[18]?.hash]);
      await o.sql('UPDATE audit_records SET details = $1 WHERE seq = 17', ['{"from":"s17@ext.example.jp","n":170}']);
      expectBad(await verify(), 17, 'edited-record');
    });

    it('a forged checkpoint at seq 0, which vouches for no record', async () => {
      await o.sql('INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature) SELECT 0, hash, time, key_id, signature FROM audit_checkpoints WHERE seq = 10');
      expectBad(await verify(), 0, 'checkpoint-bad-signature');
    });

    it('the newest records deleted, their signed checkpoint left (no head file): caught by it; forged there: named', async () => {
      rmSync(headFilePath(o.dataDir));
      if (backend.kind === 'sqlite') await o.sql('DELETE FROM audit_recipients WHERE seq > 25');
      await o.sql('DELETE FROM audit_records WHERE seq > 25');
      expectBad(await verify(), 26, 'records-deleted-at-end');
      await o.sql('UPDATE audit_checkpoints SET hash = $1 WHERE seq = 30', ['0'.repeat(64)]);
      expectBad(await verify(), 30, 'checkpoint-bad-signature');
    });
  });
}
