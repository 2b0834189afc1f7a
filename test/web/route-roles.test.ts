// Every route the console's server registers, asked by each kind of visitor
// (anonymous, 職員, 管理者, 監査者) as a browser asks it: the answers must be
// the ones route-table.ts gives, a route without a row fails, and a request
// refused (403, or sent to the login page) changes nothing: not the audit
// log, not an item, a user, a session, an unlock count or the delivery queue.
// On real items (real mail through the real sanitizer into the vault,
// addressed to the staff member), with each session's own CSRF token and the
// body its form sends, on SQLite and PostgreSQL. Also: a staff member gets
// one and the same 404 page for every id that is not theirs, and a GET on a
// route that only takes POST is a 404, never an error.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrust } from '../../src/audit/signer.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import { noDocuments } from '../../src/converters/unavailable.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { sanitize } from '../../src/core/sanitize.js';
import { openSpool, type Spool } from '../../src/spool/spool.js';
import { createUnlockService, type UnlockService } from '../../src/unlock/service.js';
import { totpCodeAt } from '../../src/users/totp.js';
import { zip } from '../helpers/bytes.js';
import { tempDir, withAttachments } from '../helpers/run.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { signInAll } from './audit-harness.js';
import { Browser, secretOn } from './browser.js';
import { consoleRoutes, OTHER_PASSWORD, OTHER_STAFF, PPAP_PASSWORD, visitors, type ItemName, type Row, type Visitor, type Want } from './route-table.js';
import { startConsole, type Console } from './setup.js';

const TANAKA = 'tanaka@city.example.lg.jp';
const SATO = 'sato@city.example.lg.jp';
const SUZUKI = 'suzuki@city.example.lg.jp';
const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);

const csrfOn = (body: string): string => {
  const t = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  if (!t) throw new Error(`no CSRF token on the page:\n${body.slice(0, 2000)}`);
  return t.replace(/&amp;/g, '&');
};

/** Another tab of the same browser: the same cookies, and what the server sets stays in the tab. */
const tab = (b: Browser): Browser => {
  const t = new Browser(b.port);
  for (const [k, v] of b.cookies) t.cookies.set(k, v);
  return t;
};

const head = async (b: Browser, path: string): Promise<number> =>
  (await fetch(`http://127.0.0.1:${b.port}${path}`, { method: 'HEAD', headers: { cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }, redirect: 'manual' })).status;

const refused = (w: Want): boolean => w === 403 || w === 404 || w === '→ /login';
const shownAs = (status: number, location: string | null): Want => (status === 303 && location ? `→ ${location}` : status);

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`every route, by role, on ${backend.kind}`, () => {
    let c: Console;
    let spool: Spool;
    let unlock: UnlockService;
    const registered = new Set<string>();
    const items = {} as Record<ItemName | 'others', string>;
    const browsers = {} as Record<Visitor, Browser>;
    const tokens = {} as Record<Visitor, string>;
    let otherSession = '';
    let queueId = '';
    const policyFile = path.join(tempDir(), 'policy.yaml');
    writeFileSync(policyFile, 'language: ja\n');

    /** Sanitizes a real message into the console's quarantine; returns its item id. */
    const arrive = async (raw: Buffer, from: string, to: string[]): Promise<string> => {
      const r = await sanitize({ raw, envelope: { mailFrom: from, rcptTo: to } }, defaultPolicy, {
        quarantine: c.vault,
        images: createSharpTranscoder(),
        documents: noDocuments,
        now: c.now,
        randomToken: () => randomUUID(),
      });
      expect(r.quarantineId).toMatch(/^Q-/);
      return r.quarantineId!;
    };
    const invoice = (to: string): Buffer => withAttachments('請求書を送ります。', [{ type: 'application/octet-stream', filename: '請求書.exe', body: exe }], [`To: ${to}`]);
    const ppap = async (): Promise<Buffer> =>
      withAttachments(
        'パスワードは別途お送りします。',
        [{ type: 'application/zip', filename: '見積書.zip', body: await zip([['見積書.txt', '金額: 100,000円']], { password: PPAP_PASSWORD }) }],
        [`To: ${TANAKA}`],
      );

    /** Everything a refused request must leave as it was. */
    const snapshot = async (): Promise<unknown> => ({
      head: (await c.store.head()).seq,
      items: (await c.store.listItems({})).map((i) => [i.id, i.state, i.stateChangedAt]).sort(),
      users: await c.store.listUsers(),
      sessions: (await c.auth.sessions()).map((s) => s.id).sort(),
      unlock: await c.store.listUnlockStates(items.locked),
      control: await spool.listControl(),
      policy: readFileSync(policyFile, 'utf8'),
    });

    beforeAll(async () => {
      let spoolReady!: Promise<Spool>;
      c = await startConsole(backend, {
        policyFile,
        onRoute: (r) => {
          for (const m of [r.method].flat()) registered.add(`${m} ${r.url}`);
        },
        deps: ({ o, audit, now }) => {
          spoolReady = openSpool(o.dataDir);
          unlock = createUnlockService({
            vault: { get: (id) => c.vault.get(id), store: o.store },
            audit,
            policy: defaultPolicy,
            spool: { accept: async (e, data, max) => (await spoolReady).accept(e, data, max) },
            accepted: () => undefined,
            pdf: async () => ({ ok: false, reason: 'failed', detail: 'no PDF here' }),
            now,
          });
          return { unlock, auditor: { audit, verify: async () => verifyAudit(o.store, await loadTrust(o.dataDir), { headFile: null }) } };
        },
      });
      spool = await spoolReady;
      // The sanitizer's time budget runs on the real clock: the console's starts there too.
      c.clock.t = Date.now();
      const signed = await signInAll(c);
      await c.users.add({ name: OTHER_STAFF, role: 'staff', email: SATO, password: OTHER_PASSWORD }, 'cli:root');
      expect((await c.browser().login(OTHER_STAFF, OTHER_PASSWORD)).status).toBe(303);
      otherSession = (await c.auth.sessions(OTHER_STAFF))[0]!.id;

      items.requested = await arrive(invoice(TANAKA), 'vendor@example.co.jp', [TANAKA]);
      items.rejected = await arrive(invoice(TANAKA), 'vendor@example.co.jp', [TANAKA]);
      items.ppap = await arrive(await ppap(), 'vendor@example.co.jp', [TANAKA]);
      items.locked = await arrive(await ppap(), 'vendor@example.co.jp', [TANAKA]);
      items.others = await arrive(invoice(SUZUKI), 'vendor@example.co.jp', [SUZUKI, SATO]);
      for (let i = 0; i < 5; i++) expect((await unlock.attempt(items.locked, { name: 'tanaka', email: TANAKA }, `wrong-${i}`, '127.0.0.1')).kind).toBe('wrong-password');
      expect((await c.store.getUnlockState(items.locked, 'tanaka'))?.lockedAt).toBeTruthy();
      const q = await spool.accept(
        { mailFrom: 'sender@example.com', rcptTo: [TANAKA], clientAddress: '127.0.0.1', heloName: 'c', receivedAt: c.now().toISOString() },
        Readable.from([Buffer.from('Subject: x\r\n\r\nx\r\n')]),
        1 << 20,
      );
      queueId = String(q);

      browsers.anonymous = c.browser();
      tokens.anonymous = csrfOn((await browsers.anonymous.get('/login')).body);
      for (const v of ['staff', 'admin', 'auditor'] as const) {
        browsers[v] = signed[v];
        tokens[v] = csrfOn((await signed[v].get('/account')).body);
      }
    }, 120_000);

    afterAll(async () => {
      await spool?.close();
      await c?.close();
    });

    it('has a row for every route the server registers, and no row for a route it does not', () => {
      const rows = new Set(consoleRoutes.map((r) => `${r.method} ${r.url}`));
      // /healthz answers HEAD too (monitors): the GET's row covers it.
      const missing = [...registered].filter((r) => !rows.has(r.replace(/^HEAD /, 'GET ')));
      expect(missing, 'routes without a row in test/web/route-table.ts').toEqual([]);
      expect(
        [...rows].filter((r) => !registered.has(r)),
        'rows for routes the server does not have',
      ).toEqual([]);
      expect(registered.size).toBeGreaterThan(40);
    });

    it('gives a staff member the same 404 page for every id that is not theirs, and changes nothing', async () => {
      const ids = [items.others, 'Q-20261126-ZZZZZZZZZZ', encodeURIComponent('../../etc/passwd'), encodeURIComponent('<script>alert(1)</script>'), 'x'.repeat(100)];
      const before = await snapshot();
      for (const [method, url, form] of [
        ['GET', '/items/:id', {}],
        ['POST', '/items/:id/request', { reason: 'どうしても必要です。' }],
        ['GET', '/items/:id/unlock', {}],
        ['POST', '/items/:id/unlock', { password: PPAP_PASSWORD }],
      ] as const) {
        const pages = new Set<string>();
        for (const id of ids) {
          const b = tab(browsers.staff);
          const path = url.replace(':id', id);
          const res = method === 'GET' ? await b.get(path) : await b.post(path, { _csrf: tokens.staff, ...form });
          expect(res.status, `${method} ${path}`).toBe(404);
          expect(res.body).not.toContain('<script>alert');
          pages.add(res.body.replace(/name="_csrf" value="[^"]*"/g, ''));
        }
        expect([...pages], `${method} ${url}: one page for every id`).toHaveLength(1);
        // Longer than any id (fastify's maxParamLength): refused before any route, and still not an error.
        const long = tab(browsers.staff);
        const tooLong = url.replace(':id', 'x'.repeat(2000));
        expect((method === 'GET' ? await long.get(tooLong) : await long.post(tooLong, { _csrf: tokens.staff, ...form })).status).toBe(414);
      }
      expect(await snapshot()).toEqual(before);
    });

    it('gives an administrator a 404 for an item that does not exist, and changes nothing', async () => {
      const before = await snapshot();
      for (const id of ['Q-20261126-ZZZZZZZZZZ', encodeURIComponent('../../etc/passwd')]) {
        for (const [method, url, form] of [
          ['GET', '/admin/items/:id', {}],
          ['GET', '/admin/items/:id/original', {}],
          ['POST', '/admin/items/:id/approve', { comment: 'ok' }],
          ['POST', '/admin/items/:id/reject', { comment: 'no' }],
          ['GET', '/admin/items/:id/unlock-reset', {}],
          ['POST', '/admin/items/:id/unlock-reset', { user: 'tanaka' }],
        ] as const) {
          const b = tab(browsers.admin);
          const path = url.replace(':id', id);
          const res = method === 'GET' ? await b.get(path) : await b.post(path, { _csrf: tokens.admin, ...form });
          expect(res.status, `${method} ${path}`).toBe(404);
        }
      }
      expect(await snapshot()).toEqual(before);
    });

    it('answers a GET on a route that only takes POST with 404, never an error', async () => {
      const postOnly = [...registered].filter((r) => r.startsWith('POST ') && !registered.has(r.replace(/^POST /, 'GET '))).map((r) => r.slice(5));
      expect(postOnly.length).toBeGreaterThan(5);
      const before = await snapshot();
      for (const url of postOnly) {
        const path = url.replace(':id', items.requested).replace(':name', OTHER_STAFF);
        for (const v of visitors) expect((await tab(browsers[v]).get(path)).status, `${v} GET ${path}`).toBe(404);
      }
      expect(await snapshot()).toEqual(before);
    });

    it('answers every visitor as the table says, and a refused request changes nothing', async () => {
      const wrong: string[] = [];
      const unchanged: string[] = [];
      for (const r of consoleRoutes) {
        const id = items[r.item ?? 'requested'];
        const fill = (s: string): string => s.replace(':id', id).replace(':name', OTHER_STAFF);
        const path = fill(r.url);
        // Those refused first: each is asked while what the others may change is still there to change.
        const order = [...visitors].sort((a, b) => Number(refused(r[b])) - Number(refused(r[a])));
        for (const v of order) {
          const b = tab(browsers[v]);
          const want: Want = typeof r[v] === 'string' ? (fill(r[v] as string) as Want) : r[v];
          const before = refused(want) ? await snapshot() : null;
          const got =
            r.method === 'GET' ? await send(b, r, path) : await send(b, r, path, { _csrf: tokens[v], ...(await r.form?.({ otherSession, queueId, enrolment: () => enrolment(b, c.now()) })) });
          if (got !== want) wrong.push(`${v} ${r.method} ${path}: ${String(got)}, not ${String(want)}`);
          if (r.method === 'GET') {
            // No HEAD twins (a HEAD ran the GET handler, and audited a download never sent), but /healthz's own.
            const h = await head(tab(browsers[v]), path);
            const status = path === '/healthz' ? (typeof want === 'number' ? want : 303) : 404;
            if (h !== status) wrong.push(`${v} HEAD ${path}: ${h}, not ${status}`);
          }
          // A verification started runs in the background: its result is recorded before the next request is judged.
          await verificationsDone(c);
          if (before) {
            const after = await snapshot();
            if (JSON.stringify(after) !== JSON.stringify(before)) unchanged.push(`${v} ${r.method} ${path} changed something: ${diff(before, after)}`);
          }
        }
      }
      expect(wrong).toEqual([]);
      expect(unchanged).toEqual([]);

      // What the allowed requests did, they really did.
      expect((await c.store.getItem(items.requested))?.state).toBe('released');
      expect((await c.store.getItem(items.rejected))?.state).toBe('rejected');
      expect(await c.store.getUnlockState(items.locked, 'tanaka')).toBeNull();
      expect((await c.records('unlock-succeeded')).map((x) => x.object)).toEqual([items.ppap]);
      expect((await c.records('user-changed')).some((x) => x.object === 'yamada')).toBe(true);
      expect((await c.records('release-requested')).map((x) => x.actor)).toEqual(['console:tanaka']);
      expect((await c.records('audit-verify-started')).map((x) => x.actor)).toEqual(['console:kansa']);
    }, 240_000);
  });
}

async function verificationsDone(c: Console): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await c.records('audit-verify-started')).length === (await c.records('audit-verified')).length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('a verification started from the console did not finish within 10 s');
}

async function send(b: Browser, r: Row, path: string, form?: Record<string, string>): Promise<Want> {
  const res = r.method === 'GET' ? await b.get(path) : await b.post(path, form ?? {});
  return shownAs(res.status, res.location);
}

/** The TOTP enrolment the account page offers this visitor, with the right code; null when it offers none. */
async function enrolment(b: Browser, now: Date): Promise<{ ticket: string; code: string } | null> {
  const page = await tab(b).get('/account/enrol');
  if (page.status !== 200) return null;
  const ticket = /name="ticket" value="([^"]+)"/.exec(page.body)![1]!;
  return { ticket, code: await totpCodeAt(secretOn(page), now) };
}

function diff(before: unknown, after: unknown): string {
  const a = before as Record<string, unknown>;
  const z = after as Record<string, unknown>;
  return Object.keys(a)
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(z[k]))
    .map((k) => `${k}: ${JSON.stringify(a[k]).slice(0, 300)} → ${JSON.stringify(z[k]).slice(0, 300)}`)
    .join('; ');
}
