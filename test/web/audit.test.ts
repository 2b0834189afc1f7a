// The auditor's console over real HTTP on both store adapters: the audit
// search over records made by real operations (the relay's transfer log,
// logins, user changes), its keyset paging, the CSV and JSON Lines exports of
// exactly that search, verification started from the browser on a good and a
// tampered chain, and who may reach any of it.
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { createTransferLog } from '../../src/relay/transfer-log.js';
import { jstInput } from '../../src/web/console/audit-query.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import type { Browser } from './browser.js';
import { download, linkOn, seqsOn, signInAll, startAuditConsole } from './audit-harness.js';
import { consoleRoutes } from './route-table.js';
import { PASSWORD, type Console } from './setup.js';
import type { TransferVerdict } from '../../src/spool/types.js';

let cons: Console | undefined;
afterEach(async () => {
  await cons?.close();
  cons = undefined;
});

const HOSTILE_FROM = '=HYPERLINK("http://evil.example/")\u202Egpj.exe<script>@ext.example.jp';

/** Mail through the relay's transfer log: `n` messages, each a receipt and a verdict. */
async function mail(c: Console, n: number, over: { from?: string; to?: string[]; verdict?: string; findings?: string[] } = {}, tag = 'Q'): Promise<string[]> {
  const log = createTransferLog(c.audit, 'relay', c.store);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const queueId = `${tag}${String(i).padStart(5, '0')}`;
    ids.push(queueId);
    await log.record({
      event: 'sanitized',
      queueId,
      client: '192.0.2.25',
      receivedAt: new Date().toISOString(),
      from: over.from ?? `sender${i % 3}@ext.example.jp`,
      to: over.to ?? ['tanaka@city.example.lg.jp'],
      verdict: (over.verdict ?? 'sanitized') as TransferVerdict,
      findings: (over.findings ?? ['html-converted']) as never,
    });
  }
  return ids;
}

const waitForVerification = async (b: Browser): Promise<string> => {
  for (let i = 0; i < 200; i++) {
    const page = await b.get('/audit/verify');
    if (!page.body.includes('検証を実行中です')) return page.body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the verification did not finish');
};

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`the auditor's console on ${backend.kind}`, () => {
    it('searches records of real operations by every field, newest first by time, and pages both ways', async () => {
      cons = await startAuditConsole(backend, { settings: { lockoutAttempts: 3 } });
      const c = cons;
      const { auditor } = await signInAll(c);
      const bulk = await mail(c, 120);
      const [hostile] = await mail(c, 1, { from: HOSTILE_FROM, to: ['boss@city.example.lg.jp'], verdict: 'blocked', findings: ['attachment-removed'] }, 'H');
      await c.browser().login('tanaka', 'wrong wrong wrong');

      // The auditor's start page is the search: the newest records first, by time (the failed login
      // carries the console's clock, days behind the relay's: it is shown where its time puts it).
      const home = await auditor.get('/');
      expect(home.status).toBe(200);
      expect(home.body).toContain('監査ログの検索');
      const all = (await c.store.searchAudit({})).sort((x, y) => (x.time === y.time ? y.seq - x.seq : x.time < y.time ? 1 : -1)).map((r) => r.seq);
      expect(all[0]).not.toBe((await c.store.head()).seq);
      expect(seqsOn(home.body)).toEqual(all.slice(0, 100));

      // Every verdict, in pages of 100 from the newest, and back again.
      const verdicts = (await c.store.searchAudit({ actions: ['verdict'], order: 'newest' })).map((r) => r.seq);
      expect(verdicts).toHaveLength(121);
      const first = await auditor.get('/audit?action=verdict');
      expect(seqsOn(first.body)).toEqual(verdicts.slice(0, 100));
      expect(linkOn(first.body, 'prev')).toBeNull();
      const second = await auditor.get(linkOn(first.body, 'next')!);
      expect(seqsOn(second.body)).toEqual(verdicts.slice(100));
      expect(linkOn(second.body, 'next')).toBeNull();
      const back = await auditor.get(linkOn(second.body, 'prev')!);
      expect(seqsOn(back.body)).toEqual(verdicts.slice(0, 100));
      expect(first.body).toContain('name="action"');
      expect(first.body).toContain('<option value="verdict" selected>判定 (verdict)</option>');
      // Actions and verdicts in words on the page; the codes stay in the exports.
      expect(first.body).toContain('<td>判定</td>');
      expect(first.body).not.toMatch(/<td>verdict<\/td>/);
      expect(first.body).toMatch(/<td>(無害化|変更なし|隔離（全体）)<\/td>/);
      expect((await auditor.get('/audit?action=verdict&lang=en')).body).toContain('<option value="verdict" selected>verdict (verdict)</option>');
      await auditor.get('/audit?lang=ja');

      // Each field alone.
      const only = async (query: string): Promise<number[]> => {
        const page = await auditor.get(`/audit?${query}`);
        expect(page.status, query).toBe(200);
        return seqsOn(page.body);
      };
      const recordsOf = async (f: Parameters<Console['store']['searchAudit']>[0]): Promise<number[]> => (await c.store.searchAudit({ ...f, order: 'newest' })).map((r) => r.seq);
      expect(await only('sender=SENDER1@ext.example.jp&action=verdict')).toEqual(await recordsOf({ sender: 'sender1@ext.example.jp', actions: ['verdict'] }));
      expect(await only('sender=SENDER1@ext.example.jp&action=verdict')).toHaveLength(40);
      const boss = await only('recipient=boss@city.example.lg.jp');
      expect(boss).toEqual(await recordsOf({ objects: [hostile!] }));
      expect(boss).toHaveLength(2);
      expect(await only('verdict=blocked&action=verdict')).toHaveLength(1);
      expect(await only(`object=${bulk[7]}`)).toEqual(await recordsOf({ objects: [bulk[7]!] }));
      const failed = await only('actor=console:tanaka&action=login-failed');
      expect(failed).toHaveLength(1);
      expect(await only('actor=cli:root')).toEqual(await recordsOf({ actor: 'cli:root' }));
      expect(await only('actor=cli:root')).toHaveLength(3);

      // A time range in JST: the records' own minute up to the next one holds them; a range in the past none.
      const t = new Date((await c.store.searchAudit({ objects: [hostile!], actions: ['verdict'] }))[0]!.time);
      const since = jstInput(new Date(t.getTime() - 60_000));
      const until = jstInput(new Date(t.getTime() + 120_000));
      expect(await only(`since=${since}&until=${until}&verdict=blocked&action=verdict`)).toHaveLength(1);
      expect(await only('since=2020-01-01T00:00&until=2020-01-02&action=verdict')).toEqual([]);
      // A date alone as the end means that whole day.
      const day = jstInput(t).slice(0, 10);
      expect(await only(`since=${day}&until=${day}&verdict=blocked&action=verdict`)).toHaveLength(1);

      // What a mail sent is shown as text, with the hidden character marked, never as markup.
      const h = await auditor.get(`/audit?object=${hostile}`);
      expect(h.body).toContain('&lt;script&gt;');
      expect(h.body).toContain('<span class="hidden-char">&lt;U+202E&gt;</span>');
      expect(h.body).not.toContain('<script>');
      expect(h.body).not.toContain('\u202E');

      // Bad input: a clear page with the right status, nothing searched for something else.
      for (const [query, words] of [
        ['since=yesterday', '開始日時'],
        ['until=2026-02-30', '終了日時'],
        ['action=drop-table', '知らない操作'],
        ['since=2026-11-02&until=2026-11-01', '終了日時は開始日時より後'],
        [`sender=${'a'.repeat(10_000)}`, '長すぎます'],
      ] as const) {
        const page = await auditor.get(`/audit?${query}`);
        expect(page.status, query).toBe(400);
        expect(page.body, query).toContain(words);
        expect(seqsOn(page.body)).toEqual([]);
      }
      // A forged cursor is only a bound.
      expect(seqsOn((await auditor.get('/audit?before=abc')).body)).toEqual(all.slice(0, 100));
      expect(seqsOn((await auditor.get('/audit?before=999999')).body)).toEqual([]);
      expect(seqsOn((await auditor.get(`/audit?before=${all.at(-2)}`)).body)).toEqual([all.at(-1)]);
    });

    it('exports exactly the search as CSV (BOM, formulas and hidden characters made harmless) and JSON Lines, and records it', async () => {
      cons = await startAuditConsole(backend);
      const c = cons;
      const { auditor, staff, admin } = await signInAll(c);
      await mail(c, 260);
      const [hostile] = await mail(c, 1, { from: HOSTILE_FROM, verdict: 'blocked' }, 'H');
      const expected = (await c.store.searchAudit({ actions: ['verdict'] })).map((r) => r.seq);
      expect(expected).toHaveLength(261);

      const csv = await download(auditor, '/audit/export.csv?action=verdict');
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{12}\.csv"$/);
      // UTF-8 with a byte-order mark, so that Excel reads it as UTF-8; CRLF line ends.
      expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const text = csv.bytes.subarray(3).toString('utf8');
      expect(text).toContain('\r\n');
      const rows = parse(text) as string[][];
      expect(rows[0]).toEqual(['連番', '日時', '操作者', '操作', '対象', '差出人', '宛先', '判定', '詳細', 'ハッシュ']);
      expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(expected);
      const bad = rows.find((r) => r[4] === hostile)!;
      expect(bad[5]).toBe(`'=HYPERLINK("http://evil.example/")<U+202E>gpj.exe<script>@ext.example.jp`);
      expect(text).not.toContain('\u202E');

      const jsonl = await auditor.get('/audit/export.jsonl?action=verdict&sender=' + encodeURIComponent(HOSTILE_FROM));
      expect(jsonl.status).toBe(200);
      const lines = jsonl.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; details: { from: string } });
      expect(lines.map((l) => l.seq)).toEqual((await c.store.searchAudit({ actions: ['verdict'], sender: HOSTILE_FROM })).map((r) => r.seq));
      expect(lines[0]!.details.from).toBe(HOSTILE_FROM);
      expect(jsonl.body).not.toContain('\u202E');

      // The whole log, fixed at the head the export started from: its own record is not in it.
      const whole = await auditor.get('/audit/export.jsonl');
      const seqs = whole.body
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
      const exported = await c.records('audit-exported');
      expect(exported.map((r) => [r.actor, r.details.format, r.details.search])).toEqual([
        ['console:kansa', 'csv', { action: 'verdict' }],
        ['console:kansa', 'jsonl', { action: 'verdict', sender: HOSTILE_FROM }],
        ['console:kansa', 'jsonl', {}],
      ]);
      expect(seqs.at(-1)).toBe(exported[2]!.details.upToSeq);
      expect(seqs.at(-1)).toBe(exported[2]!.seq - 1);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));

      // Nobody else exports; a bad search exports nothing and records nothing.
      for (const b of [staff, admin]) expect((await b.get('/audit/export.csv')).status).toBe(403);
      expect((await c.browser().get('/audit/export.csv')).location).toBe('/login');
      expect((await auditor.get('/audit/export.csv?since=nonsense')).status).toBe(400);
      expect(await c.records('audit-exported')).toHaveLength(3);
    });

    it('verifies the chain from the browser: in the background, one run at a time, a good chain then a tampered one, each recorded', async () => {
      let open: () => void = () => undefined;
      let gate: Promise<void> = Promise.resolve();
      cons = await startAuditConsole(backend, { gate: () => gate });
      const c = cons;
      const { auditor, staff, admin } = await signInAll(c);
      await mail(c, 20);

      const before = await auditor.get('/audit/verify');
      expect(before.body).toContain('まだ検証していません');
      // Held at the gate: the request returns at once, a second start finds it running.
      gate = new Promise((r) => (open = r));
      const started = await auditor.submit(before, '/audit/verify');
      expect(started.status).toBe(303);
      expect(started.location).toBe('/audit/verify?started=1');
      const running = await auditor.get('/audit/verify?started=1');
      expect(running.body).toContain('検証を開始しました');
      expect(running.body).toContain('検証を実行中です');
      expect(running.body).not.toContain('action="/audit/verify"');
      const again = await auditor.post('/audit/verify', { _csrf: /name="_csrf" value="([^"]+)"/.exec(before.body)![1]! });
      expect(again.location).toBe('/audit/verify?busy=1');
      open();
      const good = await waitForVerification(auditor);
      expect(good).toContain('改ざんはありませんでした');
      expect((await c.records('audit-verify-started', 'audit-verified')).map((r) => [r.actor, r.action, r.details.ok])).toEqual([
        ['console:kansa', 'audit-verify-started', undefined],
        ['console:kansa', 'audit-verified', true],
      ]);

      // An edited record: the next run names it.
      const victim = (await c.store.searchAudit({ actions: ['verdict'] }))[5]!;
      await c.o.sql('UPDATE audit_records SET details = $1 WHERE seq = $2', [victim.details.replace('sanitized', 'clean'), victim.seq]);
      gate = Promise.resolve();
      await auditor.submit(await auditor.get('/audit/verify'), '/audit/verify');
      const bad = await waitForVerification(auditor);
      expect(bad).toContain(`連番 ${victim.seq} 以降の記録は信頼できません`);
      const last = (await c.records('audit-verified')).at(-1)!;
      expect([last.details.ok, last.details.firstBadSeq]).toEqual([false, victim.seq]);
      // The auditor's start page is not the place of a result; the English page says the same.
      expect((await auditor.get('/audit/verify?lang=en')).body).toContain(`found tampering: records from seq ${victim.seq} on cannot be trusted`);

      // Nobody else starts one, and nobody without the form's token.
      const n = (await c.records('audit-verify-started')).length;
      for (const b of [staff, admin]) {
        const home = await b.get('/account');
        expect((await b.post('/audit/verify', { _csrf: /name="_csrf" value="([^"]+)"/.exec(home.body)![1]! })).status).toBe(403);
        expect((await b.get('/audit/verify')).status).toBe(403);
      }
      expect((await auditor.post('/audit/verify', {})).status).toBe(403);
      expect((await c.records('audit-verify-started')).length).toBe(n);
    });

    it("answers each role as the route table says, and 403 to the auditor on the administrator's changes", async () => {
      cons = await startAuditConsole(backend);
      const c = cons;
      const who = await signInAll(c);
      const anonymous = c.browser();
      // The auditor's rows of the console's route table, asked without a form's token: every POST is refused.
      const auditRows = consoleRoutes.filter((r) => r.url.startsWith('/audit'));
      for (const r of auditRows) {
        for (const [role, b] of [
          ['anonymous', anonymous],
          ['staff', who.staff],
          ['admin', who.admin],
          ['auditor', who.auditor],
        ] as const) {
          const res = r.method === 'GET' ? await b.get(r.url) : await b.post(r.url, {});
          const want = r.method === 'POST' ? 403 : r[role];
          if (typeof want === 'string') {
            expect([res.status, res.location], `${role} ${r.method} ${r.url}`).toEqual([303, want.replace(/^→ /, '')]);
          } else {
            expect(res.status, `${role} ${r.method} ${r.url}`).toBe(want);
          }
        }
      }
      for (const r of auditRows) expect(c.app.hasRoute({ method: r.method, url: r.url }), r.url).toBe(true);

      // The auditor changes nothing of anyone: with a valid token, the administrator's routes answer 403.
      const page = await who.auditor.get('/account');
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const adminSession = (await c.auth.sessions('kanri'))[0]!.id;
      const res = await who.auditor.post('/admin/sessions/end', { _csrf: token, id: adminSession });
      expect(res.status).toBe(403);
      expect(await c.auth.sessions('kanri')).toHaveLength(1);
      expect((await who.auditor.get('/admin/sessions')).status).toBe(403);
      void PASSWORD;
    });
  });
}
