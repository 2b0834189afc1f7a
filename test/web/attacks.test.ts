// The console as an attacker tried it (issue 14), over real HTTP on 127.0.0.1:
// parallel guesses, a timing oracle, locking the admin out, a flood from one
// address, hidden characters in a name, the headers of every answer, and the
// CSRF secret across a login. Each of these broke before.
import { afterEach, describe, expect, it } from 'vitest';
import { csvRow, textLine } from '../../src/audit/export.js';
import { SECURITY_HEADERS } from '../../src/web/server.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { Browser, type Page } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

let cons: Console | undefined;
afterEach(async () => {
  await cons?.close();
  cons = undefined;
});

/** A browser whose requests come, through the trusted proxy, from `address`. */
const from = (c: Console, address: string): Browser => {
  const b = c.browser();
  b.headers['x-forwarded-for'] = address;
  return b;
};

/** `n` login posts at once, all with one login page's CSRF token. */
async function atOnce(b: Browser, name: string, passwords: string[]): Promise<Page[]> {
  const form = await b.get('/login');
  return Promise.all(passwords.map((password) => b.submit(form, '/login', { name, password })));
}

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`console under attack on ${backend.kind}`, () => {
    it('checks at most lockoutAttempts guesses, however many arrive at once, and the right password last does not get in', async () => {
      cons = await startConsole(backend, { settings: { lockoutAttempts: 5, addressFailures: 1000 } });
      await cons.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      const b = cons.browser();
      const answers = await atOnce(b, 'tanaka', [...Array.from({ length: 40 }, (_, i) => `wrong guess number ${i}`), PASSWORD]);
      // Refused, every one: 401, or 429 for those beyond the few that may wait their turn for one name.
      expect(
        answers.every((a) => a.status === 401 || a.status === 429),
        answers.map((a) => a.status).join(' '),
      ).toBe(true);
      // Each guess that was checked counts (bad-password, one record each); the others met the lock, or the queue, unchecked.
      expect((await cons.records('login-failed')).filter((r) => r.details.reason === 'bad-password')).toHaveLength(5);
      expect(await cons.store.getLoginAddress('tanaka', '127.0.0.1')).toMatchObject({ failures: 5, lockedUntil: expect.any(String) });
      // Afterwards too, the right password meets the lock.
      expect((await b.login('tanaka', PASSWORD)).status).toBe(401);
      expect(await cons.records('login-succeeded')).toEqual([]);
      expect(await cons.store.listSessions('tanaka')).toEqual([]);
      await cons.auth.close();
      const summary = (await cons.records('login-failures-summarised'))[0]?.details.byAddress as { reasons: Record<string, number> }[] | undefined;
      const reasons = summary?.[0]?.reasons ?? {};
      expect(reasons['bad-password']).toBeUndefined();
      expect((reasons.locked ?? 0) + (reasons.throttled ?? 0)).toBeGreaterThan(0);
    });

    it('a lock holds for the offending address only: five anonymous attempts do not lock the admin out', async () => {
      cons = await startConsole(backend, { settings: { lockoutAttempts: 5 }, web: { trustProxy: ['127.0.0.1'] } });
      await cons.users.add({ name: 'kanri', role: 'admin', password: PASSWORD }, 'cli:root');
      const attacker = from(cons, '198.51.100.66');
      for (let i = 0; i < 5; i++) expect((await attacker.login('kanri', `guess ${i} guess guess`)).status).toBe(401);
      // Even the right password is refused from there now.
      expect((await attacker.login('kanri', PASSWORD)).status).toBe(401);
      // From the administrator's own desk it is not.
      const admin = from(cons, '192.0.2.10');
      const step = await admin.login('kanri', PASSWORD);
      expect(step.location).toBe('/login/enrol');
      const locks = await cons.records('login-failed');
      expect(locks.at(-1)?.details).toMatchObject({ reason: 'locked', lock: 'address', client: '198.51.100.66' });
      expect(locks.every((r) => r.details.client === '198.51.100.66')).toBe(true);
    });
  });
}

describe('console under attack', () => {
  it('locks an account for new addresses after a distributed attack, but not for the addresses its user logs in from', async () => {
    cons = await startConsole(sqliteBackend, { settings: { lockoutAttempts: 5, accountLockoutAttempts: 10 }, web: { trustProxy: ['127.0.0.1'] } });
    await cons.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
    // The user's own desk: a success makes it theirs.
    const desk = from(cons, '192.0.2.10');
    expect((await desk.login('tanaka', PASSWORD)).location).toBe('/');
    for (let i = 0; i < 12; i++) expect((await from(cons, `203.0.113.${i}`).login('tanaka', 'a guess from afar')).status).toBe(401);
    const failed = await cons.records('login-failed');
    expect(failed.filter((r) => r.details.reason === 'bad-password')).toHaveLength(10);
    expect(failed.slice(-2).map((r) => r.details)).toEqual([expect.objectContaining({ reason: 'locked', lock: 'account' }), expect.objectContaining({ reason: 'locked', lock: 'account' })]);
    // A new address with the right password is refused; the desk is not.
    expect((await from(cons, '203.0.113.200').login('tanaka', PASSWORD)).status).toBe(401);
    expect((await from(cons, '192.0.2.10').login('tanaka', PASSWORD)).location).toBe('/');
  });

  it('answers every failure after the same time: unknown, locked, disabled and wrong passwords alike', async () => {
    cons = await startConsole(sqliteBackend, { failureFloorMs: 150, settings: { lockoutAttempts: 3, addressFailures: 10_000 } });
    const c = cons;
    for (const name of ['locked1', 'disabled1', 'sato']) await c.users.add({ name, role: 'staff', email: `${name}@city.example.lg.jp`, password: PASSWORD }, 'cli:root');
    await c.users.disable('disabled1', 'cli:root');
    const b = c.browser();
    for (let i = 0; i < 3; i++) await b.login('locked1', 'wrong wrong wrong');
    const time = async (name: string, password: string): Promise<number> => {
      const form = await b.get('/login');
      const t0 = performance.now();
      const r = await b.submit(form, '/login', { name, password });
      expect(r.status).toBe(401);
      return performance.now() - t0;
    };
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const cases: Record<string, [string, string]> = {
      unknown: ['nobody-here', PASSWORD],
      locked: ['locked1', PASSWORD],
      disabled: ['disabled1', PASSWORD],
      // Different guesses, so that sato never locks (a wrong password each time: 1 per round, below the lock).
      wrong: ['sato', 'not the password'],
    };
    const times: Record<string, number[]> = { unknown: [], locked: [], disabled: [], wrong: [] };
    for (let round = 0; round < 7; round++) {
      for (const [k, [name, password]] of Object.entries(cases)) times[k]!.push(await time(name, password));
      // Keep sato below its lock: a success from this address clears its count.
      if (round % 2 === 1) await c.browser().login('sato', PASSWORD);
    }
    const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    const values = Object.values(medians);
    // Before: locked ~2 ms, the others ~40 ms (argon2).
    expect(Math.min(...values) / Math.max(...values), JSON.stringify(medians)).toBeGreaterThan(0.8);
    expect(Math.min(...values), JSON.stringify(medians)).toBeGreaterThanOrEqual(140);
  });

  it('refuses an address over its failure budget with 429 before reading the name, and others still get in', async () => {
    cons = await startConsole(sqliteBackend, { settings: { addressFailures: 6 }, web: { trustProxy: ['127.0.0.1'] }, failureAudit: { perAddress: 100 } });
    await cons.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
    const flood = from(cons, '198.51.100.7');
    for (let i = 0; i < 6; i++) expect((await flood.login(`user${i}`, 'whatever whatever')).status).toBe(401);
    const refused = await flood.login('tanaka', PASSWORD);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body).toContain('この端末からのログインを一時的に止めています');
    // The same /64 is the same client.
    expect((await from(cons, '2001:db8:1:2::1').login('x', 'y')).status).toBe(401);
    // Others are served.
    expect((await from(cons, '192.0.2.10').login('tanaka', PASSWORD)).location).toBe('/');
    const failed = await cons.records('login-failed');
    expect(failed.filter((r) => r.details.reason === 'throttled').map((r) => r.details.client)).toEqual(['198.51.100.7']);
  });

  it('answers 503 for every name while the password thread is full, instead of queueing without bound', async () => {
    cons = await startConsole(sqliteBackend, { settings: { passwordQueue: 1, addressFailures: 1000 } });
    for (let i = 0; i < 8; i++) await cons.users.add({ name: `user${i}`, role: 'staff', email: `u${i}@city.example.lg.jp`, password: PASSWORD }, 'cli:root');
    const b = cons.browser();
    const form = await b.get('/login');
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => b.submit(form, '/login', { name: `user${i}`, password: 'a wrong password' })),
      b.submit(form, '/login', { name: 'nobody', password: 'a wrong password' }),
    ]);
    const codes = answers.map((a) => a.status);
    expect(codes.filter((c) => c === 503).length, codes.join(' ')).toBeGreaterThan(0);
    expect(codes.every((c) => c === 401 || c === 503)).toBe(true);
    const busy = answers.find((a) => a.status === 503)!;
    expect(busy.headers.get('retry-after')).toBe('5');
    expect(busy.body).toContain('混み合っています');
  });

  it('writes failures that change nothing one by one only up to a budget, then one summary with counts by address', async () => {
    cons = await startConsole(sqliteBackend, {
      settings: { addressFailures: 10_000 },
      web: { trustProxy: ['127.0.0.1'] },
      failureAudit: { perAddress: 3, perMinute: 1000, intervalMs: 60 * 60_000 },
    });
    const b = from(cons, '198.51.100.9');
    const form = await b.get('/login');
    for (let batch = 0; batch < 5; batch++) await Promise.all(Array.from({ length: 20 }, (_, i) => b.submit(form, '/login', { name: `nobody${batch}-${i}`, password: 'x' })));
    const before = await cons.records('login-failed');
    expect(before).toHaveLength(3);
    await cons.auth.close();
    const [summary] = await cons.records('login-failures-summarised');
    expect(summary?.details).toMatchObject({ attempts: 97, addresses: 1, byAddress: [expect.objectContaining({ client: '198.51.100.9', attempts: 97, reasons: { 'unknown-user': 97 } })] });
    expect((summary?.details.byAddress as { names: string[] }[])[0]!.names).toHaveLength(10);
  });

  it("shows a bidi override or zero-width space in a login name written out, on the auditor's page and in the CSV export", async () => {
    cons = await startConsole(sqliteBackend);
    const c = cons;
    await c.users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');
    await c.browser().login('ad\u202Emin\u200Bx', 'whatever whatever');
    const [record] = await c.store.searchAudit({ actions: ['login-failed'] });
    expect(record?.object).toBe('ad<U+202E>min<U+200B>x');
    // Even a record written raw is shown marked, never as it is.
    const raw = { ...record!, object: 'ev\u202Eil', actor: 'console:ev\u202Eil', details: JSON.stringify({ name: 'ev\u202Eil\u2066' }) };
    const cells = csvRow(raw).join(',');
    expect(cells).not.toMatch(/[\u202E\u2066]/);
    expect(cells).toContain('ev<U+202E>il');
    expect(textLine(raw)).toContain('console:ev<U+202E>il');
    const { esc, table } = await import('../../src/web/console/html.js');
    expect(esc('ev\u202Eil')).toBe('ev&lt;U+202E&gt;il');
    expect(table(['a'], [['ev\u202Eil']], '')).toContain('<span class="hidden-char">&lt;U+202E&gt;</span>');

    // The auditor's page: enrol first (auditors need a second factor), then the log.
    const { totpCodeAt } = await import('../../src/users/totp.js');
    const { secretOn } = await import('./browser.js');
    const a = c.browser();
    const enrol = await a.follow(await a.login('kansa', PASSWORD));
    await a.submit(enrol, '/login/enrol', { code: await totpCodeAt(secretOn(enrol), c.now()) });
    const page = (await a.get('/')).body;
    expect(page).toContain('ad<span class="hidden-char">&lt;U+202E&gt;</span>min<span class="hidden-char">&lt;U+200B&gt;</span>x');
    expect(page).not.toMatch(/[\u202E\u200B]/);
  });

  it('sends the security headers with /healthz, /metrics and a 404 too', async () => {
    cons = await startConsole(sqliteBackend);
    for (const path of ['/healthz', '/metrics', '/no-such-page', '/login']) {
      const r = await cons.browser().get(path);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(r.headers.get(name), `${path} ${name}`).toBe(value);
    }
    expect((await cons.browser().get('/no-such-page')).status).toBe(404);
  });

  it('renews the CSRF secret at login: a token from before no longer posts', async () => {
    cons = await startConsole(sqliteBackend);
    await cons.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
    const b = cons.browser();
    const form = await b.get('/login');
    const before = b.cookies.get('_csrf');
    const oldToken = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    expect((await b.submit(form, '/login', { name: 'tanaka', password: PASSWORD })).location).toBe('/');
    expect(b.cookies.get('_csrf')).toBeDefined();
    expect(b.cookies.get('_csrf')).not.toBe(before);
    // A token an attacker planted or read before the login does not carry over.
    expect((await b.post('/logout', { _csrf: oldToken })).status).toBe(403);
    expect((await b.get('/')).status).toBe(200);
  });

  it('believes X-Forwarded-For only from web.trustProxy, and records that client', async () => {
    cons = await startConsole(sqliteBackend, { web: { trustProxy: ['192.0.2.1'] } });
    const b = from(cons, '203.0.113.5');
    await b.login('nobody', 'x');
    const [r] = await cons.records('login-failed');
    // 127.0.0.1 is not the proxy: its header is ignored.
    expect(r?.details.client).toBe('127.0.0.1');
  });
});
