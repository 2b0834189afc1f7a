// Console users from a real OpenLDAP directory (slapd, started here on
// 127.0.0.1 with its own CA): bind as the user over LDAPS and StartTLS, role
// from group membership, name and address from the directory at each login;
// a user removed from the directory or its groups is refused and their
// sessions end at the next request; a directory that hangs or is down gives a
// clear page and never a local fallback; injection finds nobody.
import { Client } from 'ldapts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type LdapConfig } from '../../src/config/schema.js';
import { createLdapDirectory, type Directory } from '../../src/users/ldap.js';
import { totpCodeAt } from '../../src/users/totp.js';
import { GROUPS, LDAP_PASSWORD, SERVICE_DN, SERVICE_PW, startSlapd, TREE, userDn, type Slapd } from '../helpers/slapd.js';
import { sqliteBackend, postgresBackend } from '../store/backends.js';
import { secretOn } from '../web/browser.js';
import { PASSWORD, startConsole, type Console } from '../web/setup.js';

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd();
});
afterAll(async () => {
  await slapd?.stop();
});

let cons: Console | undefined;
afterEach(async () => {
  slapd.resume();
  await cons?.close();
  cons = undefined;
});

/** web.ldap as a configuration file would give it (defaults filled in by the schema). */
const ldapConfig = (over: Record<string, unknown> = {}): LdapConfig =>
  configSchema.parse({
    web: {
      ldap: {
        url: slapd.ldapsUrl,
        caFile: slapd.caFile,
        bindDn: SERVICE_DN,
        userBase: `ou=people,dc=city,dc=example,dc=lg,dc=jp`,
        userFilter: '(&(objectClass=inetOrgPerson)(uid={name}))',
        groups: GROUPS,
        timeoutMs: 1500,
        ...over,
      },
    },
  }).web.ldap!;

const directory = (over: Record<string, unknown> = {}): Directory => createLdapDirectory({ ...ldapConfig(over), bindPassword: SERVICE_PW });

describe('the directory (ldapts against slapd)', () => {
  it('binds as the user over LDAPS or StartTLS, and maps groups to roles', async () => {
    for (const d of [directory(), directory({ url: slapd.ldapUrl, startTls: true })]) {
      expect(await d.authenticate('suzuki', LDAP_PASSWORD)).toEqual({
        kind: 'ok',
        profile: { dn: userDn('suzuki'), displayName: 'Suzuki Jiro', email: 'suzuki@city.example.lg.jp', role: 'staff' },
      });
      expect(await d.authenticate('yamada', LDAP_PASSWORD)).toMatchObject({ kind: 'ok', profile: { role: 'admin' } });
      expect(await d.authenticate('kansa', LDAP_PASSWORD)).toMatchObject({ kind: 'ok', profile: { role: 'auditor', email: null, displayName: 'Kansa Taro' } });
      expect(await d.authenticate('suzuki', 'not the password')).toEqual({ kind: 'bad-password' });
      // An empty password would be an unauthenticated bind, which LDAP lets through: never tried.
      expect(await d.authenticate('suzuki', '')).toEqual({ kind: 'bad-password' });
      expect(await d.authenticate('nobody', LDAP_PASSWORD)).toEqual({ kind: 'unknown' });
      expect(await d.authenticate('taro', LDAP_PASSWORD)).toEqual({ kind: 'no-group' });
      expect(await d.authenticate('both', LDAP_PASSWORD)).toEqual({ kind: 'conflicting-groups', roles: ['admin', 'auditor'] });
    }
    // slapd refuses password binds without TLS: these went over LDAPS and StartTLS.
    expect(slapd.log()).toContain('EXT oid=1.3.6.1.4.1.1466.20037');
    const plain = new Client({ url: slapd.ldapUrl });
    await expect(plain.bind(SERVICE_DN, SERVICE_PW)).rejects.toThrow(/onfidentiality/);
    await plain.unbind();
    // Without TLS nothing is configured at all.
    expect(() => configSchema.parse({ web: { ldap: { url: slapd.ldapUrl, bindDn: SERVICE_DN, userBase: 'ou=people', groups: GROUPS } } })).toThrow(/ldaps:\/\/ or startTls/);
  });

  it('escapes what goes into a filter: *)(uid=* and s* find nobody, and reach the directory escaped', async () => {
    const d = directory();
    for (const name of ['*', 's*', '*)(uid=*', 'suzuki)(|(uid=*', '*)(objectClass=*))(&(uid=x']) {
      expect(await d.lookup(name), name).toEqual({ kind: 'unknown' });
      expect(await d.authenticate(name, LDAP_PASSWORD), name).toEqual({ kind: 'unknown' });
    }
    const filters = slapd
      .log()
      .split('\n')
      .filter((l) => l.includes('filter="'));
    expect(filters.some((l) => l.includes('(uid=s\\2A)'))).toBe(true);
    expect(filters.some((l) => l.includes('(uid=\\2A\\29\\28uid=\\2A)'))).toBe(true);
    // No filter with an unescaped wildcard on uid ever reached the directory.
    expect(filters.filter((l) => /\(uid=[^)]*\*/.test(l))).toEqual([]);
  });

  it('refuses a directory whose certificate is not from the configured CA, and says it is unavailable', async () => {
    const d = directory({ caFile: undefined });
    expect(await d.authenticate('suzuki', LDAP_PASSWORD)).toMatchObject({ kind: 'unavailable' });
  });
});

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`directory users in the console on ${backend.kind}`, () => {
    it('logs a directory user in, creating their row from the directory, and keeps local accounts beside them', async () => {
      cons = await startConsole(backend, { directory: directory() });
      const c = cons;
      await c.users.add({ name: 'kanri', role: 'admin', password: PASSWORD }, 'cli:root');
      const b = c.browser();
      expect((await b.login('suzuki', LDAP_PASSWORD)).location).toBe('/');
      expect((await b.get('/')).body).toContain('Suzuki Jiro');
      expect(await c.store.getUser('suzuki')).toMatchObject({ source: 'ldap', role: 'staff', email: 'suzuki@city.example.lg.jp', passwordHash: '', displayName: 'Suzuki Jiro' });
      expect((await c.records('login-succeeded')).at(-1)?.details).toMatchObject({ source: 'ldap', directory: { created: true }, factors: ['password'] });
      // A directory user's password is the directory's: no change here.
      const account = await b.get('/account');
      expect(account.body).toContain('職員ディレクトリで管理しています');
      expect(account.body).not.toContain('action="/account/password"');
      // Wrong directory password: refused and counted against the (now known) account.
      expect((await c.browser().login('suzuki', 'wrong password')).status).toBe(401);
      expect((await c.records('login-failed')).at(-1)?.details).toMatchObject({ reason: 'bad-password', directory: true, failures: 1 });
      // The local admin still logs in with the local password (and enrols a phone).
      expect((await c.browser().login('kanri', PASSWORD)).location).toBe('/login/enrol');
      expect((await c.browser().login('kanri', LDAP_PASSWORD)).status).toBe(401);
      // An admin from the directory enrols TOTP like a local one.
      const y = c.browser();
      const enrol = await y.follow(await y.login('yamada', LDAP_PASSWORD));
      await y.submit(enrol, '/login/enrol', { code: await totpCodeAt(secretOn(enrol), c.now()) });
      expect((await y.get('/')).body).toContain('Yamada Hanako');
      // Injection through the form: refused, nothing let in.
      for (const name of ['*)(uid=*', '*', 'suzuki*']) expect((await c.browser().login(name, LDAP_PASSWORD)).status).toBe(401);
    });

    it('ends the sessions of a user removed from the groups or the directory at their next request, and refuses their login', async () => {
      cons = await startConsole(backend, { directory: directory() });
      const c = cons;
      const alice = c.browser();
      const taro = c.browser();
      expect((await alice.login('alice', LDAP_PASSWORD)).location).toBe('/');
      // Moved from staff to the auditors: the session ends (a role change), the row follows.
      slapd.modify(`dn: ${GROUPS.staff}\nchangetype: modify\ndelete: member\nmember: ${userDn('alice')}\n\ndn: ${GROUPS.auditor}\nchangetype: modify\nadd: member\nmember: ${userDn('alice')}\n`);
      expect((await alice.get('/')).location).toBe('/login');
      expect(await c.store.getUser('alice')).toMatchObject({ role: 'auditor' });
      // Removed from every group.
      slapd.modify(`dn: ${GROUPS.auditor}\nchangetype: modify\ndelete: member\nmember: ${userDn('alice')}\n`);
      expect((await alice.login('alice', LDAP_PASSWORD)).status).toBe(401);
      // Removed from the directory while signed in.
      slapd.modify(`dn: ${GROUPS.staff}\nchangetype: modify\nadd: member\nmember: ${userDn('taro')}\n`);
      expect((await taro.login('taro', LDAP_PASSWORD)).location).toBe('/');
      slapd.modify(`dn: ${GROUPS.staff}\nchangetype: modify\ndelete: member\nmember: ${userDn('taro')}\n\ndn: ${userDn('taro')}\nchangetype: delete\n`);
      expect((await taro.get('/')).location).toBe('/login');
      expect((await taro.login('taro', LDAP_PASSWORD)).status).toBe(401);
      const ended = await c.records('session-ended');
      expect(ended.map((r) => [r.actor, r.object, r.details.reason])).toEqual([
        ['directory', 'alice', 'role-changed'],
        ['directory', 'taro', 'not-in-directory'],
      ]);
      const failed = await c.records('login-failed');
      expect(failed.map((r) => [r.object, r.details.reason])).toEqual([
        ['alice', 'not-in-group'],
        ['taro', 'not-in-directory'],
      ]);
      // Put back for the other tests.
      slapd.modify(`dn: ${GROUPS.staff}\nchangetype: modify\nadd: member\nmember: ${userDn('alice')}\n`);
      slapd.modify(
        `dn: ${userDn('taro')}\nchangetype: add\n${TREE.split('\n\n')
          .find((e) => e.startsWith(`dn: ${userDn('taro')}`))!
          .split('\n')
          .slice(1)
          .join('\n')}\n`,
      );
    });

    it('gives a clear page when the directory hangs or is down, never a local fallback, and local users still log in', async () => {
      cons = await startConsole(backend, { directory: directory() });
      const c = cons;
      await c.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      const b = c.browser();
      expect((await b.login('suzuki', LDAP_PASSWORD)).location).toBe('/');
      await slapd.pause();
      const t0 = Date.now();
      const login = await c.browser().login('suzuki', LDAP_PASSWORD);
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(login.status).toBe(503);
      expect(login.body).toContain('職員ディレクトリ');
      // A signed-in directory user is neither let in nor logged out while it hangs.
      const page = await b.get('/');
      expect(page.status).toBe(503);
      expect(page.body).toContain('職員ディレクトリ');
      // A local user is not held up by it.
      expect((await c.browser().login('tanaka', PASSWORD)).location).toBe('/');
      slapd.resume();
      expect((await b.get('/')).status).toBe(200);
      expect((await c.records('login-failed')).map((r) => r.details.reason)).toEqual(['directory-unavailable']);

      // Down altogether: a closed port.
      const down = await startConsole(backend, { directory: directory({ url: 'ldaps://127.0.0.1:1' }) });
      try {
        const r = await down.browser().login('suzuki', LDAP_PASSWORD);
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBe('30');
      } finally {
        await down.close();
      }
    });
  });
}
