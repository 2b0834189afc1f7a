// The administrator's console over real HTTP, on both store adapters: real
// mails quarantined through the real sanitizer, reviewed (headers, links,
// attachments, body as escaped text), approved (the original reaching a real
// SMTP sink on 127.0.0.1) or rejected with a comment, two-approval rules,
// the original's download, search over the sealed subject, the delivery
// queue's retry and bounce, user management, and every mutating route
// refused to staff and auditors.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import { noDocuments } from '../../src/converters/unavailable.js';
import { defaultPolicy, policySchema } from '../../src/core/policy.js';
import { sanitize } from '../../src/core/sanitize.js';
import { createSmtpCarrier } from '../../src/delivery/smtp-carrier.js';
import { openSpool } from '../../src/spool/spool.js';
import { totpCodeAt } from '../../src/users/totp.js';
import { cleanup as relayCleanup, startSink, type Sink } from '../relay/harness.js';
import { eml, withAttachments } from '../helpers/run.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { Browser, secretOn } from './browser.js';
import { PASSWORD, startConsole, type Console, type ConsoleOptions } from './setup.js';

const STAFF = 'tanaka@city.example.lg.jp';
const HOSTILE = `<script>alert(1)</script>\u202Egpj.exe ${'長'.repeat(3000)}`;

/** A mail with a hostile subject, Reply-To elsewhere, a link whose text lies, and an executable. */
const hostileMail = (tok: string): Buffer => {
  const mail = withAttachments(
    `請求書です ${tok}`,
    [{ type: 'application/octet-stream', filename: 'invoice.pdf.exe', body: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]) }],
    [`Reply-To: <pay@evil.example>`, 'X-Hostile: @@H@@', 'Received: from mx.evil.example (mx.evil.example [192.0.2.7]) by gw; Thu, 26 Nov 2026 10:00:00 +0900'],
  );
  // The hostile value as raw UTF-8 in the header, as a sender may write it.
  const at = mail.indexOf('@@H@@');
  return Buffer.concat([mail.subarray(0, at), Buffer.from(HOSTILE, 'utf8'), mail.subarray(at + 5)]);
};

const htmlMail = (tok: string): Buffer =>
  eml(
    [
      'From: kouhou@example.jp',
      `To: ${STAFF}`,
      `Subject: =?UTF-8?B?${Buffer.from(`お知らせ ${tok}`).toString('base64')}?=`,
      // Encoded words that decode to markup and a reordering character, and ISO-2022-JP under a label libmime does not know.
      `X-Encoded: =?UTF-8?B?${Buffer.from('<b>太字</b>\u202Eexe.pdf').toString('base64')}?=`,
      `X-Jis: =?CP50220?B?${Buffer.from('\x1b$B$3$s$K$A$O\x1b(B', 'latin1').toString('base64')}?=`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
    ],
    `<p>ログインは<a href="https://evil.example/login">https://city.example.lg.jp/</a>から</p><img src="https://tracker.example/x.png">`,
  );

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`admin console on ${backend.kind}`, () => {
    let cons: Console;
    let sink: Sink;

    afterEach(async () => {
      await cons?.close();
      await relayCleanup();
      await sink?.close();
    });

    const start = async (opts: ConsoleOptions = {}): Promise<void> => {
      sink = await startSink();
      cons = await startConsole(backend, { carrier: createSmtpCarrier({ host: '127.0.0.1', port: sink.port, name: 'gw.test', maxConnections: 1, connectionTimeoutMs: 5000 }), ...opts });
      await cons.users.add({ name: 'tanaka', displayName: '田中', role: 'staff', email: STAFF, password: PASSWORD }, 'cli:root');
      for (const name of ['sato', 'suzuki']) await cons.users.add({ name, role: 'admin', password: PASSWORD }, 'cli:root');
      await cons.users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');
    };

    /** Logs in, enrolling the second factor when the role needs it. */
    const login = async (name: string): Promise<Browser> => {
      const b = cons.browser();
      const first = await b.follow(await b.login(name, PASSWORD));
      if (first.body.includes('二要素認証の設定')) {
        await b.submit(first, '/login/enrol', { code: await totpCodeAt(secretOn(first), cons.now()) });
      }
      expect((await b.get('/')).status).toBe(200);
      return b;
    };

    /** Quarantines a real mail through the real sanitizer; the staff member asks for it when `request` is given. */
    const quarantine = async (raw: Buffer, request?: string): Promise<string> => {
      const r = await sanitize({ raw, envelope: { mailFrom: 'sender@example.jp', rcptTo: [STAFF] } }, defaultPolicy, {
        quarantine: cons.vault,
        images: createSharpTranscoder(),
        documents: noDocuments,
        now: () => new Date(),
        randomToken: () => randomUUID(),
      });
      expect(r.quarantineId).toBeTruthy();
      const id = r.quarantineId!;
      if (request)
        await cons.vault.audit.append(
          { actor: 'console:tanaka', action: 'release-requested', object: id, time: cons.now(), details: { reason: request, fromState: 'held', toState: 'release-requested' } },
          { stateChanges: [{ id, from: ['held'], to: 'release-requested', at: cons.now(), by: 'console:tanaka' }] },
        );
      return id;
    };

    it('lists requests oldest first with their wait, shows the original escaped, and releases it to the next hop on approval', async () => {
      await start();
      const older = await quarantine(hostileMail('TOKA'), '取引先からの請求書の確認のため');
      cons.clock.t += 90 * 60_000;
      const newer = await quarantine(htmlMail('TOKB'), '至急');
      cons.clock.t += 5 * 60_000;
      const admin = await login('sato');
      const home = await admin.get('/');
      expect(home.body.indexOf(older)).toBeGreaterThan(0);
      expect(home.body.indexOf(older)).toBeLessThan(home.body.indexOf(newer));
      expect(home.body).toContain('1時間35分');
      expect(home.body).toContain('取引先からの請求書の確認のため');

      const page = await admin.get(`/admin/items/${older}`);
      expect(page.status).toBe(200);
      // Every header field as written, escaped: nothing of the mail becomes markup.
      expect(page.body).not.toContain('<script>alert');
      expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(page.body).toContain('<span class="hidden-char">&lt;U+202E&gt;</span>');
      expect(page.body).toContain('pay@evil.example');
      expect(page.body).toContain('mx.evil.example [192.0.2.7]');
      // The attachment as detected, with its size and hash.
      const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]);
      expect(page.body).toContain('invoice.pdf.exe');
      expect(page.body).toContain(createHash('sha256').update(exe).digest('hex'));
      expect(page.body).toContain('application/x-msdownload');
      expect(page.body).not.toMatch(/<script/i);

      expect((await cons.records('original-viewed')).map((r) => [r.actor, r.object, r.details.output])).toEqual([['console:sato', older, 'console']]);
      const html = await admin.get(`/admin/items/${newer}`);
      // The link's real target beside the text it shows; the HTML only as its escaped source.
      expect(html.body).toMatch(/<td>https:\/\/city\.example\.lg\.jp\/<\/td><td>https:\/\/evil\.example\/login<\/td>/);
      // (Between tags a quote is only text: the source's quotes are left as they are.)
      expect(html.body).toContain('&lt;img src="https://tracker.example/x.png"&gt;');
      expect(html.body).not.toContain('<img');
      expect(html.body).toContain(`お知らせ TOKB`);
      // Each header field as received, and decoded beside it where it was encoded: escaped, hidden characters marked.
      const b64 = (t: string): string => Buffer.from(t).toString('base64');
      expect(html.body).toContain(`<td>Subject</td><td>=?UTF-8?B?${b64('お知らせ TOKB')}?=</td><td>お知らせ TOKB</td>`);
      expect(html.body).toContain('<td>X-Encoded</td>');
      expect(html.body).toContain('<td>&lt;b&gt;太字&lt;/b&gt;<span class="hidden-char">&lt;U+202E&gt;</span>exe.pdf</td>');
      expect(html.body).not.toContain('<b>');
      expect(html.body).toMatch(/<td>X-Jis<\/td><td>=\?CP50220\?B\?[^<]+\?=<\/td><td>こんにちは<\/td>/);
      expect(html.body).toContain('<td>Date</td><td>Thu, 26 Nov 2026 10:00:00 +0900</td><td></td>');

      const done = await admin.submit(page, `/admin/items/${older}/approve`, { comment: '取引先に電話で確認済み' });
      expect(done.status).toBe(303);
      expect((await admin.follow(done)).body).toContain('解放しました');
      await expect.poll(() => sink.messages.length).toBe(1);
      expect(sink.messages[0]).toMatchObject({ from: 'sender@example.jp', to: [STAFF] });
      expect(sink.messages[0]!.raw.toString('utf8')).toContain('X-Mugaika-Released-By');
      expect((await cons.store.getItem(older))!.state).toBe('released');
      const approved = await cons.records('release-approved', 'release-delivered');
      expect(approved.map((r) => [r.action, r.actor, r.object])).toEqual([
        ['release-approved', 'console:sato', older],
        ['release-delivered', 'console:sato', older],
      ]);
      expect(approved[0]!.details.comment).toBe('取引先に電話で確認済み');
      // Decided items leave the queue.
      expect((await admin.get('/')).body).not.toContain(older);
    });

    it('rejects only with a comment, and never releases', async () => {
      await start();
      const id = await quarantine(htmlMail('TOKR'), 'お願いします');
      const admin = await login('sato');
      const page = await admin.get(`/admin/items/${id}`);
      const bare = await admin.submit(page, `/admin/items/${id}/reject`, { comment: '  ' });
      expect(bare.status).toBe(400);
      expect(bare.body).toContain('却下するときは、理由をコメントに書いてください。');
      expect((await cons.store.getItem(id))!.state).toBe('release-requested');
      const done = await admin.submit(page, `/admin/items/${id}/reject`, { comment: 'フィッシングの疑い' });
      expect(done.status).toBe(303);
      expect((await cons.store.getItem(id))!.state).toBe('rejected');
      expect((await cons.records('release-rejected'))[0]).toMatchObject({ actor: 'console:sato', object: id, details: { reason: 'フィッシングの疑い' } });
      // A decided item cannot be approved afterwards.
      const late = await admin.submit(page, `/admin/items/${id}/approve`, { comment: '' });
      expect(late.status).toBe(409);
      expect(sink.messages).toHaveLength(0);
    });

    it('with release.approvals: 2, records the first approval and releases on the second from another admin', async () => {
      await start({ policy: policySchema.parse({ release: { approvals: 2 } }) });
      const id = await quarantine(htmlMail('TOK2'), '業務で必要です');
      const sato = await login('sato');
      const page = await sato.get(`/admin/items/${id}`);
      expect(page.body).toContain('2人の管理者の承認が必要です');
      expect((await sato.submit(page, `/admin/items/${id}/approve`, { comment: '一人目' })).location).toBe(`/admin/items/${id}?done=first`);
      expect((await cons.store.getItem(id))!.state).toBe('release-requested');
      // The same admin cannot give the second.
      const again = await sato.submit(await sato.get(`/admin/items/${id}`), `/admin/items/${id}/approve`, { comment: '二人目のつもり' });
      expect(again.status).toBe(409);
      expect(again.body).toContain('別の管理者が行ってください');
      expect((await cons.store.getItem(id))!.state).toBe('release-requested');
      expect(sink.messages).toHaveLength(0);

      const suzuki = await login('suzuki');
      const second = await suzuki.get(`/admin/items/${id}`);
      expect(second.body).toContain('sato さんが1人目として承認しています。');
      expect((await suzuki.submit(second, `/admin/items/${id}/approve`, { comment: '確認しました' })).status).toBe(303);
      await expect.poll(() => sink.messages.length).toBe(1);
      expect((await cons.store.getItem(id))!.state).toBe('released');
      const approved = (await cons.records('release-approved'))[0]!;
      expect(approved.actor).toBe('console:suzuki');
      expect(approved.details.approvers).toEqual(['console:sato', 'console:suzuki']);
    });

    it('downloads an original for admins only, audited, as an attachment', async () => {
      await start();
      const raw = htmlMail('TOKD');
      const id = await quarantine(raw);
      const admin = await login('sato');
      const res = await admin.get(`/admin/items/${id}/original`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${id}.eml"`);
      expect(res.body).toBe(raw.toString('utf8'));
      expect((await cons.records('original-downloaded'))[0]).toMatchObject({ actor: 'console:sato', object: id });
      // A HEAD sends nothing, so it records nothing (fastify ran the GET handler for it once).
      expect((await admin.head(`/admin/items/${id}/original`)).status).toBe(404);
      expect(await cons.records('original-downloaded')).toHaveLength(1);
      const staff = await login('tanaka');
      expect((await staff.get(`/admin/items/${id}/original`)).status).toBe(403);
      expect(await cons.records('original-downloaded')).toHaveLength(1);
      expect((await admin.get('/admin/items/Q-20261126-AAAAAAAAAA/original')).status).toBe(404);
      expect((await admin.get('/admin/items/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
    });

    it('searches every item by the sealed subject, sender, finding and state, newest first', async () => {
      await start();
      const a = await quarantine(htmlMail('TOKS1'));
      cons.clock.t += 60_000;
      const b = await quarantine(hostileMail('TOKS2'), '理由');
      const admin = await login('sato');
      const bySubject = await admin.get(`/admin/search?subject=${encodeURIComponent('お知らせ tok')}`);
      expect(bySubject.body).toContain(a);
      expect(bySubject.body).not.toContain(b);
      expect(bySubject.body).toContain('1件');
      const byState = await admin.get('/admin/search?state=release-requested');
      expect(byState.body).toContain(b);
      expect(byState.body).not.toContain(`>${a}<`);
      const all = await admin.get('/admin/search');
      expect(all.body.indexOf(b)).toBeLessThan(all.body.indexOf(a));
      // A new item is found without a restart; a hostile subject is shown escaped.
      cons.clock.t += 60_000;
      const c = await quarantine(
        eml(
          [
            'From: x@example.jp',
            `To: ${STAFF}`,
            `Subject: =?UTF-8?B?${Buffer.from(HOSTILE).toString('base64')}?=`,
            'Date: Thu, 26 Nov 2026 10:00:00 +0900',
            'MIME-Version: 1.0',
            'Content-Type: text/html; charset=utf-8',
          ],
          '<p>hello</p>\r\n',
        ),
      );
      const hostile = await admin.get(`/admin/search?subject=${encodeURIComponent('<script>')}`);
      expect(hostile.body).toContain(c);
      expect(hostile.body).not.toContain('<script>alert');
      const bFindings = (await cons.store.getItem(b))!.findings;
      expect(bFindings).toContain('name-double-extension');
      const byFinding = await admin.get('/admin/search?finding=name-double-extension');
      expect(byFinding.body).toContain(b);
      expect(byFinding.body).not.toContain(c);
      // Findings in words, in the table and in the form's choices; the code only as the choice's value.
      expect(byFinding.body).toMatch(/<td>[^<]*二重の拡張子/);
      expect(byFinding.body).toContain('<option value="name-double-extension" selected>二重の拡張子</option>');
      expect(byFinding.body).not.toMatch(/<td>[^<]*name-double-extension/);
    });

    it('lists the delivery queue and bounces or retries from the browser, audited', async () => {
      await start();
      const spool = await openSpool(cons.o.dataDir);
      const qid = await spool.accept(
        { mailFrom: 'sender@example.com', rcptTo: [STAFF], clientAddress: '127.0.0.1', heloName: 'c', receivedAt: cons.now().toISOString() },
        Readable.from([Buffer.from('Subject: x\r\n\r\nx\r\n')]),
        1 << 20,
      );
      expect(typeof qid).toBe('string');
      const admin = await login('sato');
      const q = await admin.get('/admin/queue');
      expect(q.body).toContain(String(qid));
      expect(q.body).toContain('無害化待ち');
      const done = await admin.submit(q, '/admin/queue/bounce', {});
      expect(done.location).toBe('/admin/queue?done=1');
      expect(await spool.listControl()).toEqual([{ id: qid, kind: 'bounce' }]);
      expect(existsSync(path.join(spool.dir, 'rescan'))).toBe(true);
      expect((await cons.records('queue-controlled'))[0]).toMatchObject({ actor: 'console:sato', object: qid, details: { kind: 'bounce' } });
      // An entry waiting for its next attempt: retry makes it due now, as `mugaika queue retry` does.
      const out = 'OUTGOING0001' as typeof qid & string;
      const at = cons.now().toISOString();
      await spool.writeOutgoing(
        out as never,
        {
          version: 1,
          kind: 'sanitized',
          origin: out as never,
          envelopeFrom: 'sender@example.com',
          pending: [STAFF],
          delivered: [],
          failed: [],
          attempts: 3,
          receivedAt: at,
          nextAttemptAt: new Date(cons.clock.t + 3_600_000).toISOString(),
          lastError: '451 4.3.0 try later',
          verdict: 'sanitized',
          quarantineId: null,
        },
        Buffer.from('Subject: y\r\n\r\ny\r\n'),
      );
      const q2 = await admin.get('/admin/queue');
      expect(q2.body).toContain('451 4.3.0 try later');
      const retried = await admin.post('/admin/queue/retry', {
        _csrf: /action="\/admin\/queue\/retry"><input type="hidden" name="_csrf" value="([^"]+)"/.exec(q2.body)![1]!.replace(/&amp;/g, '&'),
        id: out,
      });
      expect(retried.location).toBe('/admin/queue?done=1');
      expect(await spool.listControl()).toContainEqual({ id: out, kind: 'retry' });
      expect((await cons.records('queue-controlled')).map((r) => [r.object, r.details.kind])).toEqual([
        [qid, 'bounce'],
        [out, 'retry'],
      ]);
      expect((await admin.submit(q, '/admin/queue/bounce', { id: 'NOSUCHID' })).location).toBe('/admin/queue?gone=1');
      expect((await admin.submit(q, '/admin/queue/bounce', { id: '../../etc' })).location).toBe('/admin/queue?gone=1');
      await spool.close();
    });

    it('manages users: add, role, mail address, disable, enable, password; each audited', async () => {
      await start();
      const admin = await login('sato');
      const page = await admin.get('/admin/users');
      const added = await admin.submit(page, '/admin/users', { name: 'yamada', displayName: '山田', role: 'staff', email: 'Yamada@City.Example.LG.JP', password: 'a long enough password' });
      expect(added.status).toBe(200);
      expect(added.body).toContain('ユーザーを追加しました。');
      expect((await cons.users.get('yamada')).email).toBe('yamada@city.example.lg.jp');
      const weak = await admin.submit(page, '/admin/users', { name: 'weak', role: 'staff', email: 'w@city.example.lg.jp', password: 'short' });
      expect(weak.status).toBe(400);
      const change = (op: string, fields: Record<string, string> = {}) => admin.submit(page, '/admin/users/tanaka', { op, ...fields });
      expect((await change('email', { email: 'tanaka2@city.example.lg.jp' })).status).toBe(200);
      expect((await change('role', { role: 'auditor' })).status).toBe(200);
      expect((await change('disable')).status).toBe(200);
      expect((await cons.users.get('tanaka')).disabled).toBe(true);
      expect((await change('enable')).status).toBe(200);
      expect((await change('password', { password: 'another long password' })).status).toBe(200);
      const t = cons.browser();
      expect((await t.login('tanaka', 'another long password')).status).toBe(303);
      expect((await admin.submit(page, '/admin/users/sato', { op: 'disable' })).status).toBe(400);
      const log = await cons.records('user-changed');
      expect(log.filter((r) => r.actor === 'console:sato').map((r) => r.details.change)).toEqual(['created', 'email', 'role', 'disabled', 'enabled', 'password']);
    });

    it('shows the policy in force with its fingerprint, read-only', async () => {
      await start();
      const admin = await login('sato');
      const p = await admin.get('/admin/policy');
      expect(p.status).toBe(200);
      expect(p.body).toMatch(/<td>[0-9a-f]{64}<\/td>/);
      expect(p.body).toContain('approvals: 1');
      expect(p.body).toContain('記録上、変更はありません');
      const en = await admin.get('/admin/policy?lang=en');
      expect(en.body).toContain('Policy in force (read-only)');
      expect((await admin.get('/admin/search')).body).toContain('Search the quarantine');
      await admin.get('/admin/policy?lang=ja');
      await cons.audit.append({ actor: 'gateway:gw', action: 'policy-changed', object: 'gateway:gw', time: new Date('2026-11-25T03:04:00Z'), details: { before: 'a', after: 'b' } });
      expect((await admin.get('/admin/policy')).body).toContain('2026/11/25 12:04:00 JST');
      expect(p.body).not.toContain('<form method="post" action="/admin/policy');
    });

    it('answers 403 to staff and auditors on every admin route, and refuses a post without its CSRF token', async () => {
      await start();
      const id = await quarantine(htmlMail('TOKF'), 'r');
      const gets = ['/admin/search', '/admin/queue', '/admin/users', '/admin/policy', `/admin/items/${id}`, `/admin/items/${id}/original`];
      const posts = [`/admin/items/${id}/approve`, `/admin/items/${id}/reject`, '/admin/queue/retry', '/admin/queue/bounce', '/admin/users', '/admin/users/tanaka'];
      for (const name of ['tanaka', 'kansa']) {
        const b = await login(name);
        const home = await b.get('/');
        const token = /name="_csrf" value="([^"]+)"/.exec(home.body)![1]!.replace(/&amp;/g, '&');
        for (const g of gets) expect([g, (await b.get(g)).status]).toEqual([g, 403]);
        for (const p of posts) expect([p, (await b.post(p, { _csrf: token, comment: 'x', op: 'disable', id: 'X' })).status]).toEqual([p, 403]);
      }
      const anon = cons.browser();
      for (const g of gets) expect((await anon.get(g)).location).toBe('/login');
      const admin = await login('sato');
      expect((await admin.post(`/admin/items/${id}/approve`, { comment: 'no token' })).status).toBe(403);
      // A 10 MB form is refused before anything reads it.
      const page = await admin.get(`/admin/items/${id}`);
      const big = await admin.submit(page, `/admin/items/${id}/reject`, { comment: 'x'.repeat(10 * 1024 * 1024) });
      expect(big.status).toBe(413);
      expect((await cons.store.getItem(id))!.state).toBe('release-requested');
      expect(sink.messages).toHaveLength(0);
      expect(readdirSync(cons.o.dataDir)).not.toContain('maildir');
    });
  });
}
