// The second factor over real HTTP, with real codes computed from the secret
// at fixed times: enrolment at the first login (QR drawn here, the key as
// text, ten recovery codes shown once), codes accepted once, recovery codes
// spent once, wrong codes counted like wrong passwords, reset for a lost
// phone; and the secret sealed at rest.
import { afterEach, describe, expect, it } from 'vitest';
import { openKeyRing } from '../../src/keys/key-ring.js';
import { openTotpSecret, totpCodeAt } from '../../src/users/totp.js';
import { SESSION_COOKIE } from '../../src/web/console/routes.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { recoveryCodesOn, secretOn, type Browser, type Page } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

let cons: Console | undefined;
afterEach(async () => {
  await cons?.close();
  cons = undefined;
});

/** Logs in with the password; the page that asks for the code. */
async function passwordStep(b: Browser, name: string): Promise<Page> {
  const r = await b.login(name, PASSWORD);
  expect(r.location).toBe('/login/code');
  return b.follow(r);
}

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`TOTP on ${backend.kind}`, () => {
    it('enrols an admin at the first login, then asks for a code each time and takes each code once', async () => {
      cons = await startConsole(backend);
      const c = cons;
      await c.users.add({ name: 'kanri', role: 'admin', displayName: '総務課 管理者', password: PASSWORD }, 'cli:root');
      const b = c.browser();
      const first = await b.login('kanri', PASSWORD);
      expect(first.location).toBe('/login/enrol');
      // Half logged in opens nothing; it can be dropped, and started again.
      expect((await b.get('/')).location).toBe('/login');
      const dropped = await b.submit(await b.get('/login/enrol'), '/logout');
      expect(dropped.location).toBe('/login?out=1');
      expect((await b.get('/login')).body).toContain('action="/login"');
      expect((await b.login('kanri', PASSWORD)).location).toBe('/login/enrol');
      const enrol = await b.get('/login/enrol');
      expect(enrol.status).toBe(200);
      expect(enrol.body).toMatch(/<div class="qr"><svg [^>]*role="img"/);
      expect(enrol.body).not.toMatch(/<script|<img|https?:\/\/(?!www\.w3\.org)/i);
      expect(enrol.headers.get('cache-control')).toBe('no-store');
      const secret = secretOn(enrol);
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);

      // A wrong code: the same key again, nothing enrolled.
      const wrong = await b.submit(enrol, '/login/enrol', { code: '000000' === (await totpCodeAt(secret, c.now())) ? '111111' : '000000' });
      expect(wrong.status).toBe(401);
      expect(secretOn(wrong)).toBe(secret);
      expect((await c.store.getUser('kanri'))?.totp).toBeNull();

      const done = await b.submit(wrong, '/login/enrol', { code: await totpCodeAt(secret, c.now()) });
      expect(done.status).toBe(200);
      const codes = recoveryCodesOn(done);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect((await b.get('/')).body).toContain('総務課 管理者');
      expect(await c.store.recoveryCodesLeft('kanri')).toBe(10);

      // The secret is sealed: the row holds neither it nor the codes; only the master key opens it.
      const row = (await c.store.getUser('kanri'))!;
      expect(row.totp!.sealed.toString('latin1')).not.toContain(secret);
      const dump = JSON.stringify(await c.o.sql('SELECT * FROM users')) + JSON.stringify(await c.o.sql('SELECT * FROM recovery_codes'));
      expect(dump).not.toContain(secret);
      for (const code of codes) expect(dump).not.toContain(code.replace(/-/g, ''));
      const ring = await openKeyRing(c.o.dataDir, {});
      expect(openTotpSecret(ring, 'kanri', row.totp!)).toBe(secret);
      const otherRing = await openKeyRing(`${c.o.dataDir}-other`, {});
      expect(() => openTotpSecret(otherRing, 'kanri', row.totp!)).toThrow(/sealed under master key/);
      // Moved to another user, it does not open.
      expect(() => openTotpSecret(ring, 'sato', row.totp!)).toThrow(/does not open/);

      // The next login: password, then a code. The enrolment's own code is not taken again.
      const again = c.browser();
      let ask = await passwordStep(again, 'kanri');
      expect((await again.submit(ask, '/login/code', { code: await totpCodeAt(secret, c.now()) })).status).toBe(401);
      c.clock.t += 30_000;
      const code = await totpCodeAt(secret, c.now());
      ask = await again.get('/login/code');
      const ok = await again.submit(ask, '/login/code', { code });
      expect(ok.location).toBe('/');
      expect((await again.get('/')).status).toBe(200);
      // The same code in another browser within its window: a replay.
      const thief = c.browser();
      const stolen = await passwordStep(thief, 'kanri');
      expect((await thief.submit(stolen, '/login/code', { code })).status).toBe(401);
      expect(thief.cookies.has(SESSION_COOKIE)).toBe(true);
      expect((await thief.get('/')).location).toBe('/login');
      // One step later, a new code works; two steps off (a minute), none does.
      c.clock.t += 30_000;
      expect((await thief.submit(await thief.get('/login/code'), '/login/code', { code: await totpCodeAt(secret, new Date(c.clock.t - 60_000)) })).status).toBe(401);
      expect((await thief.submit(await thief.get('/login/code'), '/login/code', { code: await totpCodeAt(secret, new Date(c.clock.t + 30_000)) })).location).toBe('/');

      const log = await c.records('login-password-accepted', 'second-factor-enrolled', 'login-succeeded', 'login-failed');
      expect(log.map((r) => [r.action, r.details.reason ?? r.details.next ?? (r.details.factors as string[] | undefined)?.join('+') ?? ''])).toEqual([
        ['login-password-accepted', 'enrol-totp'],
        ['login-password-accepted', 'enrol-totp'],
        ['login-failed', 'bad-code'],
        ['second-factor-enrolled', ''],
        ['login-succeeded', 'password+totp'],
        ['login-password-accepted', 'totp'],
        ['login-failed', 'code-replayed'],
        ['login-succeeded', 'password+totp'],
        ['login-password-accepted', 'totp'],
        ['login-failed', 'code-replayed'],
        ['login-failed', 'bad-code'],
        ['login-succeeded', 'password+totp'],
      ]);
      expect(log.every((r) => r.details.client === '127.0.0.1')).toBe(true);
    });

    it('takes each recovery code once, and counts wrong codes towards the lock like wrong passwords', async () => {
      cons = await startConsole(backend, { settings: { lockoutAttempts: 3 } });
      const c = cons;
      await c.users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');
      const b = c.browser();
      const enrol = await b.follow(await b.login('kansa', PASSWORD));
      const secret = secretOn(enrol);
      const codes = recoveryCodesOn(await b.submit(enrol, '/login/enrol', { code: await totpCodeAt(secret, c.now()) }));

      const lost = c.browser();
      // Typed as people type it: lower case, no dashes, O for 0.
      const typed = codes[3]!.toLowerCase().replace(/-/g, '').replace(/0/g, 'o');
      expect((await lost.submit(await passwordStep(lost, 'kansa'), '/login/code', { code: typed })).location).toBe('/');
      expect(await c.store.recoveryCodesLeft('kansa')).toBe(9);
      const twice = c.browser();
      expect((await twice.submit(await passwordStep(twice, 'kansa'), '/login/code', { code: codes[3]! })).status).toBe(401);
      const used = (await c.records('login-failed')).at(-1);
      expect(used?.details).toMatchObject({ reason: 'recovery-code-rejected', failures: 1 });
      expect((await c.records('login-succeeded')).at(-1)?.details).toMatchObject({ factors: ['password', 'recovery-code'], recoveryCodesLeft: 9 });

      // Two more wrong codes from this address: locked here, even with the right code.
      for (const code of ['123456', 'ABCD-EFGH-JKMN-PQRS']) expect((await twice.submit(await twice.get('/login/code'), '/login/code', { code })).status).toBe(401);
      c.clock.t += 30_000;
      expect((await twice.submit(await twice.get('/login/code'), '/login/code', { code: await totpCodeAt(secret, c.now()) })).status).toBe(401);
      expect((await c.records('login-failed')).at(-1)?.details).toMatchObject({ reason: 'locked', lock: 'address' });
    });

    it('resets a lost phone (mugaika user reset-2fa): sessions end, the next login enrols a new one', async () => {
      cons = await startConsole(backend);
      const c = cons;
      await c.users.add({ name: 'kanri', role: 'admin', password: PASSWORD }, 'cli:root');
      const b = c.browser();
      const enrol = await b.follow(await b.login('kanri', PASSWORD));
      await b.submit(enrol, '/login/enrol', { code: await totpCodeAt(secretOn(enrol), c.now()) });
      expect((await b.get('/')).status).toBe(200);
      await c.users.resetSecondFactor('kanri', 'cli:soumu');
      expect((await b.get('/')).location).toBe('/login');
      expect((await c.store.getUser('kanri'))?.totp).toBeNull();
      expect(await c.store.recoveryCodesLeft('kanri')).toBe(0);
      const again = await b.login('kanri', PASSWORD);
      expect(again.location).toBe('/login/enrol');
      expect(secretOn(await b.follow(again))).not.toBe(secretOn(enrol));
      expect((await c.records('second-factor-reset')).map((r) => [r.actor, r.object])).toEqual([['cli:soumu', 'kanri']]);
      await expect(c.users.resetSecondFactor('kanri', 'cli:soumu')).rejects.toThrow(/has no second factor/);
    });
  });
}

describe('TOTP for staff', () => {
  it('is optional by default: staff log in with a password, may enrol from their account page, and are asked for codes after', async () => {
    cons = await startConsole(sqliteBackend);
    const c = cons;
    await c.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
    const b = c.browser();
    expect((await b.login('tanaka', PASSWORD)).location).toBe('/');
    const account = await b.get('/account');
    expect(account.body).toContain('二要素認証は設定されていません');
    const enrol = await b.get('/account/enrol');
    const done = await b.submit(enrol, '/account/enrol', { code: await totpCodeAt(secretOn(enrol), c.now()) });
    expect(recoveryCodesOn(done)).toHaveLength(10);
    // The session that enrolled goes on.
    expect((await b.get('/account')).body).toContain('二要素認証は設定済みです');
    c.clock.t += 30_000;
    const next = c.browser();
    const ask = await passwordStep(next, 'tanaka');
    expect((await next.submit(ask, '/login/code', { code: await totpCodeAt(secretOn(enrol), c.now()) })).location).toBe('/');
  });

  it('is required for staff too when web.staffTotp says so', async () => {
    cons = await startConsole(sqliteBackend, { settings: { staffTotp: 'required' } });
    await cons.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
    expect((await cons.browser().login('tanaka', PASSWORD)).location).toBe('/login/enrol');
  });
});
