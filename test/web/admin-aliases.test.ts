// A staff member's aliases edited on the administrator's users page, over real
// HTTP on both store adapters: saved through the user directory (checked,
// lower-cased, audited with the old and new lists and the administrator as
// actor, the staff member's sessions ended), effective at once on the staff
// list, refused with the directory's words when an address is bad (nothing
// changed), cleared by an empty field, and refused to staff and auditors.
import { afterEach, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../src/users/totp.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { Browser, secretOn } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

const TANAKA = 'tanaka@city.example.lg.jp';
const SOUMU = 'soumu@city.example.lg.jp';
const KAIKEI = 'kaikei@city.example.lg.jp';

let cons: Console | undefined;
afterEach(async () => {
  await cons?.close();
  cons = undefined;
});

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`aliases on the admin users page on ${backend.kind}`, () => {
    /** Logs in, enrolling the second factor when the role needs it. */
    const login = async (c: Console, name: string): Promise<Browser> => {
      const b = c.browser();
      const first = await b.follow(await b.login(name, PASSWORD));
      if (first.body.includes('二要素認証の設定')) await b.submit(first, '/login/enrol', { code: await totpCodeAt(secretOn(first), c.now()) });
      expect((await b.get('/')).status).toBe(200);
      return b;
    };
    const listed = (body: string): string[] => [...body.matchAll(/href="\/items\/(Q-[^"]+)"/g)].map((m) => m[1]!);

    it("records, changes and clears a staff member's aliases, audited, and the staff list follows", async () => {
      cons = await startConsole(backend);
      const c = cons;
      await c.users.add({ name: 'tanaka', displayName: '田中', role: 'staff', email: TANAKA, password: PASSWORD }, 'cli:root');
      await c.users.add({ name: 'sato', role: 'admin', password: PASSWORD }, 'cli:root');
      const toSoumu = await c.vault.put(Buffer.from('soumu mail'), {
        receivedAt: c.now(),
        envelopeFrom: 'partner@example.com',
        envelopeTo: [SOUMU],
        from: 'partner@example.com',
        to: [SOUMU],
        subject: '総務課あて',
        findings: [],
      });
      const tanaka = await login(c, 'tanaka');
      expect(listed((await tanaka.get('/')).body)).toEqual([]);

      const admin = await login(c, 'sato');
      const page = await admin.get('/admin/users');
      expect(page.body).toContain('別名を変更');
      const change = (fields: Record<string, string>) => admin.submit(page, '/admin/users/tanaka', { op: 'aliases', ...fields });

      // Two addresses, as an administrator types them: mixed case, a comma, a new line.
      const saved = await change({ aliases: `Soumu@City.Example.LG.JP,\r\n ${KAIKEI}` });
      expect(saved.status).toBe(200);
      expect(saved.body).toContain('変更しました。');
      expect((await c.users.get('tanaka')).aliases).toEqual([SOUMU, KAIKEI]);
      // Shown beside the mail address, and in the form to change them.
      expect(saved.body).toContain(`${TANAKA}<br>${SOUMU}<br>${KAIKEI}`);
      expect(saved.body).toContain(`value="${SOUMU}, ${KAIKEI}"`);
      const log = await c.records('user-changed');
      expect(log.at(-1)).toMatchObject({ actor: 'console:sato', object: 'tanaka', details: { change: 'aliases', fromAliases: [], aliases: [SOUMU, KAIKEI], role: 'staff' } });

      // Their sessions ended; signed in again, the 総務 mail is theirs.
      expect((await tanaka.get('/')).location).toBe('/login');
      const again = await login(c, 'tanaka');
      expect(listed((await again.get('/')).body)).toEqual([toSoumu]);
      expect((await again.get(`/items/${toSoumu}`)).status).toBe(200);

      // A bad address: the directory's words, nothing changed, nothing audited.
      const bad = await change({ aliases: `${SOUMU}, not-an-address` });
      expect(bad.status).toBe(400);
      expect(bad.body).toContain('形式が正しくありません');
      expect((await c.users.get('tanaka')).aliases).toEqual([SOUMU, KAIKEI]);
      const tooMany = await change({ aliases: Array.from({ length: 21 }, (_, n) => `a${n}@city.example.lg.jp`).join(',') });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body).toContain('20 件まで');
      expect((await c.records('user-changed')).length).toBe(log.length);

      // An empty field removes them all; the 総務 mail is no longer theirs.
      expect((await change({ aliases: '' })).status).toBe(200);
      expect((await c.users.get('tanaka')).aliases).toEqual([]);
      expect((await c.records('user-changed')).at(-1)).toMatchObject({ actor: 'console:sato', details: { change: 'aliases', fromAliases: [SOUMU, KAIKEI], aliases: [] } });
      const third = await login(c, 'tanaka');
      expect((await third.get(`/items/${toSoumu}`)).status).toBe(404);
    });

    it('takes aliases when an administrator adds a user, and refuses the change to staff and auditors', async () => {
      cons = await startConsole(backend);
      const c = cons;
      await c.users.add({ name: 'tanaka', role: 'staff', email: TANAKA, password: PASSWORD }, 'cli:root');
      await c.users.add({ name: 'sato', role: 'admin', password: PASSWORD }, 'cli:root');
      await c.users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');
      const admin = await login(c, 'sato');
      const added = await admin.submit(await admin.get('/admin/users'), '/admin/users', {
        name: 'yamada',
        role: 'staff',
        email: 'yamada@city.example.lg.jp',
        aliases: `${SOUMU} yamada@city.example.lg.jp`,
        password: 'a long enough password',
      });
      expect(added.status).toBe(200);
      // The main address is not repeated as an alias.
      expect((await c.users.get('yamada')).aliases).toEqual([SOUMU]);
      expect((await c.records('user-changed')).at(-1)).toMatchObject({ actor: 'console:sato', object: 'yamada', details: { change: 'created', aliases: [SOUMU] } });

      const before = (await c.records('user-changed')).length;
      for (const name of ['tanaka', 'kansa']) {
        const b = await login(c, name);
        const csrf = /name="_csrf" value="([^"]+)"/.exec((await b.get('/account')).body)?.[1]?.replace(/&amp;/g, '&') ?? '';
        const r = await b.post('/admin/users/tanaka', { _csrf: csrf, op: 'aliases', aliases: KAIKEI });
        expect(r.status).toBe(403);
      }
      expect((await c.users.get('tanaka')).aliases).toEqual([]);
      expect((await c.records('user-changed')).length).toBe(before);
    });
  });
}
