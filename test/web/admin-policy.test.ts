// The policy page's allow and exclusion lists over real HTTP, on both store
// adapters, with a policy file in a temporary folder: downloaded as the CLI's
// CSV (audited), replaced from a pasted CSV by the CLI's own checks and
// rewrite (audited with the administrator and the reason), a malformed CSV
// refused line by line with the file left byte for byte as it was, a missing
// reason refused, staff and auditors refused.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readPolicyFile } from '../../src/policy/sender-lists.js';
import { policyFingerprint } from '../../src/relay/lifecycle.js';
import { BOM, EDITED, EXPORTED, expectEditedLists, malformed, policyFile, REEXPORTED } from '../helpers/sender-lists.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { download, signInAll } from './audit-harness.js';
import type { Browser } from './browser.js';
import { startConsole, type Console } from './setup.js';

const csrfOn = (body: string): string => /name="_csrf" value="([^"]+)"/.exec(body)![1]!.replace(/&amp;/g, '&');

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`the policy page's sender lists on ${backend.kind}`, () => {
    let c: Console | undefined;
    afterEach(async () => {
      await c?.close();
      c = undefined;
    });

    const start = async (withFile = true) => {
      const file = policyFile();
      // The gateway runs on the file it read at start.
      c = await startConsole(backend, withFile ? { policyFile: file, policy: await readPolicyFile(file) } : {});
      return { file, ...(await signInAll(c)) };
    };
    const replace = async (b: Browser, fields: Record<string, string>) => b.submit(await b.get('/admin/policy'), '/admin/policy/senders', fields);

    it('downloads the lists as the CLI writes them, takes them back edited (audited, comments kept) and says a restart applies them', async () => {
      const { file, admin } = await start();
      const page = await admin.get('/admin/policy');
      expect(page.status).toBe(200);
      expect(page.body).toContain('送信元の許可リストと除外リスト');
      expect(page.body).toContain('ゲートウェイを再起動すると反映されます（再起動せずに読み込み直す仕組みはありません）。');
      expect(page.body).not.toContain('まだ反映されていません');
      expect(page.body).toContain('適用中のポリシーでは、許可リストが 1 件、除外リストが 0 件です。');
      // The policy in force as YAML, one line per line.
      expect(page.body).toContain('release:\n  subjectPrefix: 【原本】\n  approvals: 1\n');

      const csv = await download(admin, '/admin/policy/senders.csv');
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toBe('attachment; filename="senders.csv"');
      expect(csv.bytes.toString('utf8')).toBe(EXPORTED);
      const before = policyFingerprint(await readPolicyFile(file));
      expect((await c!.records('policy-exported')).map((r) => [r.actor, r.object, r.details.fingerprint, r.details.allow])).toEqual([['console:kanri', file, before, 1]]);

      const done = await replace(admin, { csv: `${BOM}${EDITED}`, reason: '年度替わりの見直し' });
      expect(done.status).toBe(303);
      expect(done.location).toBe('/admin/policy?senders=done&allow=2&exclude=2');
      const after = await admin.follow(done);
      expect(after.body).toContain('許可リストを 2 件、除外リストを 2 件にしました。ゲートウェイを再起動すると反映されます。');
      // The gateway still runs on the policy it read at start.
      expect(after.body).toContain('ポリシーファイルは変更されていますが、まだ反映されていません。');

      const now = await expectEditedLists(file);

      const [record, ...more] = await c!.records('policy-changed');
      expect(more).toEqual([]);
      expect(record).toMatchObject({ actor: 'console:kanri', object: file });
      expect(record!.details).toMatchObject({ section: 'senders', reason: '年度替わりの見直し', before, after: policyFingerprint(now), allow: 2, exclude: 2, source: 'console' });

      const again = await download(admin, '/admin/policy/senders.csv');
      expect(again.bytes.toString('utf8')).toBe(REEXPORTED);
      expect(await c!.records('policy-exported')).toHaveLength(2);

      const en = await admin.get('/admin/policy?senders=done&allow=2&exclude=2&lang=en');
      expect(en.body).toContain('The allow list now has 2 and the exclusion list 2 senders. Restart the gateway to apply them.');
    });

    it('refuses a malformed CSV with the line of each mistake and leaves the file byte for byte', async () => {
      const { file, admin } = await start();
      const bytes = readFileSync(file);
      const r = await replace(admin, { csv: malformed('\r\n'), reason: '見直し' });
      expect(r.status).toBe(400);
      expect(r.body).toContain('CSV に誤りがあるため、ポリシーは変更していません。');
      expect(r.body).toContain('<li>3 行目: list は allow（許可）か exclude（除外）です: &quot;block&quot;</li>');
      expect(r.body).toContain('<li>4 行目: sender はメールアドレス');
      expect(r.body).toContain('<li>5 行目: ok.example.jp は 2 行目で allow にも入っています。どちらか一方にしてください。</li>');
      // What was sent is there to correct, line by line.
      expect(r.body).toContain('>\nlist,sender,note\nallow,ok.example.jp,\nblock,x.example.jp,');
      expect(r.body).toContain('value="見直し"');
      expect(readFileSync(file).equals(bytes)).toBe(true);

      const noHeader = await replace(admin, { csv: 'allow,a.example.jp,\r\n', reason: '見直し' });
      expect(noHeader.status).toBe(400);
      expect(noHeader.body).toContain('<li>1 行目: 見出し「list,sender,note」にしてください。</li>');
      await admin.get('/admin/policy?lang=en');
      const en = await replace(admin, { csv: malformed('\r\n'), reason: 'review' });
      expect(en.status).toBe(400);
      expect(en.body).toContain('<li>line 3: list must be allow or exclude: &quot;block&quot;</li>');
      expect(readFileSync(file).equals(bytes)).toBe(true);
      expect(await c!.records('policy-changed')).toEqual([]);
    });

    it('refuses a change without a reason, or without its CSRF token, and changes nothing', async () => {
      const { file, admin } = await start();
      const bytes = readFileSync(file);
      for (const reason of ['', '   ']) {
        const r = await replace(admin, { csv: EDITED, reason });
        expect(r.status).toBe(400);
        expect(r.body).toContain('変更の理由を入力してください。ポリシーは変更していません。');
      }
      expect((await replace(admin, { csv: '', reason: '見直し' })).body).toContain('CSV の内容を貼り付けてください。');
      expect((await admin.post('/admin/policy/senders', { csv: EDITED, reason: '見直し' })).status).toBe(403);
      expect(readFileSync(file).equals(bytes)).toBe(true);
      expect(await c!.records('policy-changed')).toEqual([]);
    });

    it('answers 403 to staff and auditors, who change and download nothing', async () => {
      const { file, staff, auditor } = await start();
      const bytes = readFileSync(file);
      for (const b of [staff, auditor]) {
        const token = csrfOn((await b.get('/account')).body);
        expect((await b.get('/admin/policy')).status).toBe(403);
        const csv = await download(b, '/admin/policy/senders.csv');
        expect(csv.status).toBe(403);
        expect(csv.bytes.toString('utf8')).not.toContain('list,sender');
        expect((await b.post('/admin/policy/senders', { _csrf: token, csv: EDITED, reason: '見直し' })).status).toBe(403);
      }
      expect(readFileSync(file).equals(bytes)).toBe(true);
      expect(await c!.records('policy-changed', 'policy-exported')).toEqual([]);
    });

    it('without a policy file: downloads the lists in force, and says they cannot be changed here', async () => {
      const { admin } = await start(false);
      const page = await admin.get('/admin/policy');
      expect(page.body).toContain('組み込みの既定値で動いている');
      expect(page.body).not.toContain('action="/admin/policy/senders"');
      const csv = await download(admin, '/admin/policy/senders.csv');
      expect(csv.bytes.toString('utf8')).toBe(`${BOM}list,sender,note\r\n`);
      const token = csrfOn(page.body);
      const r = await admin.post('/admin/policy/senders', { _csrf: token, csv: EDITED, reason: '見直し' });
      expect(r.status).toBe(409);
      expect(await c!.records('policy-changed')).toEqual([]);
    });
  });
}
