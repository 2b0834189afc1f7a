// The staff list read from the gateway's quarantine index (subject-index.ts)
// once it is loaded, over real HTTP on both store adapters: exactly the items
// the store's own query gives (the user's address and aliases, matched whole
// and without case, never by a part), found by subject and sender, followed
// as new mail and requests arrive; and, once the index is loaded, a search
// over all of a user's items rather than their newest 1000.
import { afterEach, describe, expect, it } from 'vitest';
import type { QuarantineMeta } from '../../src/core/ports.js';
import { SEARCH_WINDOW } from '../../src/web/console/staff-items.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import type { Browser } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

const TANAKA = 'tanaka@city.example.lg.jp';
const DESK = 'somu-desk@city.example.lg.jp';

let cons: Console | undefined;
afterEach(async () => {
  await cons?.close();
  cons = undefined;
});

const listed = (body: string): string[] => [...body.matchAll(/href="\/items\/(Q-[^"]+)"/g)].map((m) => m[1]!);
const found = (body: string): string => /<p>(\d+)件/.exec(body)?.[1] ?? 'none';

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`staff list from the quarantine index on ${backend.kind}`, () => {
    it('lists the same items as the store, by whole address and alias only, and follows new mail', async () => {
      cons = await startConsole(backend);
      const c = cons;
      await c.users.add({ name: 'tanaka', role: 'staff', email: TANAKA, aliases: [DESK], password: PASSWORD }, 'cli:root');
      let n = 0;
      const put = (to: string[], subject: string, from = 'partner@example.com'): Promise<string> => {
        n++;
        const meta: QuarantineMeta = { receivedAt: new Date(c.clock.t + n * 60_000), envelopeFrom: from, envelopeTo: to, from: `取引先 <${from}>`, to, subject, findings: [] };
        return c.vault.put(Buffer.from(`mail ${n}`), meta);
      };
      const mine = [
        await put([TANAKA], '請求書 4月'),
        await put(['Tanaka@City.Example.LG.JP'], '請求書 5月'),
        await put([DESK], '会議の資料', 'kaigi@example.org'),
        await put(['secret-boss@city.example.lg.jp', TANAKA], '人事の件'),
      ];
      // A part of the address is not the address.
      await put(['xtanaka@city.example.lg.jp'], '請求書 他人');
      await put(['tanaka@city.example.lg.jp.evil.example'], '請求書 偽物');
      await put(['sato@city.example.lg.jp'], '請求書 佐藤');

      const br = c.browser();
      await br.login('tanaka', PASSWORD);
      const searches = ['/', '/?subject=請求書', '/?sender=KAIGI@', '/?subject=人事'];
      const read = async (b: Browser): Promise<string[][]> => Promise.all(searches.map(async (u) => listed((await b.get(encodeURI(u))).body)));
      expect(c.subjects.ready).toBe(false);
      const fromStore = await read(br);
      expect(fromStore[0]).toEqual([...mine].reverse());
      await c.subjects.load();
      expect(c.subjects.ready).toBe(true);
      const fromIndex = await read(br);
      expect(fromIndex).toEqual(fromStore);
      expect(fromIndex).toEqual([[...mine].reverse(), [mine[1], mine[0]], [mine[2]], [mine[3]]]);
      // The other recipient of a shared mail is not named in the list.
      expect((await br.get('/')).body).not.toContain('secret-boss');

      // New mail after the load, and a request: the list follows the audit log.
      const later = await put([DESK], '請求書 6月');
      await c.workflow.request(mine[0]!, 'console:tanaka', '必要です');
      const now = await br.get('/');
      expect(listed(now.body)[0]).toBe(later);
      expect(found(now.body)).toBe('5');
      expect((await br.get(encodeURI('/?subject=請求書'))).body).toContain('解放申請中');
    });
  });
}

describe("staff list from the quarantine index, past the store's window (SQLite)", () => {
  it(`searches all of a user's items, not only the newest ${SEARCH_WINDOW}`, { timeout: 120_000 }, async () => {
    cons = await startConsole(sqliteBackend);
    const c = cons;
    await c.users.add({ name: 'tanaka', role: 'staff', email: TANAKA, password: PASSWORD }, 'cli:root');
    const meta = (k: number, subject: string): QuarantineMeta => ({
      receivedAt: new Date(c.clock.t + k * 60_000),
      envelopeFrom: 'news@example.com',
      envelopeTo: [TANAKA],
      from: 'news@example.com',
      to: [TANAKA],
      subject,
      findings: [],
    });
    const oldest = await c.vault.put(Buffer.from('old'), meta(0, '昔の見積書'));
    for (let k = 1; k <= SEARCH_WINDOW; k++) await c.vault.put(Buffer.from(`mail ${k}`), meta(k, `お知らせ ${k}`));
    const br = c.browser();
    await br.login('tanaka', PASSWORD);
    const url = encodeURI('/?subject=見積書');
    // The store's window: the newest 1000 only, and the page says so.
    const bounded = await br.get(url);
    expect(listed(bounded.body)).toEqual([]);
    expect(bounded.body).toContain(`新しいものから${SEARCH_WINDOW}件`);
    await c.subjects.load();
    const all = await br.get(url);
    expect(listed(all.body)).toEqual([oldest]);
    expect(all.body).not.toContain(`新しいものから${SEARCH_WINDOW}件`);
    // The last page of the whole list.
    const last = await br.get(`/?page=${Math.ceil((SEARCH_WINDOW + 1) / 50)}`);
    expect(listed(last.body)).toEqual([oldest]);
  });
});
