// The audit log on both stores: group commit, checkpoints, head.json, the
// signing key's files, and several processes appending to one chain.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditEntryError } from '../../src/audit/chain.js';
import { headFilePath, readHeadFile } from '../../src/audit/head-file.js';
import { AuditLogClosedError, openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner, loadTrust } from '../../src/audit/signer.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { StateConflictError, type AuditEffects, type AuditEntry, type Store } from '../../src/store/types.js';
import type { ItemState } from '../../src/model/item-states.js';
import { item } from '../store/contract.js';
import { postgresBackend, sqliteBackend, type Backend, type Opened } from '../store/backends.js';

const e = (i: number): AuditEntry => ({ actor: 'relay', action: 'received', object: `Q-${i}`, details: { from: 'a@ext.jp', to: ['b@city.lg.jp'], i } });

/** The real store, with its appendAudit calls (= transactions) counted. */
const counted = (store: Store): { store: Store; commits: () => number } => {
  let n = 0;
  return { store: { ...store, kind: store.kind, blobs: store.blobs, appendAudit: (b, fx) => (n++, store.appendAudit(b, fx)) }, commits: () => n };
};

/** Runs `n` appends in a separate Node process (the compiled code in dist/). */
function appendInChild(dataDir: string, databaseUrl: string | undefined, tag: string, n: number): Promise<void> {
  const script = `
    const { openStore } = await import('./dist/store/open.js');
    const { openAuditLog } = await import('./dist/audit/log.js');
    const { loadOrCreateSigner } = await import('./dist/audit/signer.js');
    const [dataDir, url, tag, n] = process.argv.slice(1);
    const store = await openStore({ dataDir, databaseUrl: url || undefined });
    const log = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir, checkpointIntervalMs: 20 });
    for (let i = 0; i < Number(n); i++) {
      await Promise.all([log.append({ actor: tag, action: 'received', object: tag + '-' + i, details: { i } }), log.append({ actor: tag, action: 'verdict', object: tag + '-' + i, details: { verdict: 'sanitized' } })]);
    }
    await log.close();
    await store.close();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir, databaseUrl ?? '', tag, String(n)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child ${tag} exited ${code}: ${err}`))));
  });
}

for (const backend of [sqliteBackend, postgresBackend] as Backend[]) {
  describe(`audit log: ${backend.kind}`, () => {
    let o: Opened;
    afterEach(async () => {
      await o.close();
    });

    it('an append whose state change conflicts fails alone; the rest of its batch commits, in order', async () => {
      o = await backend.fresh();
      await o.store.insertItem(item('Q-1'));
      const c = counted(o.store);
      const log = openAuditLog(c.store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir, checkpointIntervalMs: 60_000 });
      const step = (from: ItemState[], to: ItemState): AuditEffects => ({ stateChanges: [{ id: 'Q-1', from, to, at: new Date(), by: 'admin' }] });
      const results = await Promise.allSettled([
        log.append(e(1)),
        log.append({ ...e(2), action: 'release-rejected' }, step(['released'], 'rejected')),
        log.append({ ...e(3), action: 'release-requested' }, step(['held'], 'release-requested')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StateConflictError);
      // One transaction for the batch, which failed; then one each.
      expect(c.commits()).toBe(4);
      expect((await o.store.readAudit(0, 10)).map((r) => [r.seq, r.object])).toEqual([
        [1, 'Q-1'],
        [2, 'Q-3'],
      ]);
      expect((await o.store.getItem('Q-1'))?.state).toBe('release-requested');
      await log.close();
      expect(await verifyAudit(o.store, await loadTrust(o.dataDir), { headFile: headFilePath(o.dataDir) })).toMatchObject({ ok: true, records: 2 });
    });

    it('writes a lone surrogate or NUL in actor and object as U+FFFD, and the log still verifies', async () => {
      o = await backend.fresh();
      const log = openAuditLog(o.store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir, checkpointIntervalMs: 60_000 });
      await log.append({ actor: 'console:ab\ud800c', action: 'login-failed', object: 'x\u0000y\udc00', details: { note: 'z\ud800\u0000' } });
      await log.close();
      const [r] = await o.store.readAudit(0, 10);
      expect([r!.actor, r!.object]).toEqual(['console:ab\uFFFDc', 'x\uFFFDy\uFFFD']);
      expect(JSON.parse(r!.details)).toEqual({ note: 'z\ud800\u0000' });
      expect(await verifyAudit(o.store, await loadTrust(o.dataDir), { headFile: headFilePath(o.dataDir) })).toMatchObject({ ok: true, records: 1 });
    });

    it('batches appends made together into one transaction, in call order, durable when they resolve', async () => {
      o = await backend.fresh();
      const c = counted(o.store);
      const log = openAuditLog(c.store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir, checkpointIntervalMs: 60_000 });
      const records = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(e(i))));
      expect(c.commits()).toBe(1);
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(records.map((r) => JSON.parse(r.details).i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      // Another connection (another process's view) sees them: they are committed.
      const other = await o.reopen();
      expect((await other.head()).seq).toBe(200);
      // Appends arriving while a commit is under way go into the next one together.
      const first = log.append(e(1000));
      await Promise.resolve();
      const rest = Array.from({ length: 50 }, (_, i) => log.append(e(1001 + i)));
      const many = log.appendMany([e(2000), e(2001), e(2002)]);
      await Promise.all([first, ...rest, many]);
      expect(c.commits()).toBeLessThanOrEqual(3);
      expect((await many).map((r) => r.seq)).toEqual([252, 253, 254]);
      await log.close();
    });

    it('rejects a bad entry alone; the others in its batch are written', async () => {
      o = await backend.fresh();
      const log = openAuditLog(o.store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir });
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const results = await Promise.allSettled([log.append(e(1)), log.append({ ...e(2), action: 'hacked' as never }), log.append({ ...e(3), details: circular }), log.append(e(4))]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(AuditEntryError);
      expect((await o.store.readAudit(0, 10)).map((r) => JSON.parse(r.details).i)).toEqual([1, 4]);
      await log.close();
      await expect(log.append(e(5))).rejects.toBeInstanceOf(AuditLogClosedError);
    });

    it('checkpoints while appending (not more than once per interval) and at close, also into head.json', async () => {
      o = await backend.fresh();
      const signer = await loadOrCreateSigner(o.dataDir);
      const log = openAuditLog(o.store, signer, { dataDir: o.dataDir, checkpointIntervalMs: 60_000 });
      for (let i = 0; i < 5; i++) await Promise.all([log.append(e(i)), log.append(e(i + 100))]);
      // The first commit is checkpointed at once (in the background: on two busy cores that
      // can take a while); the next checkpoint waits for the interval, or close().
      await vi.waitFor(async () => expect(await o.store.checkpoints()).not.toHaveLength(0), { timeout: 15_000, interval: 50 });
      const during = await o.store.checkpoints();
      expect(during).toHaveLength(1);
      await log.close();
      const cps = await o.store.checkpoints();
      // close() signs the head unless that first checkpoint already covered it (it reads
      // the head when it runs, which on a slow machine can be after the last commit).
      expect(cps).toHaveLength(during[0]!.seq === 10 ? 1 : 2);
      expect(cps.at(-1)?.seq).toBe(10);
      expect(cps.every((c) => c.keyId === signer.keyId)).toBe(true);
      expect(await readHeadFile(headFilePath(o.dataDir))).toEqual(cps.at(-1));
      expect(statSync(headFilePath(o.dataDir)).mode & 0o777).toBe(0o600);
      expect(await verifyAudit(o.store, await loadTrust(o.dataDir), { headFile: headFilePath(o.dataDir) })).toMatchObject({ ok: true, records: 10, unsignedTail: 0 });
    });

    it('keeps one chain when three processes append at once', async () => {
      o = await backend.fresh();
      await Promise.all(['gw-a', 'gw-b', 'gw-c'].map((tag) => appendInChild(o.dataDir, o.databaseUrl, tag, 40)));
      const res = await verifyAudit(o.store, await loadTrust(o.dataDir), { headFile: headFilePath(o.dataDir) });
      expect(res).toMatchObject({ ok: true, records: 240, unsignedTail: 0 });
      const all = await o.store.readAudit(0, 1000);
      for (const tag of ['gw-a', 'gw-b', 'gw-c']) expect(all.filter((r) => r.actor === tag)).toHaveLength(80);
    });
  });
}

describe('audit signing key', () => {
  it('is created once (0600, with its .pub) even when several openers race, and reused', async () => {
    const o = await sqliteBackend.fresh();
    try {
      const signers = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateSigner(o.dataDir)));
      expect(new Set(signers.map((s) => s.keyId)).size).toBe(1);
      const keyFile = path.join(o.dataDir, 'keys', 'audit-signing.key');
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(readFileSync(path.join(o.dataDir, 'keys', 'audit-signing.pub'), 'utf8')).toBe(signers[0]?.publicKeyPem);
      expect((await loadOrCreateSigner(o.dataDir)).keyId).toBe(signers[0]?.keyId);
      expect((await loadTrust(o.dataDir)).keyIds).toEqual([signers[0]?.keyId]);
    } finally {
      await o.close();
    }
  });
});
