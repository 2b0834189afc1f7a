// The search index of the quarantine, in memory. The subject and the header
// From are sealed in the database, so a search by subject cannot be a query:
// the index decrypts every item's metadata once (at start, in batches), then
// follows the audit log by seq: a `quarantined` record adds its item, a
// workflow record moves its item's state, a `purged` record expires its items.
// A search walks the smallest list that holds its matches (a recipient's,
// a sender's, a finding's, a state's, a subject's rarest pair of
// characters), only the part in its time range.
import type { AuditRecord, ItemRow, Store } from '../store/types.js';
import type { ItemState } from '../model/item-states.js';
import type { Vault } from './vault.js';
import { byTime, firstAtOrAfter, fold, mergedPostings, pairsOf, placeOf, type IndexedItem } from './item-lists.js';

export type { IndexedItem } from './item-lists.js';

export interface ItemQuery {
  /** Inclusive lower, exclusive upper bound on receivedAt. */
  since?: Date;
  until?: Date;
  /** Part of the envelope sender or the header From. */
  sender?: string;
  /** Part of a recipient's address. */
  recipient?: string;
  /** Addressed to one of these, exactly (lower-case; a staff member's own addresses): none matches nothing. */
  recipientAny?: readonly string[];
  /** Part of the subject. */
  subject?: string;
  finding?: string;
  state?: ItemState;
  offset?: number;
  limit?: number;
}

export interface ItemPage {
  total: number;
  rows: IndexedItem[];
}

export interface SubjectIndex {
  /** Loads every item (once; later calls wait for the same load). */
  load(): Promise<void>;
  /** Reads the audit log's new records into the index. */
  refresh(): Promise<void>;
  /** Newest first. Loads and refreshes first. */
  search(q: ItemQuery): Promise<ItemPage>;
  readonly size: number;
  /** The load has finished: a search answers without waiting for it. */
  readonly ready: boolean;
}

const BATCH = 1000;
const FOLLOWED = ['quarantined', 'release-requested', 'release-rejected', 'release-delivered', 'purged'] as const;

export function createSubjectIndex(vault: Pick<Vault, 'metaOf'>, store: Store): SubjectIndex {
  const byId = new Map<string, IndexedItem>();
  /** Oldest first (by receivedAt, then id); items added out of order set `unsorted`. */
  let ordered: IndexedItem[] = [];
  let unsorted = false;
  /**
   * The items of each recipient address and of each finding, in `ordered`'s
   * order: a clerk's list (their addresses) or a search by finding walks only
   * its own items, not the whole quarantine.
   */
  let byAddress = new Map<number, IndexedItem[]>();
  /** Each address (lower-cased) met, as a number: an item's check against a clerk's addresses compares numbers, not strings elsewhere in memory. */
  const addressNumbers = new Map<string, number>();
  const numberOf = (address: string): number => {
    let n = addressNumbers.get(address);
    if (n === undefined) addressNumbers.set(address, (n = addressNumbers.size));
    return n;
  };
  /**
   * Each recipient address as an item's haystack folds it, with the numbers
   * of the items' addresses written that way: a search by part of a
   * recipient's address finds the addresses that hold it here (a few
   * thousand at most), and walks only their items.
   */
  const foldedAddresses = new Map<string, Set<number>>();
  const addresseeOf = (recipient: string): number => {
    const n = numberOf(recipient.toLowerCase());
    const folded = fold(recipient);
    const numbers = foldedAddresses.get(folded);
    if (numbers) numbers.add(n);
    else foldedAddresses.set(folded, new Set([n]));
    return n;
  };
  let byFinding = new Map<string, IndexedItem[]>();
  /**
   * The items of each sender as a search compares it (the envelope sender and
   * the header From, each folded): a search by part of a sender walks the
   * lists of the senders that hold it, not every item.
   */
  let bySender = new Map<string, IndexedItem[]>();
  /** The items in each state; kept in order as items move (see `move`). */
  let byState = new Map<ItemState, IndexedItem[]>();
  /**
   * The items whose folded subject holds each pair of adjacent characters: a
   * subject search walks the list of its query's rarest pair (every match
   * holds every pair of the query) and checks each of those items.
   */
  let byPair = new Map<string, IndexedItem[]>();
  /** Bumped whenever an item is added or the lists rebuilt: what a merged list of addresses was built from. */
  let generation = 0;
  const merged = new Map<string, { generation: number; list: IndexedItem[] }>();
  const post = <K>(map: Map<K, IndexedItem[]>, key: K, item: IndexedItem): void => {
    const list = map.get(key);
    if (list) list.push(item);
    else map.set(key, [item]);
  };
  const postAll = (item: IndexedItem): void => {
    for (const a of new Set(item.addressees)) post(byAddress, a, item);
    for (const f of new Set(item.findings)) post(byFinding, f, item);
    for (const s of new Set(item.haystack.sender.split('\n'))) post(bySender, s, item);
    post(byState, item.state, item);
    for (const p of pairsOf(item.haystack.subject)) post(byPair, p, item);
  };
  const rebuild = (): void => {
    ordered = [...byId.values()].sort(byTime);
    byAddress = new Map();
    byFinding = new Map();
    bySender = new Map();
    byState = new Map();
    byPair = new Map();
    for (const item of ordered) postAll(item);
    generation++;
    unsorted = false;
  };
  let cursor = 0;
  let loading: Promise<void> | null = null;
  let loaded = false;
  let following: Promise<void> | null = null;

  const add = async (row: ItemRow): Promise<void> => {
    if (byId.has(row.id)) return;
    let subject: string | null = null;
    let from: string | null = null;
    let readable = false;
    try {
      const meta = await vault.metaOf(row);
      subject = meta.subject;
      from = meta.from;
      readable = true;
    } catch {
      // A key this gateway cannot unwrap: the item is still listed, by what the database holds in the clear.
    }
    const item: IndexedItem = {
      id: row.id,
      receivedAt: row.receivedAt,
      envelopeFrom: row.envelopeFrom,
      recipients: row.recipients,
      findings: row.findings,
      state: row.state,
      subject,
      from,
      readable,
      haystack: { subject: fold(subject), sender: `${fold(row.envelopeFrom)}\n${fold(from)}`, recipients: row.recipients.map(fold).join('\n') },
      addressees: row.recipients.map(addresseeOf),
    };
    byId.set(row.id, item);
    const last = ordered.at(-1);
    if (last && (last.receivedAt > item.receivedAt || (last.receivedAt === item.receivedAt && last.id > item.id))) unsorted = true;
    ordered.push(item);
    postAll(item);
    generation++;
  };

  const apply = async (r: AuditRecord): Promise<void> => {
    const details = JSON.parse(r.details) as { toState?: ItemState; stateChanged?: boolean; ids?: string[] };
    if (r.action === 'quarantined' && r.object) {
      const row = await store.getItem(r.object);
      if (row) await add(row);
      return;
    }
    const move = (id: string | null, to: ItemState, inPlace = true): void => {
      const item = id ? byId.get(id) : undefined;
      if (!item || item.state === to) return;
      // Out of order, every list is rebuilt from the items' states before the next search.
      if (inPlace && !unsorted) {
        const from = byState.get(item.state);
        const at = from ? placeOf(from, item) : -1;
        if (from && from[at] === item) from.splice(at, 1);
        const into = byState.get(to);
        if (into) into.splice(placeOf(into, item), 0, item);
        else byState.set(to, [item]);
      }
      item.state = to;
    };
    if (r.action === 'purged') {
      // A purge may expire thousands at once: one walk over all items rebuilds the state lists, not a splice each.
      const ids = details.ids ?? [];
      const inPlace = ids.length <= 64;
      for (const id of ids) move(id, 'expired', inPlace);
      if (!inPlace) {
        byState = new Map();
        for (const item of ordered) post(byState, item.state, item);
      }
    } else if (r.action === 'release-delivered' && details.stateChanged) move(r.object, 'released');
    else if (details.toState) move(r.object, details.toState);
  };

  const followed = new Set<string>(FOLLOWED);
  // Every record after the cursor, by seq (the primary key), the ones followed picked here: a query
  // by action and seq walked the action index through every item ever quarantined, at each search.
  const follow = async (): Promise<void> => {
    for (;;) {
      const records = await store.readAudit(cursor, BATCH);
      for (const r of records) {
        if (followed.has(r.action)) await apply(r);
        cursor = r.seq;
      }
      if (records.length < BATCH) return;
    }
  };

  const index: SubjectIndex = {
    get size() {
      return byId.size;
    },
    get ready() {
      return loaded;
    },
    load() {
      loading ??= (async () => {
        // Records from here on are followed; the rows read below already show everything before.
        cursor = (await store.head()).seq;
        let since: Date | undefined;
        for (;;) {
          // Oldest first; the first rows of a batch may repeat the last time of the one before (add skips them).
          const rows = await store.listItems({ ...(since ? { receivedSince: since } : {}), limit: BATCH + countAt(since) });
          const fresh = rows.filter((r) => !byId.has(r.id));
          for (const row of fresh) await add(row);
          if (fresh.length === 0) break;
          // Decrypting a batch is CPU work: let SMTP sessions and deliveries run between batches.
          await new Promise((resolve) => setImmediate(resolve));
          since = new Date(rows.at(-1)!.receivedAt);
        }
        loaded = true;
      })().catch((err: unknown) => {
        loading = null;
        throw err;
      });
      return loading;
    },
    refresh() {
      // One follower at a time: two would apply the same records twice.
      following ??= follow().finally(() => (following = null));
      return following;
    },
    async search(q) {
      await index.load();
      await index.refresh();
      if (unsorted) rebuild();
      const since = q.since?.toISOString();
      const until = q.until?.toISOString();
      const sender = q.sender ? fold(q.sender) : null;
      const recipient = q.recipient ? fold(q.recipient) : null;
      const subject = q.subject ? fold(q.subject) : null;
      // An address never met matches nothing.
      const own = q.recipientAny ? new Set(q.recipientAny.flatMap((a) => addressNumbers.get(a.toLowerCase()) ?? [])) : null;
      const offset = Math.max(0, q.offset ?? 0);
      const limit = Math.max(1, Math.min(500, q.limit ?? 50));
      const rows: IndexedItem[] = [];
      let total = 0;
      // The smallest list that holds every match (a recipient's own, a finding's, a state's, the rarest pair
      // of the subject's, or all items), and of it only the part in the time range: its items are checked for
      // the rest. A list that is exactly the matches of its own condition is not checked for it again.
      const pair = subject !== null && subject.length >= 2 ? rarestPair(subject) : null;
      const lists: { size: number; exact: 'own' | 'finding' | 'state' | 'subject' | null; list: () => IndexedItem[] }[] = [{ size: ordered.length, exact: null, list: () => ordered }];
      if (own !== null) lists.push({ size: [...own].reduce((n, a) => n + (byAddress.get(a)?.length ?? 0), 0), exact: 'own', list: () => ownList(own) });
      if (q.finding) lists.push({ size: byFinding.get(q.finding)?.length ?? 0, exact: 'finding', list: () => byFinding.get(q.finding!) ?? [] });
      if (q.state) lists.push({ size: byState.get(q.state)?.length ?? 0, exact: 'state', list: () => byState.get(q.state!) ?? [] });
      // A query of two characters is its own pair: its list is exactly its matches.
      if (pair !== null) lists.push({ size: byPair.get(pair)?.length ?? 0, exact: subject!.length === 2 ? 'subject' : null, list: () => byPair.get(pair) ?? [] });
      // Part of a recipient's address: the items of every address that holds it (each still checked: one
      // address number stands for every casing of an address). Text with a line break can span two
      // recipients of the haystack: only the walk of every item finds that.
      if (recipient !== null && !recipient.includes('\n')) {
        const holders = new Set<number>();
        for (const [folded, numbers] of foldedAddresses) if (folded.includes(recipient)) for (const n of numbers) holders.add(n);
        lists.push({ size: [...holders].reduce((n, a) => n + (byAddress.get(a)?.length ?? 0), 0), exact: null, list: () => ownList(holders) });
      }
      // Part of a sender: the items of every sender that holds it (line breaks as for recipients).
      if (sender !== null && !sender.includes('\n')) {
        const holding: IndexedItem[][] = [];
        for (const [folded, items] of bySender) if (folded.includes(sender)) holding.push(items);
        lists.push({ size: holding.reduce((n, l) => n + l.length, 0), exact: null, list: () => mergedPostings(holding) });
      }
      const chosen = lists.reduce((a, b) => (b.size < a.size ? b : a));
      const candidates = chosen.list();
      const checkOwn = own !== null && chosen.exact !== 'own';
      // The clerk's address numbers marked in an array: checking an item's recipients is then an index each.
      const ownMarks = checkOwn ? marksOf(own) : null;
      const checkFinding = Boolean(q.finding) && chosen.exact !== 'finding';
      const checkState = Boolean(q.state) && chosen.exact !== 'state';
      const checkSubject = subject !== null && chosen.exact !== 'subject';
      // The part of the list in [since, until): its items are in time order.
      const lo = since === undefined ? 0 : firstAtOrAfter(candidates, since);
      const hi = until === undefined ? candidates.length : firstAtOrAfter(candidates, until);
      // Nothing left to check on any item: the page is a slice.
      if (!checkOwn && !checkFinding && !checkState && !checkSubject && sender === null && recipient === null) {
        const end = Math.max(lo, hi - offset);
        return { total: Math.max(0, hi - lo), rows: candidates.slice(Math.max(lo, end - limit), end).reverse() };
      }
      for (let i = hi - 1; i >= lo; i--) {
        const it = candidates[i]!;
        if (checkState && it.state !== q.state) continue;
        if (checkFinding && !it.findings.includes(q.finding!)) continue;
        if (sender !== null && !it.haystack.sender.includes(sender)) continue;
        if (recipient !== null && !it.haystack.recipients.includes(recipient)) continue;
        if (checkOwn && !addressedTo(it, ownMarks!)) continue;
        if (checkSubject && !it.haystack.subject.includes(subject!)) continue;
        if (total >= offset && rows.length < limit) rows.push(it);
        total++;
      }
      return { total, rows };
    },
  };

  /** The items addressed to any of `own`, in `ordered`'s order (kept while no item is added: a clerk reads their list page after page). */
  function ownList(own: ReadonlySet<number>): IndexedItem[] {
    const lists = [...own].map((a) => byAddress.get(a) ?? []);
    if (lists.filter((l) => l.length > 0).length <= 1) return lists.find((l) => l.length > 0) ?? [];
    const key = [...own].sort((a, b) => a - b).join();
    const kept = merged.get(key);
    if (kept?.generation === generation) return kept.list;
    const list = mergedPostings(lists);
    // A few hundred clerks at most; should there be more, the oldest go.
    if (merged.size >= 256) merged.delete(merged.keys().next().value!);
    merged.set(key, { generation, list });
    return list;
  }

  /** Of the query's pairs of characters, the one fewest items hold. */
  function rarestPair(subject: string): string {
    let best = subject.slice(0, 2);
    let size = byPair.get(best)?.length ?? 0;
    for (const p of pairsOf(subject)) {
      const n = byPair.get(p)?.length ?? 0;
      if (n < size) [best, size] = [p, n];
    }
    return best;
  }

  /** One of the item's recipients is marked in `marks` (an index per recipient: this runs for every item of a search). */
  function addressedTo(it: IndexedItem, marks: Uint8Array): boolean {
    const a = it.addressees;
    for (let i = 0; i < a.length; i++) if (marks[a[i]!] === 1) return true;
    return false;
  }

  /** 1 at each of `own`'s address numbers, in an array as long as the numbers given so far. */
  function marksOf(own: ReadonlySet<number>): Uint8Array {
    const marks = new Uint8Array(addressNumbers.size);
    for (const a of own) marks[a] = 1;
    return marks;
  }

  /** How many indexed items share the time `since`: the next batch is that much longer, so it always reaches past them. */
  function countAt(since: Date | undefined): number {
    if (!since) return 0;
    const t = since.toISOString();
    let n = 0;
    for (let i = ordered.length - 1; i >= 0 && ordered[i]!.receivedAt === t; i--) n++;
    return n;
  }

  return index;
}
