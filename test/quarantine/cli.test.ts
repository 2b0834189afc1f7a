// `mugaika quarantine ...` and `mugaika key rotate` through the real binary
// (bin/mugaika.js on dist/), on items put by a real vault; releases go to a
// real SMTP sink on 127.0.0.1 and to the Maildir.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import type { QuarantineMeta } from '../../src/core/ports.js';
import { keyFilesOf } from '../../src/keys/key-ring.js';
import { keyIdOf } from '../../src/keys/master-key.js';
import { openVault } from '../../src/quarantine/vault.js';
import { openStore } from '../../src/store/open.js';
import type { ItemRow } from '../../src/store/types.js';
import { freePort } from '../helpers/postfix.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/run.js';
import { mugaika } from '../helpers/cli.js';
import { cleanup, startSink } from '../relay/harness.js';
import { b64key, metaOf, original } from './fixture.js';

/** Puts items with a real vault into `dataDir` (and the database, if given), then closes it. */
async function seed(dataDir: string, items: { tag: string; meta?: Partial<QuarantineMeta> }[], databaseUrl?: string): Promise<string[]> {
  const store = await openStore({ dataDir, databaseUrl });
  const audit = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir });
  const vault = await openVault({ dataDir, store, audit, env: {} });
  const ids: string[] = [];
  for (const i of items) ids.push(await vault.put(original(i.tag), metaOf(i.meta)));
  await audit.close();
  await store.close();
  return ids;
}

async function rowOf(dataDir: string, id: string, databaseUrl?: string): Promise<ItemRow | null> {
  const store = await openStore({ dataDir, databaseUrl });
  try {
    return await store.getItem(id);
  } finally {
    await store.close();
  }
}

/** A released original with its marks taken out again (X-Mugaika-Released-By, 【原本】 in the Subject, the first text line), checking each is there. */
const unmarked = (released: Buffer, actor: string): string => {
  const text = released.toString('utf8');
  const header = `X-Mugaika-Released-By: ${actor}\r\n`;
  const prefix = `Subject: =?UTF-8?B?${Buffer.from('【原本】').toString('base64')}?=\r\n `;
  const note = new RegExp(`\r\n\r\n【原本】隔離していた原本を解放したものです。無害化していません（解放: ${actor}、\\d{4}年\\d{1,2}月\\d{1,2}日 \\d\\d:\\d\\d）。\r\n`);
  expect(text.startsWith(header)).toBe(true);
  expect(text).toContain(prefix);
  expect(text).toMatch(note);
  return text.slice(header.length).replace(prefix, 'Subject: ').replace(note, '\r\n\r\n');
};

const maildir = (dataDir: string): string[] => {
  const dir = path.join(dataDir, 'maildir', 'new');
  return existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)) : [];
};

afterEach(cleanup);

describe('mugaika quarantine (CLI)', () => {
  it('lists, shows (decrypted subject, --raw), requests and releases to the SMTP next hop; refuses what the workflow does not allow', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const [a, b] = await seed(data, [{ tag: 'cli-a', meta: { subject: '請求書の件' } }, { tag: 'cli-b' }]);
    const dd = ['--data-dir', data];

    const list = await mugaika(['quarantine', 'list', ...dd]);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(a);
    expect(list.stdout).toContain(`2 件 / 2 items`);
    // Times in JST for a person (--json keeps ISO 8601).
    expect(list.stdout).toMatch(new RegExp(`^${a}  held +\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d  `, 'm'));
    expect(list.stdout).not.toContain('請求書');
    const json = (await mugaika(['quarantine', 'list', '--json', '--state', 'held', ...dd])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; state: string });
    expect(json.map((j) => j.id).sort()).toEqual([a, b].sort());
    const bogus = await mugaika(['quarantine', 'list', '--state', 'bogus', ...dd]);
    expect(bogus.code).not.toBe(0);
    expect(bogus.stderr).toContain('held, release-requested, released, rejected, expired');

    const show = await mugaika(['quarantine', 'show', a!, ...dd]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('件名 / subject: 請求書の件');
    expect(show.stdout).toMatch(/^状態 \/ state: held \(\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d, /m);
    expect((await mugaika(['quarantine', 'show', a!, '--raw', ...dd])).bytes.equals(original('cli-a'))).toBe(true);
    const rawFile = path.join(dir, 'orig.eml');
    expect((await mugaika(['quarantine', 'show', a!, '--raw', '-o', rawFile, ...dd])).code).toBe(0);
    expect(readFileSync(rawFile).equals(original('cli-a'))).toBe(true);
    expect(statSync(rawFile).mode & 0o077).toBe(0);
    // Each read of an original is audited with who read it.
    const store = await openStore({ dataDir: data });
    const viewed = await store.searchAudit({ actions: ['original-viewed'], objects: [a!] });
    await store.close();
    expect(viewed.map((r) => JSON.parse(r.details).output)).toEqual(['stdout', rawFile]);
    expect(viewed[0]!.actor).toMatch(/^cli:/);

    const req = await mugaika(['quarantine', 'request', a!, '--reason', '取引先からの正規の請求書', '--by', 'staff:tanaka', ...dd]);
    expect(req.code).toBe(0);
    expect(req.stdout).toContain('解放を申請しました');
    expect((await rowOf(data, a!))?.state).toBe('release-requested');

    const sink = await startSink();
    const config = path.join(dir, 'gateway.yaml');
    writeFileSync(config, `delivery:\n  nextHop: 127.0.0.1:${sink.port}\n`);
    const rel = await mugaika(['quarantine', 'release', a!, '-c', config, '--by', 'admin:sato', ...dd]);
    expect(rel.stderr).toBe('');
    expect(rel.code).toBe(0);
    expect(rel.stdout).toContain(`smtp:127.0.0.1:${sink.port}`);
    await expect.poll(() => sink.messages.length).toBe(1);
    expect(sink.messages[0]).toMatchObject({ from: 'sender@example.jp', to: ['staff@city.example.lg.jp'] });
    expect(unmarked(sink.messages[0]!.raw, 'admin:sato')).toBe(original('cli-a').toString('utf8'));
    expect(await rowOf(data, a!)).toMatchObject({ state: 'released', stateChangedBy: 'admin:sato' });

    const again = await mugaika(['quarantine', 'release', a!, '-c', config, ...dd]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^mugaika: .*は状態が released のため解放できません.*\/ cannot release .*: it is released/);
    expect(again.stderr).not.toContain('    at ');
    const rej = await mugaika(['quarantine', 'reject', b!, '--reason', 'phishing', ...dd]);
    expect(rej.code).toBe(0);
    expect((await mugaika(['quarantine', 'request', b!, ...dd])).code).toBe(1);
    expect((await mugaika(['quarantine', 'show', 'Q-20260101-AAAAAAAAAA', ...dd])).stderr).toContain('no quarantined message Q-20260101-AAAAAAAAAA');
    expect(sink.messages).toHaveLength(1);
  });

  it('releases to the Maildir without a next hop; a next hop that refuses leaves the state and exits non-zero', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const [a, b] = await seed(data, [{ tag: 'md-a' }, { tag: 'md-b' }]);
    const ok = await mugaika(['quarantine', 'release', a!, '--data-dir', data, '--by', 'admin']);
    expect(ok.code).toBe(0);
    const [file] = maildir(data);
    expect(unmarked(readFileSync(file!), 'admin')).toBe(original('md-a').toString('utf8'));

    const refusing = await startSink({ rcpt: () => ({ code: 550, message: '5.1.1 no such user' }) });
    const config = path.join(dir, 'c.yaml');
    writeFileSync(config, `delivery:\n  nextHop: 127.0.0.1:${refusing.port}\n`);
    const bad = await mugaika(['quarantine', 'release', b!, '-c', config, '--data-dir', data]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('could not deliver');
    expect(bad.stderr).toContain('staff@city.example.lg.jp: 550');
    writeFileSync(config, `delivery:\n  nextHop: 127.0.0.1:${await freePort()}\n  connectionTimeoutMs: 2000\n`);
    expect((await mugaika(['quarantine', 'release', b!, '-c', config, '--data-dir', data])).code).toBe(75);
    expect((await rowOf(data, b!))?.state).toBe('held');
    expect(maildir(data)).toHaveLength(1);
  });

  it("marks a release as the gateway's policy says (release.subjectPrefix, language)", async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const [a] = await seed(data, [{ tag: 'pol-a' }]);
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(policy, 'language: en\nrelease:\n  subjectPrefix: "[ORIGINAL]"\n');
    const config = path.join(dir, 'c.yaml');
    writeFileSync(config, `policyFile: ${policy}\n`);
    expect((await mugaika(['quarantine', 'release', a!, '-c', config, '--data-dir', data, '--by', 'admin'])).code).toBe(0);
    const text = readFileSync(maildir(data)[0]!).toString('utf8');
    expect(text).toContain('Subject: [ORIGINAL]\r\n original pol-a\r\n');
    expect(text).toMatch(/\r\n\r\n\[Original\] This is the quarantined original, released by admin on \d{4}-\d\d-\d\d \d\d:\d\d JST\. It was not sanitized\.\r\n本文 pol-a/);
  });

  it('holds to release.approvals: 2 as the console does: a first approval is recorded, the same administrator cannot give the second', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const [a] = await seed(data, [{ tag: 'two-a' }]);
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(policy, 'release:\n  approvals: 2\n');
    const config = path.join(dir, 'c.yaml');
    writeFileSync(config, `policyFile: ${policy}\n`);
    const first = await mugaika(['quarantine', 'release', a!, '-c', config, '--data-dir', data, '--by', 'admin:sato', '--comment', '取引先に確認済み']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('1人目の承認を記録しました');
    expect((await rowOf(data, a!))?.state).toBe('held');
    expect(maildir(data)).toHaveLength(0);
    const again = await mugaika(['quarantine', 'release', a!, '-c', config, '--data-dir', data, '--by', 'admin:sato']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already approved');
    expect(maildir(data)).toHaveLength(0);
    const second = await mugaika(['quarantine', 'release', a!, '-c', config, '--data-dir', data, '--by', 'admin:suzuki']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('released');
    expect((await rowOf(data, a!))?.state).toBe('released');
    expect(maildir(data)).toHaveLength(1);
    // Both approvals are in the audit log: the first recorded with its comment, the release with both approvers.
    const store = await openStore({ dataDir: data });
    try {
      const records = await store.searchAudit({ objects: [a!], actions: ['release-approval-recorded', 'release-approved'] });
      expect(records.map((r) => [r.actor, r.action])).toEqual([
        ['admin:sato', 'release-approval-recorded'],
        ['admin:suzuki', 'release-approved'],
      ]);
      expect(JSON.parse(records[0]!.details)).toMatchObject({ comment: '取引先に確認済み', approvalsNeeded: 2 });
      expect(JSON.parse(records[1]!.details)).toMatchObject({ approvers: ['admin:sato', 'admin:suzuki'] });
    } finally {
      await store.close();
    }
  });

  it('purges after the configured retention, and rotates the key with every item still readable', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const day = 86_400_000;
    const [old, recent] = await seed(data, [
      { tag: 'old', meta: { receivedAt: new Date(Date.now() - 40 * day) } },
      { tag: 'recent', meta: { receivedAt: new Date(Date.now() - 10 * day) } },
    ]);
    const config = path.join(dir, 'c.yaml');
    writeFileSync(config, `dataDir: ${JSON.stringify(data)}\nquarantine:\n  retentionDays: 30\n`);
    const purge = await mugaika(['quarantine', 'purge', '-c', config]);
    expect(purge.stdout).toContain('purged 1 originals');
    expect((await rowOf(data, old!))?.state).toBe('expired');
    expect((await mugaika(['quarantine', 'show', old!, '--raw', '-c', config])).stderr).toContain('was purged after its retention period');
    expect((await mugaika(['quarantine', 'purge', '--older-than-days', '5', '-c', config])).stdout).toContain('purged 1 originals');
    expect((await rowOf(data, recent!))?.state).toBe('expired');

    const [kept] = await seed(data, [{ tag: 'kept' }]);
    const before = keyIdOf(readFileSync(keyFilesOf(data).current));
    const rot = await mugaika(['key', 'rotate', '--data-dir', data]);
    expect(rot.stderr).toBe('');
    expect(rot.code).toBe(0);
    const after = keyIdOf(readFileSync(keyFilesOf(data).current));
    expect(rot.stdout).toContain(`${before} -> ${after}, 3 items re-wrapped`);
    expect((await mugaika(['quarantine', 'show', kept!, '--raw', '--data-dir', data])).bytes.equals(original('kept'))).toBe(true);

    const wrong = await mugaika(['quarantine', 'show', kept!, '--data-dir', data], { MUGAIKA_MASTER_KEY: b64key() });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(new RegExp(`sealed under master key ${after}, but the keys here are [0-9a-f]{16}`));
    expect(wrong.stderr).not.toContain('    at ');
  });

  it('works on PostgreSQL when MUGAIKA_DATABASE_URL is set (blobs in the database)', async () => {
    const databaseUrl = await createTestDatabase('qcli');
    const data = path.join(tempDir(), 'data');
    const [a] = await seed(data, [{ tag: 'pg' }], databaseUrl);
    const env = { MUGAIKA_DATABASE_URL: databaseUrl };
    expect((await mugaika(['quarantine', 'list', '--data-dir', data], env)).stdout).toContain(a);
    expect(existsSync(path.join(data, 'quarantine'))).toBe(false);
    expect((await mugaika(['quarantine', 'release', a!, '--data-dir', data], env)).code).toBe(0);
    expect(maildir(data)).toHaveLength(1);
    expect((await rowOf(data, a!, databaseUrl))?.state).toBe('released');
    expect((await mugaika(['key', 'rotate', '--data-dir', data], env)).stdout).toContain('1 items re-wrapped');
  });
});
