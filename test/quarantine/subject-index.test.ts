// The in-memory search index of the quarantine, on both store adapters: it
// reads the sealed subjects once, then follows the audit log (new items,
// requests, rejections, releases, purges); and on SQLite, a search over
// 100,000 items well under 300 ms. Its lists merged, against a look at each.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { QuarantineMeta } from '../../src/core/ports.js';
import { newDataKey, wrapDataKey } from '../../src/keys/data-key.js';
import { newQuarantineId } from '../../src/quarantine/ids.js';
import { sealMeta } from '../../src/quarantine/sealed-item.js';
import { mergedPostings } from '../../src/quarantine/item-lists.js';
import { createSubjectIndex, type IndexedItem } from '../../src/quarantine/subject-index.js';
import { createWorkflow } from '../../src/quarantine/workflow.js';
import { ITEM_COLUMNS, itemValues } from '../../src/store/rows.js';
import type { ItemRow } from '../../src/store/types.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { vaultFixture, type VaultFixture } from './fixture.js';

const meta = (subject: string, at: Date, extra: Partial<QuarantineMeta> = {}): QuarantineMeta => ({
  receivedAt: at,
  envelopeFrom: 'sender@example.jp',
  envelopeTo: ['tanaka@city.example.lg.jp'],
  from: '広報 <kouhou@example.jp>',
  to: ['tanaka@city.example.lg.jp'],
  subject,
  findings: [{ code: 'html-converted' }],
  ...extra,
});

const SHARED = 'soumu@city.example.lg.jp';

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`subject index on ${backend.kind}`, () => {
    let f: VaultFixture;
    afterEach(async () => f?.close());

    it('finds items by the sealed subject, follows new items and every state change, pages newest first', async () => {
      f = await vaultFixture(backend);
      const t0 = Date.parse('2026-11-20T00:00:00Z');
      const same = new Date(t0 + 3_600_000);
      const a = await f.vault.put(Buffer.from('a'), meta('ＡＢＣ 請求書のご案内', new Date(t0)));
      // Several items at the very same time: none is lost or counted twice.
      const ties = [];
      for (let i = 0; i < 5; i++) ties.push(await f.vault.put(Buffer.from(`t${i}`), meta(`同時刻 ${i}`, same, { envelopeFrom: `tie${i}@example.com` })));
      const index = createSubjectIndex(f.vault, f.store);
      await index.load();
      expect(index.size).toBe(6);
      // Full-width and case folded.
      expect((await index.search({ subject: 'abc' })).rows.map((r) => r.id)).toEqual([a]);
      expect((await index.search({ subject: '請求書' })).rows[0]!.subject).toBe('ＡＢＣ 請求書のご案内');
      expect((await index.search({ sender: 'KOUHOU@' })).total).toBe(6);
      expect((await index.search({ sender: 'tie3@' })).rows.map((r) => r.id)).toEqual([ties[3]]);
      const page = await index.search({ offset: 2, limit: 2 });
      expect(page.total).toBe(6);
      expect(page.rows).toHaveLength(2);
      expect((await index.search({ until: same })).rows.map((r) => r.id)).toEqual([a]);

      // A new item, quarantined after the load (another process's, through the audit log).
      const b = await f.vault.put(Buffer.from('b'), meta('新しい お知らせ', new Date(t0 + 7_200_000), { findings: [{ code: 'link-text-mismatch' }] }));
      const wf = createWorkflow(f.vault);
      await wf.request(b, 'console:tanaka', '必要');
      expect((await index.search({ subject: 'お知らせ', state: 'release-requested' })).rows.map((r) => r.id)).toEqual([b]);
      expect((await index.search({ finding: 'link-text-mismatch' })).rows.map((r) => r.id)).toEqual([b]);
      expect((await index.search({})).rows[0]!.id).toBe(b);
      await wf.reject(b, 'console:sato', 'no');
      expect((await index.search({ state: 'rejected' })).rows.map((r) => r.id)).toEqual([b]);
      await wf.purge(0, 'test');
      expect((await index.search({ state: 'expired' })).total).toBe(7);
    });
  });
}

describe('subject index with many items (SQLite)', () => {
  let f: VaultFixture;
  afterEach(async () => f?.close());

  it('loads every item and answers each kind of search over thousands of them (the time per search: bench/console.ts)', { timeout: 300_000 }, async () => {
    f = await vaultFixture(sqliteBackend);
    const master = f.vault.ring.wrapping();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const N = 5_000;
    // The rows are written in one transaction on the side (thousands of commits would take minutes).
    const db = new Database(path.join(f.dataDir, 'mugaika.db'));
    const insert = db.prepare(
      `INSERT INTO quarantine_items (${ITEM_COLUMNS}) VALUES (${ITEM_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    );
    const rows: ItemRow[] = [];
    const words = ['請求書', '会議のご案内', 'お知らせ', '見積書', 'Newsletter', '採用', '議事録', '入札'];
    for (let i = 0; i < N; i++) {
      const at = new Date(t0 + i * 60_000);
      const id = newQuarantineId(at);
      const key = newDataKey();
      // One in seven also went to a shared mailbox (a clerk's alias).
      const to = [`staff${i % 300}@city.example.lg.jp`, ...(i % 7 === 0 ? [SHARED] : [])];
      const m = meta(`${words[i % words.length]} 第${i}号`, at, { envelopeFrom: `s${i % 997}@example${i % 13}.jp`, envelopeTo: to });
      const row: ItemRow = {
        id,
        gateway: 'gw',
        receivedAt: at.toISOString(),
        envelopeFrom: m.envelopeFrom,
        recipients: [...m.envelopeTo],
        size: 1000,
        findings: i % 10 === 0 ? ['attachment-removed'] : ['html-converted'],
        state: i % 50 === 0 ? 'release-requested' : 'held',
        stateChangedAt: at.toISOString(),
        stateChangedBy: 'gw',
        keyId: master.id,
        wrappedKey: wrapDataKey(master, id, key),
        sealedMeta: sealMeta(key, id, m),
      };
      rows.push(row);
    }
    db.transaction(() => {
      for (const row of rows) insert.run(...itemValues(row));
    })();
    db.close();
    const index = createSubjectIndex(f.vault, f.store);
    const loadStart = performance.now();
    await index.load();
    const loadMs = performance.now() - loadStart;
    expect(index.size).toBe(N);
    const cases = [
      { subject: '第4999号' },
      { subject: '議事録', offset: 500 },
      { sender: 's5@example5.jp', state: 'held' as const },
      { recipient: 'staff10@', finding: 'attachment-removed' },
      { since: new Date(t0 + 2_500 * 60_000), until: new Date(t0 + 3_000 * 60_000), subject: 'お知らせ' },
      { subject: 'no such subject anywhere' },
    ];
    const times: number[] = [];
    for (const q of cases) {
      const s = performance.now();
      const r = await index.search(q);
      times.push(performance.now() - s);
      expect(r.total).toBeGreaterThanOrEqual(q.subject === 'no such subject anywhere' ? 0 : 1);
    }
    console.log(`subject index: load of ${N} items ${Math.round(loadMs)} ms; searches ${times.map((t) => t.toFixed(1)).join(', ')} ms`);

    // A clerk's list (their address and the shared alias) and a search by finding walk their own
    // items only: the same rows, in the same order, as a look at every row finds.
    const newest = (keep: (r: ItemRow) => boolean): string[] =>
      rows
        .filter(keep)
        .sort((a, b) => (a.receivedAt === b.receivedAt ? (a.id < b.id ? 1 : -1) : a.receivedAt < b.receivedAt ? 1 : -1))
        .map((r) => r.id);
    const own = ['STAFF7@city.example.lg.jp', SHARED].map((a) => a.toLowerCase());
    const mine = newest((r) => r.recipients.some((a) => own.includes(a)));
    const page = async (q: Parameters<typeof index.search>[0]): Promise<{ total: number; ids: string[] }> => {
      const r = await index.search(q);
      return { total: r.total, ids: r.rows.map((x) => x.id) };
    };
    expect(await page({ recipientAny: own, limit: 50 })).toEqual({ total: mine.length, ids: mine.slice(0, 50) });
    expect(await page({ recipientAny: own, offset: 700, limit: 50 })).toEqual({ total: mine.length, ids: mine.slice(700, 750) });
    expect(await page({ recipientAny: own, finding: 'attachment-removed', limit: 500 })).toEqual({
      total: newest((r) => r.recipients.some((a) => own.includes(a)) && r.findings.includes('attachment-removed')).length,
      ids: newest((r) => r.recipients.some((a) => own.includes(a)) && r.findings.includes('attachment-removed')).slice(0, 500),
    });
    const removed = newest((r) => r.findings.includes('attachment-removed'));
    expect(await page({ finding: 'attachment-removed', state: 'held', limit: 30 })).toEqual({
      total: newest((r) => r.findings.includes('attachment-removed') && r.state === 'held').length,
      ids: newest((r) => r.findings.includes('attachment-removed') && r.state === 'held').slice(0, 30),
    });
    expect((await page({ finding: 'attachment-removed', limit: 10 })).total).toBe(removed.length);
    expect((await page({ recipientAny: ['nobody@city.example.lg.jp'] })).total).toBe(0);
    // An item that arrives out of time order (another gateway's clock) takes its place in those lists too.
    const late = await f.vault.put(Buffer.from('late'), meta('遅れて届いた', new Date(t0 - 60_000), { envelopeTo: [SHARED], findings: [{ code: 'attachment-removed' }] }));
    const all = await page({ recipientAny: own, limit: 500, offset: mine.length - 1 });
    expect(all).toEqual({ total: mine.length + 1, ids: [mine.at(-1)!, late] });
    expect((await page({ finding: 'attachment-removed', offset: removed.length, limit: 5 })).ids).toEqual([late]);
  });
});

describe('subject index lists (SQLite)', () => {
  let f: VaultFixture;
  afterEach(async () => f?.close());

  it(
    'answers every kind of search exactly as a look at every item does, through its lists of addresses, senders, findings, states and subject pairs, also after state changes',
    { timeout: 120_000 },
    async () => {
      f = await vaultFixture(sqliteBackend);
      const master = f.vault.ring.wrapping();
      const t0 = Date.parse('2026-03-01T00:00:00Z');
      const N = 1_200;
      const db = new Database(path.join(f.dataDir, 'mugaika.db'));
      const insert = db.prepare(
        `INSERT INTO quarantine_items (${ITEM_COLUMNS}) VALUES (${ITEM_COLUMNS.split(',')
          .map(() => '?')
          .join(', ')})`,
      );
      // Subjects with full-width letters, a surrogate pair, case, repeated pairs; times with ties (every third shares its time).
      const subjects = ['【予算】会議資料', 'ＡＢＣ請求書', 'abc 見積書', '予算予算の確認', 'お知らせ😀です', '会議', 'Re: 議事録', 'x'];
      const states = ['held', 'release-requested', 'rejected'] as const;
      const findings = ['html-converted', 'attachment-removed', 'document-macro'];
      const items: { id: string; receivedAt: string; subject: string; recipients: string[]; findings: string[]; state: string; from: string }[] = [];
      for (let i = 0; i < N; i++) {
        const at = new Date(t0 + Math.floor(i / 3) * 60_000);
        const id = newQuarantineId(at);
        const key = newDataKey();
        const to = [`staff${i % 17}@city.example.lg.jp`, ...(i % 5 === 0 ? [SHARED] : [])];
        const subject = `${subjects[i % subjects.length]}${i % 11 === 0 ? ' 第' + i + '号' : ''}`;
        const from = `s${i % 23}@example.jp`;
        const m = meta(subject, at, { envelopeFrom: from, envelopeTo: to });
        const row: ItemRow = {
          id,
          gateway: 'gw',
          receivedAt: at.toISOString(),
          envelopeFrom: from,
          recipients: to,
          size: 100,
          findings: i % 4 === 0 ? [findings[1]!, findings[0]!] : [findings[(i % 3) as 0 | 1 | 2]!],
          state: states[i % 7 === 0 ? 1 : i % 13 === 0 ? 2 : 0]!,
          stateChangedAt: at.toISOString(),
          stateChangedBy: 'gw',
          keyId: master.id,
          wrappedKey: wrapDataKey(master, id, key),
          sealedMeta: sealMeta(key, id, m),
        };
        insert.run(...itemValues(row));
        items.push({ id, receivedAt: row.receivedAt, subject, recipients: to, findings: [...row.findings], state: row.state, from });
      }
      db.close();
      const index = createSubjectIndex(f.vault, f.store);
      await index.load();
      const fold = (s: string): string => s.normalize('NFKC').toLowerCase();
      type Q = Parameters<typeof index.search>[0];
      // The oracle: every item looked at, newest first.
      const expected = (q: Q): { total: number; ids: string[] } => {
        const own = q.recipientAny?.map((a) => a.toLowerCase());
        const all = items
          .filter(
            (x) =>
              (!q.since || x.receivedAt >= q.since.toISOString()) &&
              (!q.until || x.receivedAt < q.until.toISOString()) &&
              (!q.subject || fold(x.subject).includes(fold(q.subject))) &&
              (!q.sender || `${fold(x.from)}\n${fold('広報 <kouhou@example.jp>')}`.includes(fold(q.sender))) &&
              (!own || x.recipients.some((r) => own.includes(r.toLowerCase()))) &&
              (!q.recipient || x.recipients.map(fold).join('\n').includes(fold(q.recipient))) &&
              (!q.finding || x.findings.includes(q.finding)) &&
              (!q.state || x.state === q.state),
          )
          .sort((a, b) => (a.receivedAt === b.receivedAt ? (a.id < b.id ? 1 : -1) : a.receivedAt < b.receivedAt ? 1 : -1))
          .map((x) => x.id);
        const offset = q.offset ?? 0;
        return { total: all.length, ids: all.slice(offset, offset + (q.limit ?? 50)) };
      };
      const got = async (q: Q): Promise<{ total: number; ids: string[] }> => {
        const r = await index.search(q);
        return { total: r.total, ids: r.rows.map((x) => x.id) };
      };
      const mid = new Date(t0 + 100 * 60_000);
      const late = new Date(t0 + 300 * 60_000);
      const queries: Q[] = [];
      for (const subject of [undefined, '予算', '予算予', 'abc', 'ＡＢ', '😀', 'お知らせ😀', '議', 'x', '第11号', 'no such']) {
        for (const state of [undefined, ...states]) {
          for (const extra of [
            {},
            { finding: 'attachment-removed' },
            { recipientAny: [`STAFF3@city.example.lg.jp`, SHARED] },
            { since: mid, until: late },
            { since: late },
            { until: mid, offset: 20 },
            { sender: 'S5@' },
            // Part of a sender: eleven senders' lists merged (s1, s10-s19), full-width, the From all items share, none, and across the envelope sender and the From.
            { sender: 's1' },
            { sender: 'ｓ２' },
            { sender: '広報' },
            { sender: 'nobody' },
            { sender: 'example.jp\n広報' },
            { sender: 's1', recipient: 'staff1', since: mid },
            // Part of a recipient's address: one address, several (staff1, staff10-16), full-width and upper case, none, and across two recipients.
            { recipient: 'staff3@' },
            { recipient: 'STAFF1' },
            { recipient: 'ｓｔａｆｆ１６' },
            { recipient: 'nobody' },
            { recipient: `lg.jp\n${SHARED.slice(0, 4)}` },
            { recipient: 'staff2', finding: 'attachment-removed', since: mid },
          ]) {
            queries.push({ subject, state, ...extra, limit: 40 });
          }
        }
      }
      const check = async (): Promise<void> => {
        for (const q of queries) expect({ q, r: await got(q) }).toEqual({ q, r: expected(q) });
      };
      await check();
      // Items move from state to state (and back to none of the lists they were in): the state lists follow.
      const wf = createWorkflow(f.vault);
      for (const x of items.filter((_, i) => i % 9 === 1)) {
        if (x.state === 'held') {
          await wf.request(x.id, 'console:tanaka', '必要');
          x.state = 'release-requested';
        } else if (x.state === 'release-requested') {
          await wf.reject(x.id, 'console:sato', 'no');
          x.state = 'rejected';
        }
      }
      await check();
      // An item out of time order, then a move: the lists are rebuilt in order and the move still lands.
      const older = await f.vault.put(
        Buffer.from('old'),
        meta('予算 遅れて', new Date(t0 - 60_000), { envelopeFrom: 's5@example.jp', envelopeTo: [SHARED], findings: [{ code: 'attachment-removed' }] }),
      );
      items.push({ id: older, receivedAt: new Date(t0 - 60_000).toISOString(), subject: '予算 遅れて', recipients: [SHARED], findings: ['attachment-removed'], state: 'held', from: 's5@example.jp' });
      await wf.request(older, 'console:tanaka', '必要');
      items.at(-1)!.state = 'release-requested';
      await check();
      // A purge of every item at once (the state lists rebuilt in one walk).
      await wf.purge(0, 'test');
      for (const x of items) x.state = 'expired';
      await check();
      for (const q of [{ state: 'expired' as const, limit: 40 }, { state: 'expired' as const, subject: '予算', offset: 30 }, { state: 'held' as const }]) expect(await got(q)).toEqual(expected(q));
    },
  );
});

describe('merged item lists', () => {
  it('merge any number of lists in time order, each item once however many lists hold it', () => {
    // Items with ties in time (ordered by id then), each list a random sorted subset, many sharing items.
    const all: IndexedItem[] = Array.from({ length: 400 }, (_, i) => ({
      id: `Q-${String(i).padStart(4, '0')}`,
      receivedAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 4) * 1000).toISOString(),
      envelopeFrom: null,
      recipients: [],
      findings: [],
      state: 'held',
      subject: null,
      from: null,
      readable: true,
      haystack: { subject: '', sender: '', recipients: '' },
      addressees: [],
    }));
    let seed = 5;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    for (const k of [0, 1, 2, 3, 7, 40, 300]) {
      const lists = Array.from({ length: k }, () => all.filter(() => next() % 5 === 0));
      if (k === 3) lists.push([]);
      const expected = all.filter((x) => lists.some((l) => l.includes(x)));
      expect(mergedPostings(lists).map((x) => x.id)).toEqual(expected.map((x) => x.id));
    }
    expect(mergedPostings([all, all, all])).toEqual(all);
  });
});
