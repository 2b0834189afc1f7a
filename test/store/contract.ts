// The Store contract: one suite, run against every adapter
// (sqlite.test.ts, postgres.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PG_SCHEMA_VERSION } from '../../src/store/postgres-schema.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { canonicalText, sealRecords } from '../../src/audit/chain.js';
import { GENESIS_HASH } from '../../src/store/chain-order.js';
import { CredentialConflictError, StateConflictError, type AuditEffects, type AuditEntry, type AuditRecord, type IndexedAuditRow, type ItemRow, type Store } from '../../src/store/types.js';
import type { ItemState } from '../../src/model/item-states.js';
import type { SessionRow, UserRow } from '../../src/model/users.js';
import type { Backend, Opened } from './backends.js';

const T0 = Date.parse('2026-04-01T00:00:00.000Z');
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({ actor: 'relay', action: 'received', object: 'Q1', details: {}, ...over });

async function append(store: Store, entries: AuditEntry[]): Promise<AuditRecord[]> {
  return store.appendAudit((head) => sealRecords(head, entries, new Date(T0)));
}

export const item = (id: string, over: Partial<ItemRow> = {}): ItemRow => ({
  id,
  gateway: 'gw1',
  receivedAt: '2026-04-01T00:00:00.000Z',
  envelopeFrom: 'sender@example.jp',
  recipients: ['staff@city.example.lg.jp'],
  size: 1234,
  findings: ['attachment-removed'],
  state: 'held',
  stateChangedAt: '2026-04-01T00:00:00.000Z',
  stateChangedBy: 'relay',
  keyId: 'k1',
  wrappedKey: Buffer.from([1, 2, 3, 0, 255]),
  sealedMeta: Buffer.from('sealed-meta-bytes'),
  ...over,
});

export const user = (name: string, over: Partial<UserRow> = {}): UserRow => ({
  name,
  displayName: '田中 一郎',
  role: 'staff',
  email: `${name}@city.example.lg.jp`,
  aliases: [],
  passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g',
  disabled: false,
  failedLogins: 0,
  lockedUntil: null,
  createdAt: '2026-04-01T00:00:00.000Z',
  updatedAt: '2026-04-01T00:00:00.000Z',
  source: 'local',
  totp: null,
  ...over,
});

export const session = (id: string, userName: string, over: Partial<SessionRow> = {}): SessionRow => ({
  id,
  user: userName,
  createdAt: '2026-04-01T00:00:00.000Z',
  expiresAt: '2026-04-01T08:00:00.000Z',
  lastSeenAt: '2026-04-01T00:00:00.000Z',
  stage: 'full',
  client: '192.0.2.7',
  userAgent: 'test',
  ...over,
});

export function storeContract(backend: Backend): void {
  describe(`Store contract: ${backend.kind}`, () => {
    let o: Opened;
    let store: Store;
    beforeEach(async () => {
      o = await backend.fresh();
      store = o.store;
    });
    afterEach(async () => {
      await o.close();
    });

    it('reports its kind and starts with the genesis head', async () => {
      expect(store.kind).toBe(backend.kind);
      expect(await store.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
      expect(await store.readAudit(0, 10)).toEqual([]);
    });

    it('appends records, returns them as stored and moves the head', async () => {
      const written = await append(store, [entry(), entry({ action: 'verdict', details: { verdict: 'sanitized', 日本語: '髙橋①' } })]);
      expect(written.map((r) => r.seq)).toEqual([1, 2]);
      expect(written[0]?.prevHash).toBe(GENESIS_HASH);
      expect(await store.head()).toEqual({ seq: 2, hash: written[1]?.hash });
      expect(await store.readAudit(0, 10)).toEqual(written);
      expect(await store.readAudit(1, 10)).toEqual([written[1]]);
      expect(await store.readAudit(0, 1)).toEqual([written[0]]);
      const more = await append(store, [entry({ action: 'delivered' })]);
      expect(more[0]?.seq).toBe(3);
      expect(more[0]?.prevHash).toBe(written[1]?.hash);
    });

    it('stores time and details as the exact text that was hashed', async () => {
      const details = { from: 'A@Example.JP', to: ['b@x.jp'], note: 'a\u0000b "q" \\ 😀 ①', n: 1.5e300 };
      const [r] = await append(store, [entry({ details })]);
      const [back] = await store.readAudit(0, 1);
      expect(back?.details).toBe(JSON.stringify(details));
      expect(back?.details).toBe(r?.details);
      expect(back?.time).toBe('2026-04-01T00:00:00.000Z');
    });

    it('refuses records that do not continue the chain, and a failing build, writing nothing', async () => {
      const [first] = await append(store, [entry()]);
      await expect(store.appendAudit(() => sealRecords({ seq: 0, hash: GENESIS_HASH }, [entry()], new Date()))).rejects.toThrow(/does not continue the chain/);
      await expect(
        store.appendAudit((head) => {
          const [a, b] = sealRecords(head, [entry(), entry()], new Date());
          return [a as AuditRecord, { ...(b as AuditRecord), prevHash: GENESIS_HASH }];
        }),
      ).rejects.toThrow(/seq 3 does not continue/);
      await expect(
        store.appendAudit(() => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.head()).toEqual({ seq: 1, hash: first?.hash });
      expect(await store.readAudit(0, 10)).toHaveLength(1);
    });

    it('keeps one chain when two store instances (two gateways) append at once', async () => {
      const other = await o.reopen();
      await Promise.all(Array.from({ length: 20 }, (_, i) => append(i % 2 ? store : other, [entry({ object: `o${i}` }), entry({ object: `p${i}` })])));
      const all = await store.readAudit(0, 100);
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (let i = 1; i < all.length; i++) expect(all[i]?.prevHash).toBe(all[i - 1]?.hash);
    });

    it('derives sender, recipients and verdict from details (lower-cased, deduplicated)', async () => {
      await append(store, [
        entry({ details: { from: 'Taro@Example.JP', to: ['b@x.jp', 'A@X.JP', 'b@x.jp'], verdict: 'quarantined' } }),
        entry({ details: { from: null, to: 'not-a-list' as unknown as string[], verdict: 3 as unknown as string } }),
      ]);
      const rows: IndexedAuditRow[] = [];
      expect(await store.scanAuditIndexed(0, 10, (r) => rows.push(r) > 0)).toBe(2);
      expect(rows.map((r) => ({ sender: r[5], recipients: (JSON.parse(r[7]) as string[]).sort(), verdict: r[6] }))).toEqual([
        { sender: 'taro@example.jp', recipients: ['a@x.jp', 'b@x.jp'], verdict: 'quarantined' },
        { sender: null, recipients: [], verdict: null },
      ]);
      const stored = (await store.readAudit(0, 10)).map((r) => [r.seq, canonicalText(r), r.details, r.prevHash, r.hash]);
      expect(rows.map((r) => r.slice(0, 5))).toEqual(stored);
      // visit returning false stops the scan after that row; limit and afterSeq bound it.
      expect(await store.scanAuditIndexed(0, 10, () => false)).toBe(1);
      const seqs: number[] = [];
      expect(await store.scanAuditIndexed(1, 1, (r) => seqs.push(r[0]) > 0)).toBe(1);
      expect(seqs).toEqual([2]);
    });

    it('renders the canonical text of any text as the log hashed it (JSON.stringify)', async () => {
      // Quotes, backslashes, every control character (PostgreSQL text holds no NUL), DEL, non-ASCII, astral, U+2028:
      // what JSON escapes and what it does not.
      const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i))
        .join('')
        .slice(backend.kind === 'postgres' ? 1 : 0);
      const text = `"q" \\ ${controls} \u007f é 監査 😀 \u2028\u2029 </script>`;
      await append(store, [entry({ actor: text, object: text, details: { from: text, note: text } }), entry({ actor: 'a', object: null })]);
      const rows: IndexedAuditRow[] = [];
      await store.scanAuditIndexed(0, 10, (r) => rows.push(r) > 0);
      expect(rows.map((r) => r[1])).toEqual((await store.readAudit(0, 10)).map(canonicalText));
    });

    it('answers first contact: recipients with nothing delivered from the sender since a time', async () => {
      await append(store, [
        // Delivered to staff 10 minutes in; boss only got the verdict (never delivered); old got mail long ago.
        entry({ time: at(-100), action: 'delivered', object: 'Q0', details: { from: 'a@ext.jp', to: ['old@city.lg.jp'] } }),
        entry({ time: at(10), action: 'verdict', object: 'Q1', details: { from: 'a@ext.jp', to: ['staff@city.lg.jp', 'boss@city.lg.jp'], verdict: 'clean' } }),
        entry({ time: at(10), action: 'delivered', object: 'Q1', details: { from: 'A@Ext.JP', to: ['Staff@City.lg.jp'] } }),
        // Another sender's mail to boss does not count for a@ext.jp.
        entry({ time: at(20), action: 'delivered', object: 'Q2', details: { from: 'b@ext.jp', to: ['boss@city.lg.jp'] } }),
      ]);
      const rcpts = ['staff@city.lg.jp', 'BOSS@city.lg.jp', 'old@city.lg.jp', 'new@city.lg.jp'];
      expect(await store.firstContacts('a@ext.jp', rcpts, at(0))).toEqual(['BOSS@city.lg.jp', 'old@city.lg.jp', 'new@city.lg.jp']);
      expect(await store.firstContacts('A@EXT.JP', rcpts, at(-200))).toEqual(['BOSS@city.lg.jp', 'new@city.lg.jp']);
      // The window starts at `since`, inclusive; nothing after it means everyone is new.
      expect(await store.firstContacts('a@ext.jp', ['staff@city.lg.jp'], at(10))).toEqual([]);
      expect(await store.firstContacts('a@ext.jp', ['staff@city.lg.jp'], at(11))).toEqual(['staff@city.lg.jp']);
      expect(await store.firstContacts('b@ext.jp', rcpts, at(0))).toEqual(['staff@city.lg.jp', 'old@city.lg.jp', 'new@city.lg.jp']);
      expect(await store.firstContacts('a@ext.jp', [], at(0))).toEqual([]);
      // Many recipients at once (more than one query's worth on SQLite).
      const many = Array.from({ length: 1200 }, (_, i) => `r${i}@city.lg.jp`);
      expect(await store.firstContacts('a@ext.jp', [...many, 'staff@city.lg.jp'], at(0))).toEqual(many);
    });

    it('searches by every filter, alone and together, in seq order', async () => {
      await append(store, [
        entry({ time: at(0), actor: 'relay', action: 'received', object: 'Q1', details: { from: 'a@ext.jp', to: ['staff@city.lg.jp'] } }),
        entry({ time: at(1), actor: 'relay', action: 'verdict', object: 'Q1', details: { from: 'a@ext.jp', to: ['staff@city.lg.jp'], verdict: 'sanitized' } }),
        entry({ time: at(2), actor: 'relay', action: 'verdict', object: 'Q2', details: { from: 'b@ext.jp', to: ['boss@city.lg.jp', 'Staff@City.LG.JP'], verdict: 'quarantined' } }),
        entry({ time: at(3), actor: 'admin', action: 'release-approved', object: 'Q2', details: {} }),
        entry({ time: at(4), actor: 'relay', action: 'delivered', object: 'Q2', details: { to: ['boss@city.lg.jp'] } }),
      ]);
      const seqs = async (f: Parameters<Store['searchAudit']>[0]): Promise<number[]> => (await store.searchAudit(f)).map((r) => r.seq);
      expect(await seqs({})).toEqual([1, 2, 3, 4, 5]);
      expect(await seqs({ since: at(1), until: at(3) })).toEqual([2, 3]);
      expect(await seqs({ since: at(3) })).toEqual([4, 5]);
      expect(await seqs({ until: at(1) })).toEqual([1]);
      expect(await seqs({ sender: 'A@EXT.jp' })).toEqual([1, 2]);
      expect(await seqs({ recipient: 'staff@city.lg.jp' })).toEqual([1, 2, 3]);
      expect(await seqs({ recipient: 'BOSS@city.lg.jp' })).toEqual([3, 5]);
      expect(await seqs({ recipient: 'nobody@city.lg.jp' })).toEqual([]);
      expect(await seqs({ verdict: 'quarantined' })).toEqual([3]);
      expect(await seqs({ actions: ['verdict', 'delivered'] })).toEqual([2, 3, 5]);
      expect(await seqs({ actions: [] })).toEqual([]);
      expect(await seqs({ actor: 'admin' })).toEqual([4]);
      expect(await seqs({ objects: ['Q2'] })).toEqual([3, 4, 5]);
      expect(await seqs({ afterSeq: 2, limit: 2 })).toEqual([3, 4]);
      // Newest first by time, then seq, and keyset paging in that order (the auditor's search).
      expect(await seqs({ order: 'newest' })).toEqual([5, 4, 3, 2, 1]);
      expect(await seqs({ order: 'newest', limit: 2 })).toEqual([5, 4]);
      expect(await seqs({ order: 'oldest', limit: 2 })).toEqual([1, 2]);
      expect(await seqs({ beforeSeq: 4, afterSeq: 1 })).toEqual([2, 3]);
      expect(await seqs({ beforeKey: { time: at(3).toISOString(), seq: 4 }, order: 'newest', limit: 2 })).toEqual([3, 2]);
      expect(await seqs({ afterKey: { time: at(1).toISOString(), seq: 2 }, order: 'oldest', limit: 2 })).toEqual([3, 4]);
      expect(await seqs({ objects: ['Q2'], beforeKey: { time: at(4).toISOString(), seq: 5 }, order: 'newest' })).toEqual([4, 3]);
      expect(await seqs({ sender: 'a@ext.jp', actions: ['verdict'], order: 'newest' })).toEqual([2]);
      expect(await seqs({ objects: ['Q2'], actor: 'relay', recipient: 'boss@city.lg.jp', since: at(3) })).toEqual([5]);
      const [r3] = await store.searchAudit({ verdict: 'quarantined' });
      expect(r3).toEqual((await store.readAudit(2, 1))[0]);
    });

    it('pages by time then seq, exactly, when times repeat or go back (a clock stepped back, another gateway)', async () => {
      const times = [at(5), at(5), at(2), at(5), at(1), at(9), at(5)];
      await append(
        store,
        times.map((time, i) => entry({ time, object: `R${i + 1}` })),
      );
      const expected = (await store.readAudit(0, 100)).sort((a, b) => (a.time === b.time ? b.seq - a.seq : a.time < b.time ? 1 : -1)).map((r) => r.seq);
      expect(expected).toEqual([6, 7, 4, 2, 1, 3, 5]);
      // Page by two, down and then back up, each page continuing from the last record's key.
      const down: number[][] = [];
      let key: { time: string; seq: number } | undefined;
      for (;;) {
        const page = await store.searchAudit({ order: 'newest', limit: 2, ...(key ? { beforeKey: key } : {}) });
        if (page.length === 0) break;
        down.push(page.map((r) => r.seq));
        key = { time: page.at(-1)!.time, seq: page.at(-1)!.seq };
      }
      expect(down.flat()).toEqual(expected);
      const up = await store.searchAudit({ order: 'oldest', afterKey: key!, limit: 3 });
      expect(up.map((r) => r.seq)).toEqual([3, 1, 2]);
      expect((await store.searchAudit({ order: 'newest', since: at(2), until: at(6) })).map((r) => r.seq)).toEqual([7, 4, 2, 1, 3]);
    });

    it("pages a recipient's records by time then seq, through their own index, with every other filter", async () => {
      const times = [at(5), at(5), at(2), at(5), at(1), at(9), at(5)];
      await append(
        store,
        times.map((time, i) =>
          entry({ time, action: i % 2 ? 'verdict' : 'delivered', object: `R${i + 1}`, details: { from: 'a@ext.jp', to: i === 5 ? ['other@city.lg.jp'] : ['Staff@City.lg.jp', 'boss@city.lg.jp'] } }),
        ),
      );
      const mine = (await store.readAudit(0, 100)).filter((r) => r.seq !== 6);
      const expected = mine.sort((a, b) => (a.time === b.time ? b.seq - a.seq : a.time < b.time ? 1 : -1)).map((r) => r.seq);
      expect(expected).toEqual([7, 4, 2, 1, 3, 5]);
      const down: number[] = [];
      let key: { time: string; seq: number } | undefined;
      for (;;) {
        const page = await store.searchAudit({ recipient: 'staff@city.lg.jp', order: 'newest', limit: 2, ...(key ? { beforeKey: key } : {}) });
        if (page.length === 0) break;
        down.push(...page.map((r) => r.seq));
        key = { time: page.at(-1)!.time, seq: page.at(-1)!.seq };
      }
      expect(down).toEqual(expected);
      const seqs = async (f: Parameters<Store['searchAudit']>[0]): Promise<number[]> => (await store.searchAudit(f)).map((r) => r.seq);
      expect(await seqs({ recipient: 'STAFF@city.lg.jp', order: 'oldest', afterKey: { time: at(2).toISOString(), seq: 3 }, limit: 3 })).toEqual([1, 2, 4]);
      expect(await seqs({ recipient: 'staff@city.lg.jp', order: 'newest', since: at(2), until: at(6) })).toEqual([7, 4, 2, 1, 3]);
      expect(await seqs({ recipient: 'staff@city.lg.jp', order: 'newest', actions: ['verdict'], sender: 'A@ext.jp' })).toEqual([4, 2]);
      expect(await seqs({ recipient: 'other@city.lg.jp', order: 'newest' })).toEqual([6]);
      expect(await seqs({ recipient: 'nobody@city.lg.jp', order: 'oldest' })).toEqual([]);
      // The same records as the search in seq order finds.
      expect((await seqs({ recipient: 'boss@city.lg.jp', order: 'newest' })).sort((a, b) => a - b)).toEqual(await seqs({ recipient: 'boss@city.lg.jp' }));
      expect((await store.searchAudit({ recipient: 'staff@city.lg.jp', order: 'newest', limit: 1 }))[0]).toEqual((await store.readAudit(6, 1))[0]);
    });

    it("counts a time range's verdicts by verdict and by finding, each finding once per record", async () => {
      await append(store, [
        entry({ time: at(0), action: 'verdict', details: { verdict: 'sanitized', findings: ['html-converted'] } }),
        entry({ time: at(1), action: 'verdict', details: { verdict: 'sanitized', findings: ['html-converted', 'link-defanged', 'html-converted'] } }),
        entry({ time: at(2), action: 'verdict', details: { verdict: 'blocked', findings: ['attachment-removed', 7, null] } }),
        entry({ time: at(3), action: 'verdict', details: { findings: 'html-converted' } }),
        entry({ time: at(4), action: 'delivered', details: { verdict: 'sanitized', findings: ['html-converted'] } }),
        entry({ time: at(9), action: 'verdict', details: { verdict: 'sanitized', findings: ['html-converted'] } }),
      ]);
      const counts = await store.countVerdicts({ since: at(0), until: at(9) });
      expect(counts.messages).toBe(4);
      expect(Object.fromEntries(counts.verdicts)).toEqual({ sanitized: 2, blocked: 1, '?': 1 });
      expect(Object.fromEntries(counts.findings)).toEqual({ 'html-converted': 2, 'link-defanged': 1, 'attachment-removed': 1 });
      const none = await store.countVerdicts({ since: at(20), until: at(30) });
      expect([none.messages, none.verdicts.size, none.findings.size]).toEqual([0, 0, 0]);
    });

    it('keeps checkpoints, in seq order, ignoring an exact repeat', async () => {
      const c = (seq: number, keyId: string) => ({ seq, hash: 'a'.repeat(64), time: at(seq).toISOString(), keyId, signature: `sig-${seq}-${keyId}` });
      await store.addCheckpoint(c(5, 'k2'));
      await store.addCheckpoint(c(2, 'k1'));
      await store.addCheckpoint(c(5, 'k1'));
      await store.addCheckpoint(c(2, 'k1'));
      expect(await store.checkpoints()).toEqual([c(2, 'k1'), c(5, 'k1'), c(5, 'k2')]);
    });

    it('inserts, gets and lists quarantine items with every filter', async () => {
      const a = item('Q-A', { receivedAt: at(0).toISOString() });
      const b = item('Q-B', { receivedAt: at(10).toISOString(), envelopeFrom: 'Other@Ext.JP', recipients: ['boss@city.lg.jp', 'x@city.lg.jp'], state: 'released' });
      const c = item('Q-C', { receivedAt: at(20).toISOString(), envelopeFrom: null, recipients: [], findings: [], size: 3_000_000_000 });
      for (const r of [c, a, b]) await store.insertItem(r);
      expect(await store.getItem('Q-B')).toEqual(b);
      expect(await store.getItem('Q-C')).toEqual(c);
      expect(await store.getItem('nope')).toBeNull();
      await expect(store.insertItem(a)).rejects.toThrow();
      const ids = async (f: Parameters<Store['listItems']>[0]): Promise<string[]> => (await store.listItems(f)).map((r) => r.id);
      expect(await ids({})).toEqual(['Q-A', 'Q-B', 'Q-C']);
      expect(await ids({ states: ['held'] })).toEqual(['Q-A', 'Q-C']);
      expect(await ids({ states: ['released', 'rejected'] })).toEqual(['Q-B']);
      expect(await ids({ states: [] })).toEqual([]);
      expect(await ids({ recipient: 'BOSS@city.lg.jp' })).toEqual(['Q-B']);
      expect(await ids({ sender: 'other@ext.jp' })).toEqual(['Q-B']);
      expect(await ids({ receivedBefore: at(10) })).toEqual(['Q-A']);
      expect(await ids({ receivedSince: at(10) })).toEqual(['Q-B', 'Q-C']);
      expect(await ids({ limit: 2 })).toEqual(['Q-A', 'Q-B']);
      expect(await ids({ states: ['held'], receivedSince: at(5), limit: 5 })).toEqual(['Q-C']);
      // A staff member's address and aliases: any of them, in any case; none matches nothing.
      expect(await ids({ recipientAny: ['X@CITY.lg.jp', 'staff@city.example.lg.jp'] })).toEqual(['Q-A', 'Q-B']);
      expect(await ids({ recipientAny: ['x@city.lg.jp'], newestFirst: true })).toEqual(['Q-B']);
      expect(await ids({ recipientAny: ['nobody@city.lg.jp'] })).toEqual([]);
      expect(await ids({ recipientAny: [] })).toEqual([]);
      expect(await ids({ recipientAny: ['staff@city.example.lg.jp', 'boss@city.lg.jp'], receivedSince: at(5) })).toEqual(['Q-B']);
    });

    it('changes state only from an allowed state (compare-and-set), once when raced', async () => {
      await store.insertItem(item('Q-1'));
      const change = (from: ItemRow['state'][], to: ItemRow['state'], by = 'admin') => ({ id: 'Q-1', from, to, at: at(5), by });
      expect(await store.changeState(change(['released'], 'rejected'))).toBe(false);
      expect((await store.getItem('Q-1'))?.state).toBe('held');
      expect(await store.changeState(change([], 'rejected'))).toBe(false);
      expect(await store.changeState({ ...change(['held'], 'rejected'), id: 'absent' })).toBe(false);
      expect(await store.changeState(change(['held'], 'release-requested', 'taro'))).toBe(true);
      expect(await store.getItem('Q-1')).toMatchObject({ state: 'release-requested', stateChangedAt: at(5).toISOString(), stateChangedBy: 'taro' });
      const other = await o.reopen();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).changeState(change(['release-requested'], i % 3 ? 'released' : 'rejected', `u${i}`))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const won = results.indexOf(true);
      expect(await store.getItem('Q-1')).toMatchObject({ state: won % 3 ? 'released' : 'rejected', stateChangedBy: `u${won}` });
    });

    it('rewraps keys in one transaction and lists items not under a key', async () => {
      for (const id of ['Q-1', 'Q-2', 'Q-3']) await store.insertItem(item(id, { keyId: id === 'Q-3' ? 'k2' : 'k1' }));
      expect(await store.itemsNotUnder('k2', 10)).toEqual([
        { id: 'Q-1', keyId: 'k1', wrappedKey: item('x').wrappedKey },
        { id: 'Q-2', keyId: 'k1', wrappedKey: item('x').wrappedKey },
      ]);
      expect(await store.itemsNotUnder('k2', 1)).toHaveLength(1);
      await expect(
        store.rewrapKeys([
          { id: 'Q-1', keyId: 'k2', wrappedKey: Buffer.from('new1') },
          { id: 'absent', keyId: 'k2', wrappedKey: Buffer.from('x') },
        ]),
      ).rejects.toThrow(/absent/);
      expect((await store.getItem('Q-1'))?.keyId).toBe('k1');
      await store.rewrapKeys([
        { id: 'Q-1', keyId: 'k2', wrappedKey: Buffer.from('new1') },
        { id: 'Q-2', keyId: 'k2', wrappedKey: Buffer.from('new2') },
      ]);
      expect(await store.itemsNotUnder('k2', 10)).toEqual([]);
      expect(await store.getItem('Q-2')).toMatchObject({ keyId: 'k2', wrappedKey: Buffer.from('new2') });
      await store.rewrapKeys([]);
    });

    it('keeps sealed blobs in the database only for PostgreSQL', async () => {
      if (backend.kind === 'sqlite') {
        expect(store.blobs).toBeNull();
        return;
      }
      const blobs = store.blobs;
      if (!blobs) throw new Error('a PostgreSQL store must keep blobs');
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      big[0] = 0;
      await blobs.put('Q-1', big);
      await blobs.put('Q-2', Buffer.from([0, 1, 2]));
      expect((await blobs.get('Q-1'))?.equals(big)).toBe(true);
      await blobs.put('Q-2', Buffer.from([9]));
      expect(await blobs.get('Q-2')).toEqual(Buffer.from([9]));
      await blobs.delete('Q-1');
      expect(await blobs.get('Q-1')).toBeNull();
      await blobs.delete('Q-1');
    });

    it('writes users, login counts and sessions only together with their audit record', async () => {
      const u = user('tanaka');
      const [r1] = await store.appendAudit((head) => sealRecords(head, [entry({ action: 'user-changed', object: 'tanaka' })], new Date(T0)), { users: [u] });
      expect(r1?.seq).toBe(1);
      expect(await store.getUser('tanaka')).toEqual(u);
      // A later row for the same name replaces every column but the creation time.
      const changed = { ...u, role: 'admin' as const, createdAt: '2030-01-01T00:00:00.000Z', updatedAt: at(5).toISOString() };
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'user-changed' })], new Date(T0)), { users: [changed] });
      expect(await store.getUser('tanaka')).toEqual({ ...changed, createdAt: u.createdAt });
      // Aliases are kept with the row and replaced with it.
      const aliased = { ...changed, aliases: ['desk@city.example.lg.jp', 'old.tanaka@city.example.lg.jp'] };
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'user-changed' })], new Date(T0)), { users: [aliased] });
      expect((await store.getUser('tanaka'))?.aliases).toEqual(aliased.aliases);
      expect((await store.listUsers()).find((x) => x.name === 'tanaka')?.aliases).toEqual(aliased.aliases);
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'user-changed' })], new Date(T0)), { users: [changed] });
      expect((await store.getUser('tanaka'))?.aliases).toEqual([]);

      // Failures are counted in place; the lock is set at the configured count.
      const fail = { name: 'tanaka', address: '192.0.2.7', at: at(1).toISOString(), succeeded: false as const, lockAt: 2, lockUntil: at(30).toISOString(), account: { lockAt: 2 } };
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'login-failed' })], new Date(T0)), { loginAttempts: [fail] });
      expect(await store.getUser('tanaka')).toMatchObject({ failedLogins: 1, lockedUntil: null });
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'login-failed' })], new Date(T0)), { loginAttempts: [fail] });
      expect(await store.getUser('tanaka')).toMatchObject({ failedLogins: 2, lockedUntil: at(30).toISOString() });

      const session = {
        id: 'a'.repeat(64),
        user: 'tanaka',
        createdAt: at(40).toISOString(),
        expiresAt: at(100).toISOString(),
        lastSeenAt: at(40).toISOString(),
        stage: 'full' as const,
        client: '192.0.2.7',
        userAgent: 'Mozilla/5.0',
      };
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'login-succeeded' })], new Date(T0)), {
        loginAttempts: [{ name: 'tanaka', address: '192.0.2.7', at: at(40).toISOString(), succeeded: true, account: true }],
        sessionsOpened: [session],
      });
      expect(await store.getUser('tanaka')).toMatchObject({ failedLogins: 0, lockedUntil: null, role: 'admin' });
      expect(await store.getSession(session.id)).toEqual(session);
      // The session and its user in one read: what each read alone gives.
      expect(await store.getSessionAndUser(session.id)).toEqual({ session, user: await store.getUser('tanaka') });
      expect(await store.getSessionAndUser('b'.repeat(64))).toBeNull();

      // A record that cannot be appended takes its effects with it.
      await expect(
        store.appendAudit(() => sealRecords({ seq: 0, hash: GENESIS_HASH }, [entry({ action: 'logout' })], new Date(T0)), { sessionsEnded: [session.id], users: [user('sato')] }),
      ).rejects.toThrow(/does not continue the chain/);
      expect(await store.getSession(session.id)).toEqual(session);
      expect(await store.getUser('sato')).toBeNull();

      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'logout' })], new Date(T0)), { sessionsEnded: [session.id] });
      expect(await store.getSession(session.id)).toBeNull();
      expect(await store.getSessionAndUser(session.id)).toBeNull();
      expect((await store.readAudit(0, 100)).map((r) => r.action)).toEqual([
        'user-changed',
        'user-changed',
        'user-changed',
        'user-changed',
        'login-failed',
        'login-failed',
        'login-succeeded',
        'logout',
      ]);
    });

    it('counts unlock failures per item and user, locks at the limit, and clears on success or reset', async () => {
      const unlock = (user: string, outcome: 'failed' | 'succeeded', minute: number): AuditEffects => ({
        unlockAttempts: [{ item: 'Q-1', user, outcome, at: at(minute).toISOString(), lockAfter: 3 }],
      });
      const rec = (action: 'unlock-failed' | 'unlock-succeeded' | 'unlock-reset', effects: AuditEffects) =>
        store.appendAudit((head) => sealRecords(head, [entry({ action, object: 'Q-1' })], new Date(T0)), effects);
      expect(await store.getUnlockState('Q-1', 'tanaka')).toBeNull();
      await rec('unlock-failed', unlock('tanaka', 'failed', 1));
      await rec('unlock-failed', unlock('tanaka', 'failed', 2));
      expect(await store.getUnlockState('Q-1', 'tanaka')).toEqual({ item: 'Q-1', user: 'tanaka', failures: 2, lockedAt: null, lastAttemptAt: at(2).toISOString() });
      await rec('unlock-failed', unlock('tanaka', 'failed', 3));
      await rec('unlock-failed', unlock('tanaka', 'failed', 4));
      // Locked at the third failure; a later one keeps the time it locked.
      expect(await store.getUnlockState('Q-1', 'tanaka')).toMatchObject({ failures: 4, lockedAt: at(3).toISOString(), lastAttemptAt: at(4).toISOString() });
      // Another user's count is their own; a success clears it.
      await rec('unlock-failed', unlock('sato', 'failed', 5));
      expect((await store.listUnlockStates('Q-1')).map((s) => [s.user, s.failures])).toEqual([
        ['sato', 1],
        ['tanaka', 4],
      ]);
      await rec('unlock-succeeded', unlock('sato', 'succeeded', 6));
      expect(await store.getUnlockState('Q-1', 'sato')).toBeNull();
      // A record that cannot be appended takes its effect with it.
      await expect(
        store.appendAudit(() => sealRecords({ seq: 0, hash: GENESIS_HASH }, [entry({ action: 'unlock-reset' })], new Date(T0)), { unlockResets: [{ item: 'Q-1', user: 'tanaka' }] }),
      ).rejects.toThrow(/does not continue the chain/);
      expect(await store.getUnlockState('Q-1', 'tanaka')).not.toBeNull();
      await rec('unlock-reset', { unlockResets: [{ item: 'Q-1', user: 'tanaka' }] });
      expect(await store.listUnlockStates('Q-1')).toEqual([]);
    });

    it('applies a workflow step only with its record, and neither when the item moved on', async () => {
      await store.insertItem(item('Q1'));
      const step = (from: ItemState[], to: ItemState) => ({ stateChanges: [{ id: 'Q1', from, to, at: at(1), by: 'admin' }] });
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'release-requested' })], new Date(T0)), step(['held'], 'release-requested'));
      expect(await store.getItem('Q1')).toMatchObject({ state: 'release-requested', stateChangedBy: 'admin', stateChangedAt: at(1).toISOString() });
      await expect(store.appendAudit((head) => sealRecords(head, [entry({ action: 'release-requested' })], new Date(T0)), step(['held'], 'release-requested'))).rejects.toBeInstanceOf(
        StateConflictError,
      );
      await expect(
        store.appendAudit((head) => sealRecords(head, [entry({ action: 'release-rejected' })], new Date(T0)), { stateChanges: [{ id: 'Q-none', from: ['held'], to: 'rejected', at: at(2), by: 'x' }] }),
      ).rejects.toThrow(/Q-none/);
      expect((await store.readAudit(0, 10)).map((r) => r.action)).toEqual(['release-requested']);
    });

    it('lists users by name, refuses an unknown role, and removes expired sessions', async () => {
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'user-changed' })], new Date(T0)), { users: [user('sato'), user('abe', { role: 'auditor' })] });
      expect((await store.listUsers()).map((u) => [u.name, u.role])).toEqual([
        ['abe', 'auditor'],
        ['sato', 'staff'],
      ]);
      await expect(store.appendAudit((head) => sealRecords(head, [entry({ action: 'user-changed' })], new Date(T0)), { users: [user('x', { role: 'root' as never })] })).rejects.toThrow();
      expect(await store.getUser('x')).toBeNull();
      const s = (id: string, expires: number) => session(id, 'sato', { createdAt: at(0).toISOString(), lastSeenAt: at(0).toISOString(), expiresAt: at(expires).toISOString() });
      await store.appendAudit((head) => sealRecords(head, [entry({ action: 'login-succeeded' })], new Date(T0)), { sessionsOpened: [s('s1', 10), s('s2', 60)] });
      expect(await store.deleteExpiredSessions(at(30))).toBe(1);
      expect(await store.getSession('s1')).toBeNull();
      expect(await store.getSession('s2')).not.toBeNull();
      // A session belongs to a user who exists.
      await expect(store.appendAudit((head) => sealRecords(head, [entry({ action: 'login-succeeded' })], new Date(T0)), { sessionsOpened: [{ ...s('s3', 60), user: 'nobody' }] })).rejects.toThrow();
    });

    const appendWith = (action: AuditEntry['action'], effects: AuditEffects) => store.appendAudit((head) => sealRecords(head, [entry({ action })], new Date(T0)), effects);

    it('counts failures per client address and locks the account for that address only, or for all it never logged in from', async () => {
      await appendWith('user-changed', { users: [user('kanri', { role: 'admin' })] });
      const fail = (address: string, minute: number, account: boolean) => ({
        name: 'kanri',
        address,
        at: at(minute).toISOString(),
        succeeded: false as const,
        lockAt: 3,
        lockUntil: at(minute + 15).toISOString(),
        account: account ? { lockAt: 5 } : null,
      });
      for (let i = 1; i <= 3; i++) await appendWith('login-failed', { loginAttempts: [fail('192.0.2.66', i, true)] });
      expect(await store.getLoginAddress('kanri', '192.0.2.66')).toEqual({
        user: 'kanri',
        address: '192.0.2.66',
        failures: 3,
        lockedUntil: at(18).toISOString(),
        lastFailureAt: at(3).toISOString(),
        lastSuccessAt: null,
      });
      expect(await store.getLoginAddress('kanri', '192.0.2.10')).toBeNull();
      expect(await store.getUser('kanri')).toMatchObject({ failedLogins: 3, lockedUntil: null });
      // A failure from an address the account logged in from counts for that address only.
      await appendWith('login-succeeded', { loginAttempts: [{ name: 'kanri', address: '192.0.2.10', at: at(4).toISOString(), succeeded: true, account: true }] });
      expect(await store.getUser('kanri')).toMatchObject({ failedLogins: 0, lockedUntil: null });
      expect(await store.getLoginAddress('kanri', '192.0.2.10')).toMatchObject({ failures: 0, lastSuccessAt: at(4).toISOString() });
      await appendWith('login-failed', { loginAttempts: [fail('192.0.2.10', 5, false)] });
      expect(await store.getUser('kanri')).toMatchObject({ failedLogins: 0 });
      expect(await store.getLoginAddress('kanri', '192.0.2.10')).toMatchObject({ failures: 1, lastSuccessAt: at(4).toISOString(), lastFailureAt: at(5).toISOString() });
      // Five from strangers lock the account for strangers.
      for (let i = 0; i < 5; i++) await appendWith('login-failed', { loginAttempts: [fail(`198.51.100.${i}`, 6, true)] });
      expect(await store.getUser('kanri')).toMatchObject({ failedLogins: 5, lockedUntil: at(21).toISOString() });
      // A login from the user's own address does not undo what strangers counted.
      await appendWith('login-succeeded', { loginAttempts: [{ name: 'kanri', address: '192.0.2.10', at: at(7).toISOString(), succeeded: true, account: false }] });
      expect(await store.getUser('kanri')).toMatchObject({ failedLogins: 5, lockedUntil: at(21).toISOString() });
      // An administrator's enable clears every address's count and lock.
      await appendWith('user-changed', { addressLocksCleared: ['kanri'] });
      expect(await store.getLoginAddress('kanri', '192.0.2.66')).toMatchObject({ failures: 0, lockedUntil: null });
      for (let i = 1; i <= 3; i++) await appendWith('login-failed', { loginAttempts: [fail('192.0.2.66', i, false)] });
      // A success from an address it had not logged in from clears its lock, and the account's count.
      await appendWith('login-succeeded', { loginAttempts: [{ name: 'kanri', address: '192.0.2.66', at: at(30).toISOString(), succeeded: true, account: true }] });
      expect(await store.getLoginAddress('kanri', '192.0.2.66')).toMatchObject({ failures: 0, lockedUntil: null, lastSuccessAt: at(30).toISOString() });
      expect(await store.getUser('kanri')).toMatchObject({ failedLogins: 0, lockedUntil: null });
      // Stale addresses are forgotten; those with a lock in force or recent use stay.
      await appendWith('login-failed', { loginAttempts: [fail('203.0.113.9', 100, true), fail('203.0.113.9', 100, true), fail('203.0.113.9', 100, true)] });
      expect(await store.deleteStaleLoginAddresses(at(60))).toBe(7);
      expect(await store.getLoginAddress('kanri', '192.0.2.66')).toBeNull();
      expect(await store.getLoginAddress('kanri', '203.0.113.9')).toMatchObject({ failures: 3 });
    });

    it('opens, lists, touches and ends sessions by id, by user but one, and when idle', async () => {
      await appendWith('user-changed', { users: [user('sato'), user('abe')] });
      const a1 = session('a1', 'sato', { stage: 'second-factor', client: '2001:db8::1', userAgent: 'Firefox' });
      await appendWith('login-password-accepted', { sessionsOpened: [a1, session('a2', 'sato', { createdAt: at(1).toISOString() }), session('b1', 'abe')] });
      expect(await store.getSession('a1')).toEqual(a1);
      expect((await store.listSessions('sato')).map((x) => x.id)).toEqual(['a1', 'a2']);
      expect((await store.listSessions()).map((x) => x.id).sort()).toEqual(['a1', 'a2', 'b1']);
      await store.touchSession('a2', at(20));
      // Never backwards.
      await store.touchSession('a2', at(10));
      expect((await store.getSession('a2'))?.lastSeenAt).toBe(at(20).toISOString());
      // A password change ends the user's other sessions.
      await appendWith('user-changed', { userSessionsEnded: [{ user: 'sato', except: 'a2' }] });
      expect((await store.listSessions('sato')).map((x) => x.id)).toEqual(['a2']);
      expect(await store.getSession('b1')).not.toBeNull();
      // Idle sessions go with the expired ones.
      expect(await store.deleteExpiredSessions(at(30), at(15))).toBe(1);
      expect((await store.listSessions()).map((x) => x.id)).toEqual(['a2']);
      await appendWith('session-ended', { userSessionsEnded: [{ user: 'sato' }] });
      expect(await store.listSessions()).toEqual([]);
    });

    it('enrols TOTP once, accepts each time step once and each recovery code once, and resets', async () => {
      await appendWith('user-changed', { users: [user('kanri', { role: 'admin' })] });
      const sealed = Buffer.from([0, 1, 2, 250, 255]);
      const enrol = { name: 'kanri', keyId: 'k1', sealed, at: at(1).toISOString(), recoveryCodeHashes: ['h1', 'h2', 'h3'] };
      await appendWith('second-factor-enrolled', { totpEnrolled: [enrol] });
      expect((await store.getUser('kanri'))?.totp).toEqual({ keyId: 'k1', sealed, enrolledAt: at(1).toISOString(), lastStep: null });
      expect(await store.recoveryCodesLeft('kanri')).toBe(3);
      // A second enrolment (another browser racing the first) changes nothing.
      await expect(appendWith('second-factor-enrolled', { totpEnrolled: [{ ...enrol, keyId: 'k2' }] })).rejects.toBeInstanceOf(CredentialConflictError);
      expect((await store.getUser('kanri'))?.totp?.keyId).toBe('k1');
      // A user change does not touch the second factor.
      await appendWith('user-changed', { users: [user('kanri', { role: 'admin', displayName: '管理者' })] });
      expect((await store.getUser('kanri'))?.totp?.keyId).toBe('k1');

      await appendWith('login-succeeded', { totpStepsUsed: [{ name: 'kanri', step: 1000 }] });
      expect((await store.getUser('kanri'))?.totp?.lastStep).toBe(1000);
      const before = (await store.head()).seq;
      for (const step of [1000, 999]) {
        const err = await appendWith('login-succeeded', { totpStepsUsed: [{ name: 'kanri', step }], sessionsOpened: [session(`s${step}`, 'kanri')] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CredentialConflictError);
        expect(err).toMatchObject({ what: 'totp-step', user: 'kanri' });
      }
      // Nothing of a refused append was written: no record, no session.
      expect((await store.head()).seq).toBe(before);
      expect(await store.listSessions('kanri')).toEqual([]);
      await appendWith('login-succeeded', { totpStepsUsed: [{ name: 'kanri', step: 1001 }], sessionsOpened: [session('s1001', 'kanri')] });
      // The session read with its user carries the second factor (its sealed bytes) as getUser does.
      expect(await store.getSessionAndUser('s1001')).toEqual({ session: await store.getSession('s1001'), user: await store.getUser('kanri') });
      expect((await store.getSessionAndUser('s1001'))?.user.totp).toEqual({ keyId: 'k1', sealed, enrolledAt: at(1).toISOString(), lastStep: 1001 });

      await appendWith('login-succeeded', { recoveryCodesUsed: [{ name: 'kanri', codeHash: 'h2', at: at(5).toISOString() }] });
      expect(await store.recoveryCodesLeft('kanri')).toBe(2);
      await expect(appendWith('login-succeeded', { recoveryCodesUsed: [{ name: 'kanri', codeHash: 'h2', at: at(6).toISOString() }] })).rejects.toMatchObject({ what: 'recovery-code' });
      await expect(appendWith('login-succeeded', { recoveryCodesUsed: [{ name: 'kanri', codeHash: 'nope', at: at(6).toISOString() }] })).rejects.toBeInstanceOf(CredentialConflictError);

      // Key rotation re-seals, each only from the key it was under.
      expect(await store.totpNotUnder('k1', 10)).toEqual([]);
      expect(await store.totpNotUnder('k9', 10)).toEqual([{ name: 'kanri', keyId: 'k1', sealed }]);
      expect(await store.resealTotp([{ name: 'kanri', fromKeyId: 'k0', keyId: 'k9', sealed: Buffer.from([7]) }])).toBe(0);
      expect(await store.resealTotp([{ name: 'kanri', fromKeyId: 'k1', keyId: 'k9', sealed: Buffer.from([7]) }])).toBe(1);
      expect((await store.getUser('kanri'))?.totp).toMatchObject({ keyId: 'k9', sealed: Buffer.from([7]), lastStep: 1001 });

      await appendWith('second-factor-reset', { totpReset: ['kanri'] });
      expect((await store.getUser('kanri'))?.totp).toBeNull();
      expect(await store.recoveryCodesLeft('kanri')).toBe(0);
      // Enrolled again after a reset; a step from before counts as new.
      await appendWith('second-factor-enrolled', { totpEnrolled: [{ ...enrol, keyId: 'k9', recoveryCodeHashes: ['h9'] }] });
      await appendWith('login-succeeded', { totpStepsUsed: [{ name: 'kanri', step: 5 }] });
      expect(await store.recoveryCodesLeft('kanri')).toBe(1);
      // A step for a user without TOTP is no step.
      await appendWith('user-changed', { users: [user('abe')] });
      await expect(appendWith('login-succeeded', { totpStepsUsed: [{ name: 'abe', step: 5 }] })).rejects.toBeInstanceOf(CredentialConflictError);
    });

    it('keeps directory users apart from local ones', async () => {
      await appendWith('user-changed', { users: [user('yamada', { source: 'ldap', passwordHash: '' })] });
      expect(await store.getUser('yamada')).toMatchObject({ source: 'ldap', passwordHash: '' });
      await expect(appendWith('user-changed', { users: [user('x', { source: 'nis' as never })] })).rejects.toThrow();
    });

    it('creates the schema once; reopening finds it and the data', async () => {
      await append(store, [entry()]);
      const again = await o.reopen();
      expect((await again.head()).seq).toBe(1);
      // Every migration applied, and the two schemas kept in step.
      expect(SCHEMA_VERSION).toBe(PG_SCHEMA_VERSION);
      expect(await o.sql('SELECT version FROM schema_version')).toEqual([{ version: SCHEMA_VERSION }]);
    });
  });
}
