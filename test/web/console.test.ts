// The web console over real HTTP on 127.0.0.1, on both store adapters: login,
// logout, lockout, session ends, role separation, CSRF, and the audit record
// of every login, failed login and logout.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditAction } from '../../src/model/audit-actions.js';
import type { Store } from '../../src/store/types.js';
import type { UserDirectory } from '../../src/users/directory.js';
import { totpCodeAt } from '../../src/users/totp.js';
import { SESSION_COOKIE } from '../../src/web/console/routes.js';
import { postgresBackend, sqliteBackend, type Opened } from '../store/backends.js';
import { item } from '../store/contract.js';
import { Browser, secretOn, type Page } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

const LOCK_AT = 3;

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`web console on ${backend.kind}`, () => {
    let cons: Console;
    let o: Opened;
    let store: Store;
    let users: UserDirectory;
    let b: Browser;

    const records = (...actions: AuditAction[]) => cons.records(...actions);

    /** Logs in a user who must enrol a phone first (admins, auditors): enrols it, as a user would, and lands on the start page. */
    const loginEnrolling = async (br: Browser, name: string): Promise<Page> => {
      const enrol = await br.follow(await br.login(name, PASSWORD));
      expect(enrol.body).toContain('二要素認証の設定');
      const done = await br.submit(enrol, '/login/enrol', { code: await totpCodeAt(secretOn(enrol), cons.now()) });
      expect(done.body).toContain('回復コード');
      return br.get('/');
    };

    beforeEach(async () => {
      cons = await startConsole(backend, { settings: { lockoutAttempts: LOCK_AT } });
      ({ o, store, users } = cons);
      b = cons.browser();
      await users.add({ name: 'tanaka', displayName: '田中 一郎', role: 'staff', email: 'Tanaka@City.Example.LG.JP', password: PASSWORD }, 'cli:root');
    });

    afterEach(async () => {
      await cons.close();
    });

    it('ends a session after web.idleMinutes without a request', async () => {
      await b.login('tanaka', PASSWORD);
      cons.clock.t += 29 * 60_000;
      expect((await b.get('/')).status).toBe(200);
      cons.clock.t += 29 * 60_000;
      expect((await b.get('/')).status).toBe(200);
      cons.clock.t += 31 * 60_000;
      expect((await b.get('/')).location).toBe('/login');
    });

    it('asks for a login, in Japanese unless English is asked for, with no room for scripts', async () => {
      const start = await b.get('/');
      expect(start.status).toBe(303);
      expect(start.location).toBe('/login');
      const login = await b.get('/login');
      expect(login.status).toBe(200);
      expect(login.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(login.body).toContain('<html lang="ja">');
      expect(login.body).toContain('ユーザー名');
      expect(login.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(login.headers.get('x-frame-options')).toBe('DENY');
      expect(login.headers.get('cache-control')).toBe('no-store');
      expect(login.body).not.toMatch(/<script/i);
      expect((await b.get('/login?lang=en')).body).toContain('User name');
      // The choice is remembered.
      expect((await b.get('/login')).body).toContain('<html lang="en">');
      expect((await b.get('/console.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    });

    it('logs in, shows staff their own quarantined mail only, logs out; each step audited with the client address', async () => {
      await store.insertItem(item('Q-20261126-MINE000001', { recipients: ['tanaka@city.example.lg.jp'], envelopeFrom: 'kouhou@example.com' }));
      await store.insertItem(item('Q-20261126-OTHER00001', { recipients: ['suzuki@city.example.lg.jp'] }));

      const done = await b.login('Tanaka', PASSWORD);
      expect(done.status).toBe(303);
      expect(done.location).toBe('/');
      const token = b.cookies.get(SESSION_COOKIE)!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // The database holds only the token's hash.
      const sessions = await o.sql('SELECT id FROM console_sessions');
      expect(sessions).toEqual([{ id: createHash('sha256').update(token).digest('hex') }]);

      const home = await b.get('/');
      expect(home.status).toBe(200);
      expect(home.body).toContain('田中 一郎');
      expect(home.body).toContain('職員');
      expect(home.body).toContain('Q-20261126-MINE000001');
      expect(home.body).toContain('kouhou@example.com');
      // Times as Japan reads them, whatever the server's zone.
      expect(home.body).toContain('2026/04/01 9:00:00 JST');
      expect(home.body).not.toContain('Q-20261126-OTHER00001');
      expect(home.body).not.toContain('監査ログ');

      // A logout without the form's token is refused, and the session lives on.
      expect((await b.post('/logout', {})).status).toBe(403);
      expect((await b.get('/')).status).toBe(200);

      const out = await b.submit(home, '/logout');
      expect(out.status).toBe(303);
      expect(out.location).toBe('/login?out=1');
      expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
      expect((await b.get('/login?out=1')).body).toContain('ログアウトしました');
      // The old token opens nothing any more.
      const thief = new Browser(b.port);
      thief.cookies.set(SESSION_COOKIE, token);
      expect((await thief.get('/')).status).toBe(303);

      const log = await records('login-succeeded', 'logout');
      expect(log.map((r) => [r.action, r.actor, r.object, r.details.client])).toEqual([
        ['login-succeeded', 'console:tanaka', 'tanaka', '127.0.0.1'],
        ['logout', 'console:tanaka', 'tanaka', '127.0.0.1'],
      ]);
      expect(await o.sql('SELECT id FROM console_sessions')).toEqual([]);
    });

    it('answers every failed login alike, audits why it failed, and locks the account', async () => {
      const unknown = await b.login('nobody', PASSWORD);
      const wrong = await b.login('tanaka', 'not the password');
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      const message = (p: { body: string }): string | undefined => /<p class="error" role="alert">([^<]*)<\/p>/.exec(p.body)?.[1];
      expect(message(unknown)).toContain('ユーザー名またはパスワードが違います');
      expect(message(wrong)).toBe(message(unknown));
      expect(b.cookies.has(SESSION_COOKIE)).toBe(false);

      for (let i = 1; i < LOCK_AT; i++) expect((await b.login('tanaka', `wrong ${i} wrong wrong`)).status).toBe(401);
      // Locked now (for this address): the right password does not open it, and the answer is the same.
      const locked = await b.login('tanaka', PASSWORD);
      expect(locked.status).toBe(401);
      expect(message(locked)).toBe(message(unknown));
      expect(await store.getLoginAddress('tanaka', '127.0.0.1')).toMatchObject({ failures: LOCK_AT, lockedUntil: new Date(cons.clock.t + 15 * 60_000).toISOString() });
      // Counted against the account too (an address it never logged in from), below the account-wide lock.
      expect(await store.getUser('tanaka')).toMatchObject({ failedLogins: LOCK_AT, lockedUntil: null });

      const failed = await records('login-failed');
      expect(failed.map((r) => [r.object, r.details.reason, r.details.failures ?? null])).toEqual([
        ['nobody', 'unknown-user', null],
        ['tanaka', 'bad-password', 1],
        ['tanaka', 'bad-password', 2],
        ['tanaka', 'bad-password', 3],
        ['tanaka', 'locked', null],
      ]);
      expect(failed.every((r) => r.details.client === '127.0.0.1')).toBe(true);
      expect(failed[3]?.details.lockedForAddress).toBe(true);
      expect(failed[4]?.details.lock).toBe('address');

      // The lock lifts by itself after lockoutMinutes, and a success clears the count.
      cons.clock.t += 16 * 60_000;
      expect((await b.login('tanaka', PASSWORD)).status).toBe(303);
      expect(await store.getUser('tanaka')).toMatchObject({ failedLogins: 0, lockedUntil: null });
      expect(await store.getLoginAddress('tanaka', '127.0.0.1')).toMatchObject({ failures: 0, lockedUntil: null });
    });

    it('lets an administrator lift a lockout at once (mugaika user enable)', async () => {
      for (let i = 0; i < LOCK_AT; i++) await b.login('tanaka', 'wrong wrong wrong');
      expect((await b.login('tanaka', PASSWORD)).status).toBe(401);
      await users.enable('tanaka', 'cli:root');
      expect((await b.login('tanaka', PASSWORD)).status).toBe(303);
      const changes = await records('user-changed');
      expect(changes.map((r) => r.details.change)).toEqual(['created', 'enabled']);
    });

    it('shows each role its own start page and nothing of the others', async () => {
      await store.insertItem(item('Q-20261126-HELD000001', { recipients: ['suzuki@city.example.lg.jp'] }));
      await store.insertItem(item('Q-20261126-RELEASED01', { state: 'released' }));
      await users.add({ name: 'kanri', role: 'admin', password: PASSWORD }, 'cli:root');
      await users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');

      const admin = new Browser(b.port);
      const adminHome = (await loginEnrolling(admin, 'kanri')).body;
      expect(adminHome).toContain('Q-20261126-HELD000001');
      expect(adminHome).not.toContain('Q-20261126-RELEASED01');
      expect(adminHome).not.toContain('login-succeeded');

      const auditor = new Browser(b.port);
      await loginEnrolling(auditor, 'kansa');
      const auditorHome = (await auditor.get('/?lang=en')).body;
      expect(auditorHome).toContain('Audit log');
      expect(auditorHome).toContain('console:kanri');
      expect(auditorHome).toContain('user-changed');
      expect(auditorHome).not.toContain('Q-20261126-HELD000001');

      // Staff without a quarantined message see an empty list, not someone else's.
      await b.login('tanaka', PASSWORD);
      const staffHome = (await b.get('/')).body;
      expect(staffHome).not.toContain('Q-20261126-HELD000001');
      expect(staffHome).toContain('ありません');
    });

    it('ends a session at its expiry, and when the user is changed or disabled', async () => {
      await b.login('tanaka', PASSWORD);
      // Requests every 20 minutes keep it from going idle; the absolute end still comes.
      for (let i = 0; i < 23; i++) {
        cons.clock.t += 20 * 60_000;
        expect((await b.get('/')).status).toBe(200);
      }
      cons.clock.t += 21 * 60_000;
      expect((await b.get('/')).location).toBe('/login');

      await b.login('tanaka', PASSWORD);
      expect((await b.get('/')).status).toBe(200);
      cons.clock.t += 1000;
      await users.setRole('tanaka', 'auditor', 'cli:root');
      expect((await b.get('/')).location).toBe('/login');

      // An auditor needs a second factor: the login enrols one first.
      expect((await loginEnrolling(b, 'tanaka')).body).toContain('監査者');
      cons.clock.t += 1000;
      await users.disable('tanaka', 'cli:root');
      expect((await b.get('/')).location).toBe('/login');
      expect((await b.login('tanaka', PASSWORD)).status).toBe(401);
      expect((await records('login-failed')).at(-1)?.details.reason).toBe('disabled');
    });

    it('refuses a login form that lacks its CSRF token, and records nothing', async () => {
      await b.get('/login');
      const r = await b.post('/login', { name: 'tanaka', password: PASSWORD });
      expect(r.status).toBe(403);
      expect(r.body).toContain('フォームの有効期限が切れました');
      expect(b.cookies.has(SESSION_COOKIE)).toBe(false);
      expect(await records('login-succeeded', 'login-failed')).toEqual([]);
    });
  });
}
