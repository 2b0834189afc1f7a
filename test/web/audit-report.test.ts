// The monthly 自己点検 report on known data, on both store adapters: a month
// (JST) of mail through the relay's transfer log, two quarantined originals
// (one requested and approved, one requested and rejected, through the real
// workflow and a Maildir carrier), user changes, a policy change at a
// restart and failed logins to a lockout; then the page and the CSV, figure
// by figure, with the records on the month's edges left out.
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog, type AuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { createMaildirCarrier } from '../../src/delivery/maildir-carrier.js';
import { openVault } from '../../src/quarantine/vault.js';
import { createWorkflow } from '../../src/quarantine/workflow.js';
import { recordStart } from '../../src/relay/lifecycle.js';
import { createTransferLog } from '../../src/relay/transfer-log.js';
import type { TransferVerdict } from '../../src/spool/types.js';
import type { QuarantineId } from '../../src/core/ports.js';
import { createUserDirectory } from '../../src/users/directory.js';
import { metaOf, original } from '../quarantine/fixture.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { download, loginEnrolling, startAuditConsole } from './audit-harness.js';
import { PASSWORD, type Console } from './setup.js';

let cons: Console | undefined;
let log: AuditLog | undefined;
afterEach(async () => {
  await log?.close();
  log = undefined;
  await cons?.close();
  cons = undefined;
});

/** A time given in UTC. */
const utc = (s: string): Date => new Date(`${s}Z`);

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`the monthly self-inspection report on ${backend.kind}`, () => {
    it('counts a known month: verdicts, findings, releases, admin actions, failed logins, policy changes, verification', async () => {
      cons = await startAuditConsole(backend, { settings: { lockoutAttempts: 3 } });
      const c = cons;
      // The month's operations, each at a time the test sets.
      let t = utc('2026-11-01T00:00:00');
      const now = (): Date => t;
      log = openAuditLog(c.store, await loadOrCreateSigner(c.o.dataDir), { dataDir: c.o.dataDir, autoCheckpoint: false, now });
      const users = createUserDirectory(c.store, log, now);
      const vault = await openVault({ dataDir: c.o.dataDir, store: c.store, audit: log, env: {}, gateway: 'gw1', now });
      const workflow = createWorkflow(vault, now);
      const relay = createTransferLog(log, 'relay', c.store);
      const message = async (at: string, id: string, verdict: string, findings: string[], quarantineId?: string): Promise<void> => {
        t = utc(at);
        await relay.record({
          event: 'sanitized',
          queueId: id,
          client: '192.0.2.25',
          receivedAt: t.toISOString(),
          from: 'sender@ext.example.jp',
          to: ['tanaka@city.example.lg.jp'],
          verdict: verdict as TransferVerdict,
          findings: findings as never,
          quarantineId: (quarantineId ?? null) as QuarantineId | null,
        });
      };

      await message('2026-10-31T14:59:59', 'OCT', 'clean', []); // 23:59:59 JST on 31 October
      await message('2026-10-31T15:00:00', 'N1', 'clean', []); // midnight JST, 1 November
      t = utc('2026-11-02T00:00:00');
      await users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      await users.add({ name: 'kanri', role: 'admin', password: PASSWORD }, 'cli:root');
      await users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');
      t = utc('2026-11-03T00:00:00');
      await recordStart(log, c.store, 'gw1', 'policy-a');
      await message('2026-11-05T00:00:00', 'N2', 'sanitized', ['html-converted', 'remote-image-removed']);
      await message('2026-11-06T00:00:00', 'N3', 'sanitized', ['html-converted']);
      t = utc('2026-11-07T00:00:00');
      const a = await vault.put(original('a'), metaOf({ receivedAt: t }));
      await message('2026-11-07T00:00:01', 'N4', 'blocked', ['attachment-removed'], a);
      t = utc('2026-11-08T00:00:00');
      const b = await vault.put(original('b'), metaOf({ receivedAt: t }));
      await message('2026-11-08T00:00:01', 'N5', 'blocked', ['attachment-removed', 'html-converted'], b);

      t = utc('2026-11-10T01:00:00');
      await workflow.request(a, 'console:tanaka', '請求書の原本を確認するため');
      t = utc('2026-11-10T02:30:00');
      expect((await workflow.release(a, 'console:kanri', createMaildirCarrier(path.join(c.o.dataDir, 'maildir')))).ok).toBe(true);
      t = utc('2026-11-12T01:00:00');
      await workflow.request(b, 'console:tanaka', '=マクロの内容を確認したい');
      t = utc('2026-11-12T01:30:00');
      await workflow.reject(b, 'console:kanri', 'マクロ付きのため解放できません');
      t = utc('2026-11-15T00:00:00');
      await users.setEmail('tanaka', 'tanaka2@city.example.lg.jp', 'console:kanri');
      t = utc('2026-11-20T00:00:00');
      await recordStart(log, c.store, 'gw1', 'policy-b');
      await message('2026-11-30T15:00:00', 'DEC', 'clean', []); // midnight JST, 1 December

      // Failed logins on 26 November (the console's clock): three wrong passwords lock the account here, a fourth finds it locked.
      for (let i = 0; i < 4; i++) await c.browser().login('tanaka', 'wrong wrong wrong');
      await c.browser().login('nobody', 'wrong wrong wrong');
      const failedRecords = (await c.store.searchAudit({ actions: ['login-failed'] })).length;
      expect(failedRecords).toBe(5);

      const auditor = c.browser();
      await loginEnrolling(c, auditor, 'kansa');
      // A verification from the browser (now, in real time): the report shows it as the latest.
      await auditor.submit(await auditor.get('/audit/verify'), '/audit/verify');
      for (let i = 0; i < 100 && !(await auditor.get('/audit/verify')).body.includes('verify-result'); i++) await new Promise((r) => setTimeout(r, 50));

      const page = await auditor.get('/audit/report?month=2026-11');
      expect(page.status).toBe(200);
      expect(page.body).toContain('自己点検報告 2026-11');
      expect(page.body).toContain('対象期間: 2026/11/01 00:00:00 から 2026/12/01 00:00:00 まで');
      expect(page.body).toContain('<link rel="stylesheet" href="/audit/print.css">');
      expect(page.body).not.toContain('<script');
      expect(page.body).toContain('<tr><td>無害化</td><td>2</td></tr>');
      expect(page.body).toContain('<tr><td>合計</td><td>5</td></tr>');
      expect(page.body).toContain('1 時間 30 分');
      expect(page.body).toContain('最新の検証: 改ざんなし');
      const css = await auditor.get('/audit/print.css');
      expect(css.body).toContain('@media print');

      const csv = await download(auditor, '/audit/report.csv?month=2026-11');
      expect(csv.status).toBe(200);
      expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const rows = parse(csv.bytes.subarray(3).toString('utf8'), { relax_column_count: true }) as string[][];
      expect(rows[0]).toEqual(['区分', '項目', '件数', '日時', '操作者', '対象', '内容']);
      const section = (name: string): string[][] => rows.filter((r) => r[0]!.startsWith(name));
      expect(section('1.').map((r) => [r[1], r[2]])).toEqual([
        ['無害化', '2'],
        ['隔離（全体）', '2'],
        ['変更なし', '1'],
        ['合計', '5'],
      ]);
      expect(section('2.').map((r) => [r[1], r[2]])).toEqual([
        ['html-converted', '3'],
        ['attachment-removed', '2'],
        ['remote-image-removed', '1'],
      ]);
      const releases = section('3.');
      expect(releases.map((r) => [r[1], r[3], r[4], r[5]])).toEqual([
        ['承認', '2026/11/10 10:00:00', 'console:tanaka', a],
        ['却下', '2026/11/12 10:00:00', 'console:tanaka', b],
      ]);
      expect(releases[0]![6]).toBe('申請理由: 請求書の原本を確認するため / 承認者・却下者: console:kanri / 判断日時: 2026/11/10 11:30:00 / コメント:  / 判断までの時間: 1 時間 30 分');
      expect(releases[1]![6]).toBe(
        '申請理由: =マクロの内容を確認したい / 承認者・却下者: console:kanri / 判断日時: 2026/11/12 10:30:00 / コメント: マクロ付きのため解放できません / 判断までの時間: 0 時間 30 分',
      );
      // Actions in words, as in the page (the exported log keeps the codes).
      expect(section('4.').map((r) => [r[4], r[1], r[5]])).toEqual([
        ['cli:root', 'ユーザーの変更', 'tanaka'],
        ['cli:root', 'ユーザーの変更', 'kanri'],
        ['cli:root', 'ユーザーの変更', 'kansa'],
        ['console:kanri', '解放の承認', a],
        ['console:kanri', '解放した原本の配送', a],
        ['console:kanri', '解放の却下', b],
        ['console:kanri', 'ユーザーの変更', 'tanaka'],
      ]);
      expect(section('5.').map((r) => [r[1], r[2], r[6]])).toEqual([
        ['ログインの失敗（件）', '5', ''],
        ['うち、まとめて記録した失敗（件）', '0', ''],
        ['ロックされた回数', '1', 'tanaka'],
      ]);
      const policy = section('6.');
      expect(policy.map((r) => [r[1], r[3], r[4]])).toEqual([['ポリシーの変更', '2026/11/20 09:00:00', 'gw1']]);
      expect(policy[0]![6]).toBe('{"before":"policy-a","after":"policy-b"}');
      const chain = section('7.');
      expect(chain.at(-1)![1]).toMatch(/^最新の検証: 改ざんなし/);
      expect(chain.at(-1)![4]).toBe('console:kansa');

      // The CSV is recorded as an export; a month that is none is a clear page.
      expect((await c.records('audit-exported')).map((r) => [r.actor, r.details.report])).toEqual([['console:kansa', '2026-11']]);
      for (const bad of ['2026-13', 'november', '2026-1']) {
        expect((await auditor.get(`/audit/report?month=${bad}`)).status, bad).toBe(400);
        expect((await auditor.get(`/audit/report.csv?month=${bad}`)).status, bad).toBe(400);
      }
      // English on request.
      expect((await auditor.get('/audit/report?month=2026-11&lang=en')).body).toContain('Self-inspection report 2026-11');
    });
  });
}
