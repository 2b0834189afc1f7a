// The vault's behaviour, run against both stores (vault.sqlite.test.ts,
// vault.postgres.test.ts): real store, real audit log, real key files, real
// Maildir and SMTP carriers.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import { noDocuments } from '../../src/converters/unavailable.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { sanitize } from '../../src/core/sanitize.js';
import { createMaildirCarrier } from '../../src/delivery/maildir-carrier.js';
import { createSmtpCarrier } from '../../src/delivery/smtp-carrier.js';
import { keyFilesOf, openKeyRing } from '../../src/keys/key-ring.js';
import { createKeyFileOnce, keyIdOf } from '../../src/keys/master-key.js';
import { rewrapBatch, rotateMasterKey } from '../../src/keys/rotate.js';
import { QuarantineReadError, QuarantineWorkflowError } from '../../src/quarantine/errors.js';
import { openVault } from '../../src/quarantine/vault.js';
import { createWorkflow } from '../../src/quarantine/workflow.js';
import { freePort } from '../helpers/postfix.js';
import { testPostgres } from '../helpers/postgres.js';
import { b64, eml, policyWith, withAttachments } from '../helpers/run.js';
import type { Backend } from '../store/backends.js';
import { b64key, filesContaining, metaOf, original, vaultFixture, type VaultFixture } from './fixture.js';

const maildirFiles = (dataDir: string): string[] => {
  const dir = path.join(dataDir, 'maildir', 'new');
  return existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)) : [];
};

export function vaultSuite(backend: Backend): void {
  describe(`quarantine vault on ${backend.kind}`, () => {
    let f: VaultFixture;
    beforeEach(async () => {
      f = await vaultFixture(backend);
    });
    afterEach(async () => {
      await f.close();
    });

    it('keeps an original sealed and gives it back whole, with the clear columns search needs', async () => {
      const raw = original('roundtrip');
      const meta = metaOf({ envelopeTo: ['a@city.example.lg.jp', 'b@city.example.lg.jp'] });
      const id = await f.vault.put(raw, meta);
      expect(id).toMatch(/^Q-\d{8}-[A-Z2-7]{10}$/);
      const back = await f.vault.get(id);
      expect(back.raw.equals(raw)).toBe(true);
      expect(back.meta).toEqual(meta);
      const row = await f.store.getItem(id);
      expect(row).toMatchObject({
        state: 'held',
        gateway: 'gw-test',
        envelopeFrom: 'sender@example.jp',
        recipients: ['a@city.example.lg.jp', 'b@city.example.lg.jp'],
        size: raw.length,
        findings: ['attachment-removed'],
        keyId: f.vault.ring.wrapping().id,
      });
      expect(row?.sealedMeta.includes(Buffer.from('件名のテスト'))).toBe(false);
      expect((await f.vault.list({ recipient: 'b@city.example.lg.jp' })).map((i) => i.id)).toEqual([id]);
      const audited = await f.actions();
      expect(audited).toEqual([{ action: 'quarantined', object: id, actor: 'gw-test', details: expect.objectContaining({ from: 'sender@example.jp', findings: ['attachment-removed'] }) }]);
      expect(JSON.stringify(audited)).not.toContain('件名');
    });

    it('uses the header To when there is no envelope (mugaika sanitize)', async () => {
      const id = await f.vault.put(original('noenv'), metaOf({ envelopeFrom: null, envelopeTo: [], to: ['x@city.example.lg.jp', 'y@city.example.lg.jp'] }));
      expect((await f.store.getItem(id))?.recipients).toEqual(['x@city.example.lg.jp', 'y@city.example.lg.jp']);
    });

    it('leaves no plaintext of a removed attachment or of a blocked message anywhere it stores data', async () => {
      const canary = `CANARY-${randomBytes(4).toString('hex')}`;
      const sender = `canary-sender-${randomBytes(4).toString('hex')}@example.jp`;
      const exe = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.from(`${canary} 個人番号 ${canary}`), randomBytes(64)]);
      const withExe = withAttachments(`本文 ${canary}`, [{ type: 'application/octet-stream', filename: `${canary}.exe`, body: exe }], [`Sender: ${sender}`]);
      const blocked = eml(
        [
          `From: "${canary}" <${sender}>`,
          'To: staff@city.example.lg.jp',
          `Subject: ${canary} 機密`,
          'Date: Thu, 26 Nov 2026 10:00:00 +0900',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=utf-8',
        ],
        `${canary}\n${'x'.repeat(3000)}\n`,
      );
      const deps = { quarantine: f.vault, images: createSharpTranscoder(), documents: noDocuments, now: () => new Date(), randomToken: () => randomBytes(8).toString('hex') };
      const a = await sanitize({ raw: withExe, envelope: { mailFrom: sender, rcptTo: ['staff@city.example.lg.jp'] } }, defaultPolicy, deps);
      const b = await sanitize({ raw: blocked }, policyWith({ limits: { maxMessageBytes: 1000 }, actions: { oversize: 'quarantine' } }), deps);
      expect(a.findings.map((x) => x.code)).toContain('attachment-removed');
      expect(b.verdict).toBe('blocked');
      const needles = [Buffer.from(canary), Buffer.from(b64(exe).slice(0, 40)), Buffer.from('個人番号')];
      // The needles are really in what was kept, and decrypt back.
      expect(withExe.includes(needles[1]!) && withExe.includes(needles[0]!) && blocked.includes(needles[0]!)).toBe(true);
      expect((await f.vault.get(a.quarantineId!)).raw.equals(withExe)).toBe(true);
      expect((await f.vault.details(b.quarantineId!)).meta.subject).toContain(canary);
      await f.audit.checkpoint();
      expect(filesContaining(f.dataDir, needles)).toEqual([]);
      if (backend.kind === 'sqlite') {
        expect(readdirSync(f.dataDir)).toEqual(expect.arrayContaining(['mugaika.db', 'mugaika.db-wal']));
        // The search can see what is stored in the clear (the envelope sender column).
        expect(filesContaining(f.dataDir, [Buffer.from(sender)]).length).toBeGreaterThan(0);
      } else {
        await f.opened.sql('CHECKPOINT');
        const cluster = (await testPostgres()).dataDir;
        expect(filesContaining(cluster, [Buffer.from(sender)]).length).toBeGreaterThan(0);
        expect(filesContaining(cluster, needles)).toEqual([]);
      }
      // It reads every file of the test run's PostgreSQL cluster, which every test
      // file's database grows: over 60 s on two busy cores was seen.
    }, 240_000);

    it('keeps the data dir, key files and blobs private to the owner', async () => {
      const id = await f.vault.put(original('perm'), metaOf());
      const { dir, current } = keyFilesOf(f.dataDir);
      const modes = [f.dataDir, dir, current].map((p) => statSync(p).mode & 0o777);
      expect(modes).toEqual([0o700, 0o700, 0o600]);
      if (backend.kind === 'sqlite') {
        expect(statSync(path.join(f.dataDir, 'quarantine')).mode & 0o777).toBe(0o700);
        expect(statSync(path.join(f.dataDir, 'quarantine', `${id}.mgq`)).mode & 0o777).toBe(0o600);
        expect(statSync(path.join(f.dataDir, 'mugaika.db')).mode & 0o077).toBe(0);
      } else {
        expect(existsSync(path.join(f.dataDir, 'quarantine'))).toBe(false);
      }
    });

    it('with a wrong master key: an error naming both key ids, nothing released, state unchanged', async () => {
      const id = await f.vault.put(original('wrongkey'), metaOf());
      const rightId = f.vault.ring.wrapping().id;
      const wrongKey = b64key();
      const wrongId = keyIdOf(Buffer.from(wrongKey, 'base64'));
      const wrong = await f.vaultWith({ MUGAIKA_MASTER_KEY: wrongKey });
      await expect(wrong.get(id)).rejects.toThrow(new RegExp(`${id} is sealed under master key ${rightId}, but the keys here are ${wrongId}`));
      await expect(wrong.details(id)).rejects.toBeInstanceOf(QuarantineReadError);
      const carrier = createMaildirCarrier(path.join(f.dataDir, 'maildir'));
      await expect(createWorkflow(wrong).release(id, 'admin', carrier)).rejects.toThrow(/マスター鍵/);
      expect(maildirFiles(f.dataDir)).toEqual([]);
      expect((await f.store.getItem(id))?.state).toBe('held');
      expect((await f.actions()).map((a) => a.action)).toEqual(['quarantined', 'release-failed']);
    });

    it('refuses a truncated blob, a flipped tag byte, a swapped blob and a missing one; a release then changes nothing', async () => {
      const carrier = createMaildirCarrier(path.join(f.dataDir, 'maildir'));
      const wf = createWorkflow(f.vault);
      const ids = await Promise.all(['t', 'f', 's1', 's2', 'm'].map((t) => f.vault.put(original(t), metaOf())));
      const [truncated, flipped, swapA, swapB, missing] = ids as string[] as [string, string, string, string, string];
      const blobOf = async (id: string): Promise<Buffer> => (await f.vault.blobs.get(id))!;
      await f.vault.blobs.put(truncated, (await blobOf(truncated)).subarray(0, 30));
      const b = Buffer.from(await blobOf(flipped));
      b[4 + 12 + 3]! ^= 0x01; // inside the GCM tag
      await f.vault.blobs.put(flipped, b);
      await f.vault.blobs.put(swapA, await blobOf(swapB));
      await f.vault.blobs.delete(missing);
      await expect(f.vault.get(truncated)).rejects.toThrow(/the blob of .* is truncated/);
      await expect(f.vault.get(flipped)).rejects.toThrow(/the blob of .* failed authentication/);
      await expect(f.vault.get(swapA)).rejects.toThrow(/failed authentication: it was altered or belongs to another item/);
      await expect(f.vault.get(missing)).rejects.toThrow(/is missing from the blob store: restore it from backup/);
      for (const id of [truncated, flipped, swapA, missing]) {
        await expect(wf.release(id, 'admin', carrier)).rejects.toBeInstanceOf(QuarantineReadError);
        expect((await f.store.getItem(id))?.state).toBe('held');
      }
      expect(maildirFiles(f.dataDir)).toEqual([]);
      // Another item's wrapped key in this row does not open it either.
      const other = (await f.store.getItem(swapB))!;
      await f.store.rewrapKeys([{ id: swapA, keyId: other.keyId, wrappedKey: other.wrappedKey }]);
      await expect(f.vault.details(swapA)).rejects.toThrow(/does not open with master key/);
      await expect(f.vault.get('../keys/master')).rejects.toThrow(/not a quarantine id/);
      await expect(f.vault.get('Q-20260101-AAAAAAAAAA')).rejects.toThrow(/no quarantined message Q-20260101-AAAAAAAAAA/);
    });

    it('request, then release: re-delivered to the Maildir as the original marked as released (header, subject, first text line), audited', async () => {
      const raw = original('release');
      const id = await f.vault.put(raw, metaOf());
      const at = new Date('2026-12-06T04:05:00Z');
      const wf = createWorkflow(f.vault, () => at);
      await wf.request(id, 'staff:suzuki', '業務で必要');
      expect(await f.store.getItem(id)).toMatchObject({ state: 'release-requested', stateChangedBy: 'staff:suzuki' });
      await expect(wf.request(id, 'staff:suzuki')).rejects.toThrow(/cannot request .*: it is release-requested \(allowed from held\)/);
      const result = await wf.release(id, 'admin:佐藤', createMaildirCarrier(path.join(f.dataDir, 'maildir')));
      expect(result).toMatchObject({ ok: true, accepted: ['staff@city.example.lg.jp'] });
      const [file, ...more] = maildirFiles(f.dataDir);
      expect(more).toEqual([]);
      const delivered = readFileSync(file!);
      const header = `X-Mugaika-Released-By: =?UTF-8?B?${Buffer.from('admin:佐藤').toString('base64')}?=\r\n`;
      const subject = `Subject: =?UTF-8?B?${Buffer.from('【原本】').toString('base64')}?=\r\n original release\r\n`;
      const note = '【原本】隔離していた原本を解放したものです。無害化していません（解放: admin:佐藤、2026年12月6日 13:05）。\r\n';
      const [head, body] = raw.toString('utf8').split('\r\n\r\n');
      expect(delivered.toString('utf8')).toBe(`${header}${head!.replace('Subject: original release\r\n', subject)}\r\n\r\n${note}${body}`);
      expect(await f.store.getItem(id)).toMatchObject({ state: 'released', stateChangedBy: 'admin:佐藤' });
      await expect(wf.release(id, 'admin', createMaildirCarrier(path.join(f.dataDir, 'maildir')))).rejects.toBeInstanceOf(QuarantineWorkflowError);
      await expect(wf.reject(id, 'admin')).rejects.toThrow(/cannot reject .*: it is released/);
      const audited = await f.actions();
      expect(audited.map((a) => [a.action, a.actor])).toEqual([
        ['quarantined', 'gw-test'],
        ['release-requested', 'staff:suzuki'],
        ['release-approved', 'admin:佐藤'],
        ['release-delivered', 'admin:佐藤'],
      ]);
      expect(audited[1]?.details).toMatchObject({ reason: '業務で必要', fromState: 'held', toState: 'release-requested' });
    });

    it('reject from held or from a request; a rejected item cannot be requested or released', async () => {
      const wf = createWorkflow(f.vault);
      const a = await f.vault.put(original('rej-a'), metaOf());
      const b = await f.vault.put(original('rej-b'), metaOf());
      await wf.reject(a, 'admin', 'phishing');
      await wf.request(b, 'staff');
      await wf.reject(b, 'admin');
      for (const id of [a, b]) {
        expect((await f.store.getItem(id))?.state).toBe('rejected');
        await expect(wf.request(id, 'staff')).rejects.toThrow(/状態が rejected のため解放申請できません/);
        await expect(wf.release(id, 'admin', createMaildirCarrier(path.join(f.dataDir, 'maildir')))).rejects.toThrow(/it is rejected/);
      }
      expect(maildirFiles(f.dataDir)).toEqual([]);
      expect((await f.actions()).filter((x) => x.action === 'release-rejected').map((x) => x.object)).toEqual([a, b]);
    });

    it('two requests raced on one item: one wins, with its record; the other changes and records nothing', async () => {
      const wf = createWorkflow(f.vault);
      const id = await f.vault.put(original('race'), metaOf());
      const outcomes = await Promise.allSettled([wf.request(id, 'staff:tanaka'), wf.request(id, 'staff:suzuki')]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const won = outcomes.findIndex((o) => o.status === 'fulfilled');
      expect((outcomes[1 - won] as PromiseRejectedResult).reason).toBeInstanceOf(QuarantineWorkflowError);
      const winner = won === 0 ? 'staff:tanaka' : 'staff:suzuki';
      expect(await f.store.getItem(id)).toMatchObject({ state: 'release-requested', stateChangedBy: winner });
      const steps = (await f.actions()).filter((x) => x.object === id && x.action !== 'quarantined');
      expect(steps.map((x) => [x.action, x.actor])).toEqual([['release-requested', winner]]);
    });

    it('a delivery the next hop does not accept is audited and leaves the state unchanged', async () => {
      const id = await f.vault.put(original('refused'), metaOf());
      const carrier = createSmtpCarrier({ host: '127.0.0.1', port: await freePort(), name: 'mugaika.test', maxConnections: 1, connectionTimeoutMs: 2000 });
      try {
        const result = await createWorkflow(f.vault).release(id, 'admin', carrier);
        expect(result.ok).toBe(false);
      } finally {
        await carrier.close();
      }
      expect((await f.store.getItem(id))?.state).toBe('held');
      const last = (await f.actions()).at(-1);
      expect(last).toMatchObject({ action: 'release-failed', object: id, details: { failed: [expect.objectContaining({ rcpt: 'staff@city.example.lg.jp', code: null })] } });
    });

    it('purge expires items past retention: blob deleted, row kept, audited with the count', async () => {
      const day = 86_400_000;
      const old1 = await f.vault.put(original('old1'), metaOf({ receivedAt: new Date(Date.now() - 100 * day) }));
      const old2 = await f.vault.put(original('old2'), metaOf({ receivedAt: new Date(Date.now() - 91 * day) }));
      const recent = await f.vault.put(original('recent'), metaOf({ receivedAt: new Date(Date.now() - 89 * day) }));
      await createWorkflow(f.vault).reject(old2, 'admin');
      const result = await createWorkflow(f.vault).purge(90, 'cli:ops');
      expect(result.ids.sort()).toEqual([old1, old2].sort());
      for (const id of [old1, old2]) {
        expect(await f.vault.blobs.get(id)).toBeNull();
        expect(await f.store.getItem(id)).toMatchObject({ state: 'expired', stateChangedBy: 'cli:ops' });
        await expect(f.vault.get(id)).rejects.toThrow(/was purged after its retention period/);
        expect((await f.vault.details(id)).meta.subject).toBe('件名のテスト');
      }
      expect((await f.vault.get(recent)).raw.equals(original('recent'))).toBe(true);
      expect((await f.actions()).filter((a) => a.action === 'purged').map((a) => a.details)).toEqual([expect.objectContaining({ count: 2, retentionDays: 90 })]);
      expect((await createWorkflow(f.vault).purge(90, 'cli:ops')).count).toBe(0);
      expect((await f.actions()).at(-1)).toMatchObject({ action: 'purged', details: { count: 0 } });
    });

    it('rotation re-wraps every data key, leaves the blobs byte-identical, and the old key no longer opens them', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push(await f.vault.put(original(`rot${i}`), metaOf()));
      const oldKey = readFileSync(keyFilesOf(f.dataDir).current);
      const before = await Promise.all(ids.map((id) => f.vault.blobs.get(id)));
      const report = await rotateMasterKey({ dataDir: f.dataDir, env: {}, store: f.store, audit: f.audit, actor: 'cli:ops', batchSize: 3 });
      expect(report).toMatchObject({ source: 'file', from: keyIdOf(oldKey), rewrapped: 7, resumed: false });
      const files = keyFilesOf(f.dataDir);
      expect(existsSync(files.next)).toBe(false);
      expect(keyIdOf(readFileSync(files.current))).toBe(report.to);
      expect(readdirSync(files.dir).filter((n) => n.startsWith('master'))).toEqual(['master.key']);
      const after = await Promise.all(ids.map((id) => f.vault.blobs.get(id)));
      after.forEach((blob, i) => expect(blob!.equals(before[i]!)).toBe(true));
      const fresh = await f.vaultWith({});
      for (const [i, id] of ids.entries()) expect((await fresh.get(id)).raw.equals(original(`rot${i}`))).toBe(true);
      // The long-running vault picks the new key up too.
      expect((await f.vault.get(ids[0]!)).raw.equals(original('rot0'))).toBe(true);
      expect((await f.store.getItem(await f.vault.put(original('after'), metaOf())))?.keyId).toBe(report.to);
      const withOld = await f.vaultWith({ MUGAIKA_MASTER_KEY: oldKey.toString('base64') });
      await expect(withOld.get(ids[0]!)).rejects.toThrow(new RegExp(`sealed under master key ${report.to}`));
      expect((await f.actions()).filter((a) => a.action === 'key-rotated')).toEqual([
        expect.objectContaining({ actor: 'cli:ops', details: { fromKeyId: report.from, toKeyId: report.to, count: 7, source: 'file', resumed: false } }),
      ]);
    });

    it('an item committed while a whole rotation ran (its key wrapped under the retired key) is re-wrapped and stays readable', async () => {
      const files = keyFilesOf(f.dataDir);
      const old = keyIdOf(readFileSync(files.current));
      let report: Awaited<ReturnType<typeof rotateMasterKey>> | undefined;
      // The rotation runs, start to end, after this put wrapped its data key and before its commit.
      const racing = await openVault({
        dataDir: f.dataDir,
        store: f.store,
        gateway: 'gw-race',
        env: {},
        audit: {
          async append(entry, items) {
            report ??= await rotateMasterKey({ dataDir: f.dataDir, env: {}, store: f.store, audit: f.audit, actor: 'cli:ops' });
            return f.audit.append(entry, items);
          },
        },
      });
      const id = await racing.put(original('race'), metaOf());
      expect(report).toMatchObject({ from: old });
      expect(existsSync(files.next)).toBe(false);
      expect((await f.store.getItem(id))?.keyId).toBe(report!.to);
      // A process that starts now knows only the new key.
      expect((await (await f.vaultWith({})).get(id)).raw.equals(original('race'))).toBe(true);
    });

    it('a rotation that crashed half-way leaves every item readable, and running it again finishes', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await f.vault.put(original(`crash${i}`), metaOf()));
      const files = keyFilesOf(f.dataDir);
      const old = keyIdOf(readFileSync(files.current));
      // What rotateMasterKey does first, then one batch of two: the "crash".
      const next = await createKeyFileOnce(files.next);
      const ring = await openKeyRing(f.dataDir, {});
      expect(await rewrapBatch(f.store, ring, next, 2)).toBe(2);
      const keyIds = async (): Promise<string[]> => Promise.all(ids.map(async (id) => (await f.store.getItem(id))!.keyId));
      expect((await keyIds()).sort()).toEqual([next.id, next.id, old, old, old].sort());
      // A new process (a restarted gateway, the CLI) reads all of them, and writes new items under the next key.
      const restarted = await f.vaultWith({});
      for (const [i, id] of ids.entries()) expect((await restarted.get(id)).raw.equals(original(`crash${i}`))).toBe(true);
      const during = await restarted.put(original('during'), metaOf());
      expect((await f.store.getItem(during))?.keyId).toBe(next.id);
      const report = await rotateMasterKey({ dataDir: f.dataDir, env: {}, store: f.store, audit: f.audit, actor: 'cli:ops' });
      expect(report).toMatchObject({ from: old, to: next.id, rewrapped: 3, resumed: true });
      expect(new Set(await keyIds())).toEqual(new Set([next.id]));
      const after = await f.vaultWith({});
      for (const [i, id] of ids.entries()) expect((await after.get(id)).raw.equals(original(`crash${i}`))).toBe(true);
    });

    it('rotates keys given in the environment: MUGAIKA_MASTER_KEY_NEW, no key file written', async () => {
      await f.close();
      const oldKey = b64key();
      f = await vaultFixture(backend, { MUGAIKA_MASTER_KEY: oldKey });
      const id = await f.vault.put(original('env'), metaOf());
      await expect(rotateMasterKey({ dataDir: f.dataDir, env: { MUGAIKA_MASTER_KEY: oldKey }, store: f.store, audit: f.audit, actor: 'cli:ops' })).rejects.toThrow(
        /set MUGAIKA_MASTER_KEY_NEW to the new key/,
      );
      const newKey = b64key();
      const report = await rotateMasterKey({ dataDir: f.dataDir, env: { MUGAIKA_MASTER_KEY: oldKey, MUGAIKA_MASTER_KEY_NEW: newKey }, store: f.store, audit: f.audit, actor: 'cli:ops' });
      expect(report).toMatchObject({ source: 'env', rewrapped: 1, to: keyIdOf(Buffer.from(newKey, 'base64')) });
      expect(existsSync(keyFilesOf(f.dataDir).current)).toBe(false);
      expect((await (await f.vaultWith({ MUGAIKA_MASTER_KEY: newKey })).get(id)).raw.equals(original('env'))).toBe(true);
      await expect((await f.vaultWith({ MUGAIKA_MASTER_KEY: oldKey })).get(id)).rejects.toThrow(/sealed under master key/);
    });

    it('opens a vault over an existing store with the same keys from two processes’ views', async () => {
      const other = await openVault({ dataDir: f.dataDir, store: await f.opened.reopen(), audit: f.audit, env: {} });
      const id = await other.put(original('two'), metaOf());
      expect((await f.vault.get(id)).raw.equals(original('two'))).toBe(true);
    });
  });
}
