// The in-memory search index of the quarantine, on both store adapters: it
// reads the sealed subjects once, then follows the audit log (new items,
// requests, rejections, releases, purges); and on SQLite, a search over
// 100,000 items well under 300 ms.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { QuarantineMeta } from '../../src/core/ports.js';
import { newDataKey, wrapDataKey } from '../../src/keys/data-key.js';
import { newQuarantineId } from '../../src/quarantine/ids.js';
import { sealMeta } from '../../src/quarantine/sealed-item.js';
import { createSubjectIndex } from '../../src/quarantine/subject-index.js';
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
