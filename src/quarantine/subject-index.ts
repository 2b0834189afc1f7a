// The search index of the quarantine, in memory. The subject and the header
// From are sealed in the database, so a search by subject cannot be a query:
// the index decrypts every item's metadata once (at start, in batches), then
// follows the audit log by seq: a `quarantined` record adds its item, a
// workflow record moves its item's state, a `purged` record expires its items.
// A search is a scan of plain values (100,000 items in a few milliseconds).
import type { AuditRecord, ItemRow, Store } from '../store/types.js';
import type { ItemState } from '../model/item-states.js';
import type { Vault } from './vault.js';

export interface IndexedItem {
  id: string;
  receivedAt: string;
  envelopeFrom: string | null;
  recipients: readonly string[];
  findings: readonly string[];
  state: ItemState;
  /** Decrypted, as the sender wrote it. */
  subject: string | null;
  /** The header From, decrypted. */
  from: string | null;
  /** False when the metadata could not be opened (a key this gateway cannot unwrap). */
  readable: boolean;
  /** Lower-cased, NFKC: what a search compares. */
  haystack: { subject: string; sender: string; recipients: string };
  /** The recipients lower-cased (only): what `recipientAny` matches whole, as the staff pages match an item's recipients. */
  addressees: readonly string[];
}

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

/** Oldest first: by receivedAt, then id. */
const byTime = (a: IndexedItem, b: IndexedItem): number => (a.receivedAt === b.receivedAt ? (a.id < b.id ? -1 : 1) : a.receivedAt < b.receivedAt ? -1 : 1);

export const fold = (s: string | null | undefined): string => (s ?? '').normalize('NFKC').toLowerCase();

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
  let byAddress = new Map<string, IndexedItem[]>();
  let byFinding = new Map<string, IndexedItem[]>();
  const post = (map: Map<string, IndexedItem[]>, key: string, item: IndexedItem): void => {
    const list = map.get(key);
    if (list) list.push(item);
    else map.set(key, [item]);
  };
  const postAll = (item: IndexedItem): void => {
    for (const a of new Set(item.addressees)) post(byAddress, a, item);
    for (const f of new Set(item.findings)) post(byFinding, f, item);
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
      addressees: row.recipients.map((r) => r.toLowerCase()),
    };
    byId.set(row.id, item);
    const last = ordered.at(-1);
    if (last && (last.receivedAt > item.receivedAt || (last.receivedAt === item.receivedAt && last.id > item.id))) unsorted = true;
    ordered.push(item);
    postAll(item);
  };

  const apply = async (r: AuditRecord): Promise<void> => {
    const details = JSON.parse(r.details) as { toState?: ItemState; stateChanged?: boolean; ids?: string[] };
    if (r.action === 'quarantined' && r.object) {
      const row = await store.getItem(r.object);
      if (row) await add(row);
      return;
    }
    const move = (id: string | null, to: ItemState): void => {
      const item = id ? byId.get(id) : undefined;
      if (item) item.state = to;
    };
    if (r.action === 'purged') for (const id of details.ids ?? []) move(id, 'expired');
    else if (r.action === 'release-delivered' && details.stateChanged) move(r.object, 'released');
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
      if (unsorted) {
        ordered = [...byId.values()].sort(byTime);
        byAddress = new Map();
        byFinding = new Map();
        for (const item of ordered) postAll(item);
        unsorted = false;
      }
      const since = q.since?.toISOString();
      const until = q.until?.toISOString();
      const sender = q.sender ? fold(q.sender) : null;
      const recipient = q.recipient ? fold(q.recipient) : null;
      const subject = q.subject ? fold(q.subject) : null;
      const own = q.recipientAny ? new Set(q.recipientAny.map((a) => a.toLowerCase())) : null;
      const offset = Math.max(0, q.offset ?? 0);
      const limit = Math.max(1, Math.min(500, q.limit ?? 50));
      const rows: IndexedItem[] = [];
      let total = 0;
      // The smallest list that holds every match: a recipient's own, a finding's, or all of them.
      const byFindingList = own === null && Boolean(q.finding);
      const candidates = own !== null ? mergedPostings([...own].map((a) => byAddress.get(a) ?? [])) : q.finding ? (byFinding.get(q.finding) ?? []) : ordered;
      // Nothing left to check on any item (a clerk's whole list, everything with a finding, all items): the page is a slice.
      const nothingToCheck = since === undefined && until === undefined && !q.state && sender === null && recipient === null && subject === null && (!q.finding || byFindingList);
      if (nothingToCheck) {
        const end = Math.max(0, candidates.length - offset);
        return { total: candidates.length, rows: candidates.slice(Math.max(0, end - limit), end).reverse() };
      }
      for (let i = candidates.length - 1; i >= 0; i--) {
        const it = candidates[i]!;
        if (until !== undefined && it.receivedAt >= until) continue;
        if (since !== undefined && it.receivedAt < since) break;
        if (q.state && it.state !== q.state) continue;
        if (q.finding && !it.findings.includes(q.finding)) continue;
        if (sender !== null && !it.haystack.sender.includes(sender)) continue;
        if (recipient !== null && !it.haystack.recipients.includes(recipient)) continue;
        if (own !== null && !addressedTo(it, own)) continue;
        if (subject !== null && !it.haystack.subject.includes(subject)) continue;
        if (total >= offset && rows.length < limit) rows.push(it);
        total++;
      }
      return { total, rows };
    },
  };

  /** Lists in `ordered`'s order merged into one, in that order, each item once (one addressed to two of them is in both). */
  function mergedPostings(lists: IndexedItem[][]): IndexedItem[] {
    return lists.reduce((a, b) => (a.length === 0 ? b : b.length === 0 ? a : mergeTwo(a, b)), []);
  }

  function mergeTwo(a: IndexedItem[], b: IndexedItem[]): IndexedItem[] {
    const out: IndexedItem[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const x = a[i]!;
      const y = b[j]!;
      const order = x === y ? 0 : byTime(x, y);
      out.push(order <= 0 ? x : y);
      if (order <= 0) i++;
      if (order >= 0) j++;
    }
    while (i < a.length) out.push(a[i++]!);
    while (j < b.length) out.push(b[j++]!);
    return out;
  }

  /** One of the item's recipients is in `own` (a plain loop: this runs for every item of a search). */
  function addressedTo(it: IndexedItem, own: ReadonlySet<string>): boolean {
    for (const a of it.addressees) if (own.has(a)) return true;
    return false;
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
