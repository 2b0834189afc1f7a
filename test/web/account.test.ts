// A user's own account over real HTTP: their sessions (seen, ended), an
// administrator ending anyone's, and changing their password (the current one
// checked and counted, the rules kept, the other sessions ended).
import { afterEach, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../src/users/totp.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { secretOn, type Browser } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

let cons: Console | undefined;
afterEach(async () => {
  await cons?.close();
  cons = undefined;
});

const NEW_PASSWORD = 'a new and longer passphrase';

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`account pages on ${backend.kind}`, () => {
    it("lists a user's own sessions, and ends another of them", async () => {
      cons = await startConsole(backend, { web: { trustProxy: ['127.0.0.1'] } });
      const c = cons;
      await c.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      await c.users.add({ name: 'sato', role: 'staff', email: 'sato@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      const desk = c.browser();
      desk.headers['x-forwarded-for'] = '192.0.2.10';
      desk.headers['user-agent'] = 'Desk Browser';
      const laptop = c.browser();
      laptop.headers['x-forwarded-for'] = '192.0.2.77';
      // U+202E as UTF-8 bytes, which a header carries as Latin-1: a C1 control among them.
      laptop.headers['user-agent'] = 'Laptop \u00e2\u0080\u00aegnp.exe';
      await desk.login('tanaka', PASSWORD);
      await laptop.login('tanaka', PASSWORD);
      await c.browser().login('sato', PASSWORD);
      const page = await desk.get('/account');
      expect(page.body).toContain('192.0.2.10');
      expect(page.body).toContain('192.0.2.77');
      expect(page.body).toContain('Laptop \u00e2<span class="hidden-char">&lt;U+0080&gt;</span>\u00aegnp.exe');
      expect(page.body).toContain('この画面');
      // Only their own.
      expect((await c.auth.sessions('tanaka')).map((s) => s.client).sort()).toEqual(['192.0.2.10', '192.0.2.77']);
      const ended = await desk.submit(page, '/account/sessions/end');
      expect(ended.location).toBe('/account?ended=1');
      expect((await laptop.get('/')).location).toBe('/login');
      expect((await desk.get('/')).status).toBe(200);
      // Another user's session id does not end theirs.
      const satoId = (await c.auth.sessions('sato'))[0]!.id;
      await desk.post('/account/sessions/end', { _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!, id: satoId });
      expect(await c.auth.sessions('sato')).toHaveLength(1);
      expect((await c.records('session-ended')).map((r) => [r.actor, r.object, r.details.reason, r.details.sessionClient])).toEqual([['console:tanaka', 'tanaka', 'by-user', '192.0.2.77']]);
    });

    it("lets an administrator see and end anyone's session, and nobody else", async () => {
      cons = await startConsole(backend);
      const c = cons;
      await c.users.add({ name: 'kanri', role: 'admin', password: PASSWORD }, 'cli:root');
      await c.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      const staff = c.browser();
      await staff.login('tanaka', PASSWORD);
      expect((await staff.get('/admin/sessions')).status).toBe(403);
      const admin = c.browser();
      const enrol = await admin.follow(await admin.login('kanri', PASSWORD));
      await admin.submit(enrol, '/login/enrol', { code: await totpCodeAt(secretOn(enrol), c.now()) });
      const list = await admin.get('/admin/sessions');
      expect(list.status).toBe(200);
      expect(list.body).toContain('tanaka');
      const form = /<form class="inline" method="post" action="\/admin\/sessions\/end">[\s\S]*?<\/form>/.exec(list.body)![0];
      expect(form).toContain('value="');
      await admin.submit({ ...list, body: form }, '/admin/sessions/end');
      expect((await staff.get('/')).location).toBe('/login');
      expect((await c.records('session-ended')).map((r) => [r.actor, r.object, r.details.reason])).toEqual([['console:kanri', 'tanaka', 'by-admin']]);
    });

    it('changes a password: the current one checked, the rules kept, the other sessions ended, this one kept', async () => {
      cons = await startConsole(backend, { settings: { lockoutAttempts: 3 } });
      const c = cons;
      await c.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      const here = c.browser();
      const there = c.browser();
      await here.login('tanaka', PASSWORD);
      await there.login('tanaka', PASSWORD);
      const change = async (b: Browser, current: string, next: string, confirm = next) => b.submit(await b.get('/account'), '/account/password', { current, next, confirm });
      const cases: [string, string, string, string][] = [
        [PASSWORD, 'short', 'short', '12文字以上'],
        [PASSWORD, 'tanaka-and-more-words', 'tanaka-and-more-words', 'ユーザー名を含めない'],
        [PASSWORD, PASSWORD, PASSWORD, '現在のものと同じ'],
        [PASSWORD, NEW_PASSWORD, 'a different passphrase', '一致しません'],
        ['not my password at all', NEW_PASSWORD, NEW_PASSWORD, '現在のパスワードが違います'],
      ];
      for (const [current, next, confirm, message] of cases) {
        const r = await change(here, current, next, confirm);
        expect(r.status, message).toBe(400);
        expect(r.body).toContain(message);
      }
      // The wrong current password counted, as a guess.
      expect((await c.records('login-failed')).map((r) => [r.details.reason, r.details.step])).toEqual([['bad-password', 'password-change']]);
      const ok = await change(here, PASSWORD, NEW_PASSWORD);
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('パスワードを変更しました');
      expect((await here.get('/')).status).toBe(200);
      expect((await there.get('/')).location).toBe('/login');
      expect((await c.browser().login('tanaka', PASSWORD)).status).toBe(401);
      expect((await c.browser().login('tanaka', NEW_PASSWORD)).location).toBe('/');
      const [record] = await c.records('user-changed').then((r) => r.filter((x) => x.details.change === 'password'));
      expect(record).toMatchObject({ actor: 'console:tanaka', object: 'tanaka', details: { otherSessionsEnded: true, client: '127.0.0.1' } });
      expect(JSON.stringify(await c.records())).not.toMatch(/passphrase|argon2/);
    });
  });
}
