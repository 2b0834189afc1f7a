// The staff pages over real HTTP, on mail that went through the real
// sanitizer into the real quarantine: a clerk's own items (by address and
// alias) and nobody else's, searched and paged; an item's page in plain words
// with its attachments; a release request with a required reason, audited;
// and hostile input: markup, U+202E and 10 KB in subject, sender and file
// name, forged and other people's ids, other sessions' CSRF tokens, a 10 MB
// body. Each answered with a clear page and the right status, nothing changed.
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import { noDocuments } from '../../src/converters/unavailable.js';
import { labelsFor } from '../../src/core/labels.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { sanitize } from '../../src/core/sanitize.js';
import { zip } from '../helpers/bytes.js';
import { withAttachments as withDefaults, type PartSpec } from '../helpers/run.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { Browser } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

let cons: Console | undefined;
afterEach(async () => {
  await cons?.close();
  cons = undefined;
});

const TANAKA = 'tanaka@city.example.lg.jp';
const DESK = 'somu-desk@city.example.lg.jp';
const SATO = 'sato@city.example.lg.jp';
const BOSS = 'secret-boss@city.example.lg.jp';
const SUZUKI = 'suzuki@city.example.lg.jp';

const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);
const HOSTILE = `<script>alert(1)</script>\u202Egnp.exe ${'長'.repeat(10_000)}`;
/** A real multipart message with these From and Subject lines instead of the helper's. */
const withAttachments = (text: string, parts: PartSpec[], top: string[]): Buffer =>
  Buffer.from(
    withDefaults(text, parts, top)
      .toString('latin1')
      .replace(/^From: =\?UTF-8\?B\?[^\r]*\r\n/m, '')
      .replace(/^Subject: test\r\n/m, ''),
    'latin1',
  );
/** Today in Japan, and another day, as a clerk types them (YYYY-MM-DD). */
const jstDate = (offsetDays = 0): string => new Date(Date.now() + 9 * 3_600_000 + offsetDays * 86_400_000).toISOString().slice(0, 10);
const encodedWord = (s: string): string => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

/** Sanitizes a real message into the console's quarantine; returns its item id. */
async function arrive(c: Console, raw: Buffer, from: string, to: string[]): Promise<string> {
  const deps = { quarantine: c.vault, images: createSharpTranscoder(), documents: noDocuments, now: c.now, randomToken: () => randomUUID() };
  const r = await sanitize({ raw, envelope: { mailFrom: from, rcptTo: to } }, defaultPolicy, deps);
  expect(r.quarantineId).toMatch(/^Q-/);
  return r.quarantineId!;
}

const csrfOn = (body: string): string => /name="_csrf" value="([^"]+)"/.exec(body)![1]!.replace(/&amp;/g, '&');

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`staff pages on ${backend.kind}`, () => {
    it("takes a clerk who opens the notice's link before signing in to that item once signed in, and nowhere but this console", async () => {
      cons = await startConsole(backend);
      const c = cons;
      c.clock.t = Date.now();
      await c.users.add({ name: 'tanaka', role: 'staff', email: TANAKA, password: PASSWORD }, 'cli:root');
      const id = await arrive(c, withAttachments('見積書です。', [{ type: 'application/octet-stream', filename: 'a.exe', body: exe }], [`Subject: ${encodedWord('見積書')}`]), 'vendor@example.co.jp', [
        TANAKA,
      ]);
      const br = c.browser();
      const asked = await br.get(`/items/${id}`);
      expect(asked.status).toBe(303);
      expect(asked.location).toBe('/login');
      const signedIn = await br.login('tanaka', PASSWORD);
      expect(signedIn.status).toBe(303);
      expect(signedIn.location).toBe(`/items/${id}`);
      const item = await br.follow(signedIn);
      expect(item.body).toContain('見積書');
      // The exe was removed: the page says so under 変更した内容, not that nothing changed.
      expect(item.body).not.toContain('変更した箇所はありません');
      expect(item.body).toMatch(/変更した内容<\/h3><ul>(<li>[^<]*<\/li>)*<li>この種類のファイルは受け取れないため、削除しました。<\/li>/);
      // Said once in the attachment's row, not followed by a bare 削除しました。
      expect(item.body).toContain('<td>この種類のファイルは受け取れないため、削除しました。</td>');
      // Taken up once: the next login goes to the start page.
      await br.submit(await br.get('/'), '/logout');
      expect((await br.login('tanaka', PASSWORD)).location).toBe('/');
      // A remembered address that leaves the console is not followed.
      await br.submit(await br.get('/'), '/logout');
      for (const away of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/login?x=1']) {
        const other = c.browser();
        (other as unknown as { cookies: Map<string, string> }).cookies.set('mugaika_next', encodeURIComponent(away));
        expect((await other.login('tanaka', PASSWORD)).location, away).toBe('/');
      }
    });

    it("lists a clerk's own items by address and alias, shows one in plain words, and nothing of anyone else", async () => {
      cons = await startConsole(backend);
      const c = cons;
      // The sanitizer's time budget runs on the real clock: the console's starts there too.
      c.clock.t = Date.now();
      await c.users.add({ name: 'tanaka', role: 'staff', email: TANAKA, password: PASSWORD }, 'cli:root');
      await c.users.setAliases('tanaka', [DESK.toUpperCase()], 'cli:root');
      // An exe with a hostile name and subject, to tanaka with two Bcc recipients.
      const hostile = withAttachments(
        '請求書を送ります。',
        [{ type: 'application/pdf', filename: HOSTILE.slice(0, 300), body: exe }],
        [`From: ${encodedWord(HOSTILE.slice(0, 200))} <evil@example.com>`, `Subject: ${encodedWord(HOSTILE)}`],
      );
      const a = await arrive(c, hostile, 'evil@example.com', [TANAKA, SATO, BOSS]);
      c.clock.t += 60_000;
      // An encrypted zip to the desk address (an alias).
      const ppap = withAttachments(
        'パスワードは別途お送りします。',
        [{ type: 'application/zip', filename: '見積書.zip', body: await zip([['見積書.txt', '金額']], { password: 'pw' }) }],
        ['From: vendor@example.co.jp', `Subject: ${encodedWord('お見積りの件')}`],
      );
      const b = await arrive(c, ppap, 'vendor@example.co.jp', [DESK]);
      const other = await arrive(c, withAttachments('別の人宛て', [{ type: 'application/octet-stream', filename: 'x.bin', body: exe }], [`Subject: ${encodedWord('鈴木さんへ')}`]), 'x@example.com', [
        SUZUKI,
      ]);

      const br = c.browser();
      await br.login('tanaka', PASSWORD);
      const home = await br.get('/');
      expect(home.status).toBe(200);
      expect(home.body).toContain('あなた宛ての隔離メール');
      // Newest first: the zip, then the exe; the other's not at all.
      expect(home.body.indexOf(`/items/${b}`)).toBeGreaterThan(0);
      expect(home.body.indexOf(`/items/${b}`)).toBeLessThan(home.body.indexOf(`/items/${a}`));
      expect(home.body).not.toContain(other);
      expect(home.body).not.toContain('鈴木さんへ');
      expect(home.body).toContain('お見積りの件');
      // Hostile text: escaped, its hidden character shown, shortened; and no other envelope recipient.
      expect(home.body).not.toMatch(/<script/i);
      // (The core already takes U+202E out of the subject it seals; the page shows one when an item has it, below.)
      expect(home.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;gnp.exe 長長');
      expect(home.body).toContain('長…');
      expect(home.body).not.toContain('\u202E');
      expect(home.body.length).toBeLessThan(20_000);
      for (const hidden of [SATO, BOSS, 'sato', 'secret-boss']) expect(home.body).not.toContain(hidden);
      expect((await br.get('/items')).body).toContain(`/items/${a}`);

      // Search: subject, sender (header or envelope), dates (JST), a bad date.
      const ids = (body: string): string[] => [...body.matchAll(/href="\/items\/(Q-[^"]+)"/g)].map((m) => m[1]!);
      expect(ids((await br.get(`/?subject=${encodeURIComponent('見積')}`)).body)).toEqual([b]);
      expect(ids((await br.get(`/?sender=${encodeURIComponent('VENDOR@example')}`)).body)).toEqual([b]);
      expect(ids((await br.get(`/?sender=${encodeURIComponent('evil@')}&subject=${encodeURIComponent('見積')}`)).body)).toEqual([]);
      expect(ids((await br.get(`/?since=${jstDate(-1)}&until=${jstDate(1)}`)).body)).toEqual([b, a]);
      expect(ids((await br.get(`/?since=${jstDate(2)}`)).body)).toEqual([]);
      expect(ids((await br.get(`/?until=${jstDate(-2)}`)).body)).toEqual([]);
      const bad = await br.get(`/?since=${encodeURIComponent('<b>')}`);
      expect(bad.status).toBe(400);
      expect(bad.body).toContain('2026-11-26 の形');
      expect(bad.body).toContain('value="&lt;b&gt;"');

      // The exe's page: what was changed, in the notice's words; the file, its hash, what was done.
      const page = await br.get(`/items/${a}`);
      expect(page.status).toBe(200);
      const labels = labelsFor('ja');
      const kept = await c.vault.details(a);
      for (const f of kept.meta.findings.filter((x) => x.attachment === undefined)) expect(page.body).toContain(labels.finding[f.code]);
      expect(page.body).toContain(createHash('sha256').update(exe).digest('hex'));
      expect(page.body).toContain('削除しました。');
      expect(page.body).toContain('【注意】');
      expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;gnp.exe');
      expect(page.body).not.toMatch(/<script/i);
      expect(page.body).toContain('evil@example.com');
      expect(page.body).toContain(TANAKA);
      for (const hidden of [SATO, BOSS]) expect(page.body).not.toContain(hidden);
      expect(page.body).not.toContain('請求書を送ります');
      expect(page.body).toContain('action="/items/' + a + '/request"');
      expect(page.body).not.toContain('/unlock');
      // The zip's page links the password page; the original is reached by no route.
      const zipPage = await br.get(`/items/${b}`);
      expect(zipPage.body).toContain(`href="/items/${b}/unlock"`);
      expect(zipPage.body).toContain('見積書.zip');
      expect(zipPage.body).toContain(DESK);
      for (const path of [`/items/${a}/original`, `/items/${a}/raw`, `/items/${a}/download`]) {
        const r = await br.get(path);
        expect(r.status).toBe(404);
        expect(r.body).not.toContain('請求書を送ります');
      }

      // Metadata that holds hidden characters (kept by another version, say): shown, marked, never raw.
      const marked = await c.vault.put(Buffer.from('x'), {
        receivedAt: c.now(),
        envelopeFrom: 'evil@example.com',
        envelopeTo: [TANAKA],
        from: 'a\u202Eexe.pdf@example.com',
        to: [TANAKA],
        subject: `請求書\u202Efdp.exe${'<i>'.repeat(5000)}`,
        findings: [],
        attachments: [
          {
            index: 1,
            parent: null,
            name: `x\u202Egpj.exe${'<b>'.repeat(4000)}`,
            fileKind: 'executable',
            sniffedType: 'application/x-msdownload',
            size: 1,
            sha256: '0'.repeat(64),
            outcome: 'removed',
            deliveredAs: null,
          },
        ],
      });
      for (const path of ['/', `/items/${marked}`]) {
        const r = await br.get(path);
        expect(r.status).toBe(200);
        expect(r.body).toContain('請求書<span class="hidden-char">&lt;U+202E&gt;</span>fdp.exe&lt;i&gt;');
        expect(r.body).toContain('a<span class="hidden-char">&lt;U+202E&gt;</span>exe.pdf@example.com');
        expect(r.body).not.toContain('\u202E');
        expect(r.body).not.toMatch(/<i>|<b>/);
        expect(r.body.length).toBeLessThan(60_000);
      }
      expect((await br.get(`/items/${marked}`)).body).toContain('x<span class="hidden-char">&lt;U+202E&gt;</span>gpj.exe&lt;b&gt;');

      // Another's id, a forged one, a malformed one: the same 404 page.
      const nf = await br.get(`/items/${other}`);
      expect(nf.status).toBe(404);
      expect(nf.body).toContain('この隔離メールは見つかりません');
      const forged = await br.get('/items/Q-20261126-AAAAAAAAAA');
      const malformed = await br.get(`/items/${encodeURIComponent('<script>')}`);
      const strip = (s: string): string => s.replace(/value="[^"]*"/g, '');
      expect([forged.status, malformed.status]).toEqual([404, 404]);
      expect(strip(forged.body)).toBe(strip(nf.body));
      expect(strip(malformed.body)).toBe(strip(nf.body));
      // Other roles do not get the staff pages.
      await c.users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');
      expect((await c.browser().get(`/items/${a}`)).status).toBe(303);
    });

    it('pages a long list, newest first, and finds mail by an alias recorded (and audited) later', async () => {
      cons = await startConsole(backend);
      const c = cons;
      await c.users.add({ name: 'tanaka', role: 'staff', email: TANAKA, password: PASSWORD }, 'cli:root');
      const meta = (n: number, to: string) => ({
        receivedAt: new Date(c.clock.t + n * 60_000),
        envelopeFrom: 'news@example.com',
        envelopeTo: [to],
        from: 'news@example.com',
        to: [to],
        subject: `お知らせ ${n}`,
        findings: [],
      });
      const ids: string[] = [];
      for (let n = 0; n < 53; n++) ids.push(await c.vault.put(Buffer.from(`mail ${n}`), meta(n, TANAKA)));
      const desk = await c.vault.put(Buffer.from('desk'), meta(100, DESK));
      const br = c.browser();
      await br.login('tanaka', PASSWORD);
      const listed = (body: string): string[] => [...body.matchAll(/href="\/items\/(Q-[^"]+)"/g)].map((m) => m[1]!);
      const first = await br.get('/');
      expect(first.body).toContain('53件');
      expect(listed(first.body)).toEqual(ids.slice(3).reverse());
      expect(first.body).toContain('href="/?page=2"');
      const second = await br.get('/?page=2');
      expect(listed(second.body)).toEqual(ids.slice(0, 3).reverse());
      expect(second.body).toContain('href="/?page=1"');
      expect(second.body).not.toContain('page=3');
      // Nonsense page numbers land on a page, not an error.
      expect((await br.get('/?page=-5')).status).toBe(200);
      expect((await br.get(`/?page=${'9'.repeat(400)}`)).status).toBe(200);
      expect((await br.get(`/items/${desk}`)).status).toBe(404);
      // An administrator records the desk address as an alias: audited, sessions ended, and the mail is theirs.
      await c.users.setAliases('tanaka', [DESK, TANAKA, 'not an address'].slice(0, 2), 'cli:root');
      expect((await c.records('user-changed')).at(-1)).toMatchObject({ actor: 'cli:root', object: 'tanaka', details: { change: 'aliases', fromAliases: [], aliases: [DESK] } });
      await expect(c.users.setAliases('tanaka', ['not an address'], 'cli:root')).rejects.toThrow(/not a mail address/);
      expect((await br.get('/')).location).toBe('/login');
      await br.login('tanaka', PASSWORD);
      expect(listed((await br.get('/')).body)[0]).toBe(desk);
      expect((await br.get(`/items/${desk}`)).status).toBe(200);
    });

    it('takes a release request only with a reason, audits it, and shows its status without naming other recipients', async () => {
      cons = await startConsole(backend);
      const c = cons;
      c.clock.t = Date.now();
      await c.users.add({ name: 'tanaka', role: 'staff', email: TANAKA, password: PASSWORD }, 'cli:root');
      await c.users.add({ name: 'sato', role: 'staff', email: SATO, password: PASSWORD }, 'cli:root');
      const mail = withAttachments('資料です。', [{ type: 'application/octet-stream', filename: 'data.bin', body: Buffer.from([0, 1, 2, 0xff, 0, 3]) }], [`Subject: ${encodedWord('資料')}`]);
      const id = await arrive(c, mail, 'partner@example.com', [TANAKA, SATO]);
      const other = await arrive(c, mail, 'partner@example.com', [SUZUKI]);
      const tanaka = c.browser();
      await tanaka.login('tanaka', PASSWORD);
      const page = await tanaka.get(`/items/${id}`);
      const state = async (q: string): Promise<string> => (await c.store.getItem(q))!.state;
      const requests = async (): Promise<number> => (await c.records('release-requested')).length;

      // No reason, a blank one, one too long: refused, nothing changed.
      for (const reason of ['', '   ', 'あ'.repeat(1001)]) {
        const r = await tanaka.submit(page, `/items/${id}/request`, { reason });
        expect(r.status).toBe(400);
        expect(r.body).toMatch(/申請の理由を入力してください|1000文字まで/);
      }
      // A token from another session (sato's), and one from tanaka's own earlier session: 403, nothing changed.
      const sato = c.browser();
      await sato.login('sato', PASSWORD);
      const satoPage = await sato.get(`/items/${id}`);
      expect((await tanaka.post(`/items/${id}/request`, { _csrf: csrfOn(satoPage.body), reason: '業務で必要' })).status).toBe(403);
      const oldToken = csrfOn(page.body);
      await tanaka.submit(page, '/logout');
      await tanaka.login('tanaka', PASSWORD);
      expect((await tanaka.post(`/items/${id}/request`, { _csrf: oldToken, reason: '業務で必要' })).status).toBe(403);
      // No token at all.
      expect((await tanaka.post(`/items/${id}/request`, { reason: '業務で必要' })).status).toBe(403);
      // Another's item, with a good token: the same 404 as on a GET.
      const fresh = await tanaka.get(`/items/${id}`);
      expect((await tanaka.post(`/items/${other}/request`, { _csrf: csrfOn(fresh.body), reason: '業務で必要' })).status).toBe(404);
      // A 10 MB body: refused before it is read, nothing changed.
      const big = await fetch(`http://127.0.0.1:${tanaka.port}/items/${id}/request`, {
        method: 'POST',
        headers: { cookie: [...tanaka.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
        body: `_csrf=${encodeURIComponent(csrfOn(fresh.body))}&reason=${'a'.repeat(10 * 1024 * 1024)}`,
      }).catch((err: unknown) => err as Error);
      // Refused on its declared length, with a page (the console's error page), before it is read.
      if (big instanceof Error) throw big;
      expect(big.status).toBe(413);
      expect(big.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await big.text()).not.toContain('aaaa');
      expect([await state(id), await state(other), await requests()]).toEqual(['held', 'held', 0]);

      // With a reason: requested, audited with it, shown as the clerk's own.
      const done = await tanaka.submit(fresh, `/items/${id}/request`, { reason: '契約書の原本が必要です <b>至急</b>' });
      expect(done.status).toBe(303);
      expect(done.location).toBe(`/items/${id}?requested=1`);
      expect(await state(id)).toBe('release-requested');
      expect((await c.records('release-requested')).map((r) => [r.actor, r.object, r.details.reason])).toEqual([['console:tanaka', id, '契約書の原本が必要です <b>至急</b>']]);
      const after = await tanaka.follow(done);
      expect(after.body).toContain('原本を申請しました');
      expect(after.body).toContain('解放申請中');
      expect(after.body).toContain('あなた');
      expect(after.body).toContain('契約書の原本が必要です &lt;b&gt;至急&lt;/b&gt;');
      expect(after.body).not.toContain(`action="/items/${id}/request"`);
      // Asked again (a replayed form): 409, one request on record.
      const again = await tanaka.post(`/items/${id}/request`, { _csrf: csrfOn(after.body), reason: 'もう一度' });
      expect(again.status).toBe(409);
      expect(await requests()).toBe(1);
      // The other recipient sees the status, not who asked nor why.
      const satoView = await sato.get(`/items/${id}`);
      expect(satoView.body).toContain('ほかの宛先の方');
      expect(satoView.body).not.toContain('tanaka');
      expect(satoView.body).not.toContain('契約書の原本');
      expect(satoView.body).not.toContain(TANAKA);
      // The admin's rejection, with its comment, is shown to both.
      await c.workflow.reject(id, 'console:kanri', '原本は情報政策担当で確認してください');
      const rejected = await tanaka.get(`/items/${id}`);
      expect(rejected.body).toContain('却下');
      expect(rejected.body).toContain('原本は情報政策担当で確認してください');
      expect(rejected.body).toContain('管理者');
      expect(rejected.body).not.toContain('kanri');
      // English on request.
      expect((await tanaka.get(`/items/${id}?lang=en`)).body).toContain('Request status');
      expect(new Browser(tanaka.port)).toBeDefined();
    });
  });
}
