// The quarantine index's item lists: items in time order (by receivedAt, then
// id), kept as sorted arrays, merged and searched by binary search; and the
// folding and character pairs a search compares. Pure functions over the
// lists subject-index.ts keeps.
import type { ItemState } from '../model/item-states.js';

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
  /** The recipients lower-cased (only), each as its number in this index: what `recipientAny` matches whole, as the staff pages match an item's recipients. */
  addressees: readonly number[];
}

/** Oldest first: by receivedAt, then id. */
export const byTime = (a: IndexedItem, b: IndexedItem): number => (a.receivedAt === b.receivedAt ? (a.id < b.id ? -1 : 1) : a.receivedAt < b.receivedAt ? -1 : 1);

export const fold = (s: string | null | undefined): string => (s ?? '').normalize('NFKC').toLowerCase();

/** Every pair of adjacent characters (UTF-16 units, as `includes` compares) in `s`, each once. */
export const pairsOf = (s: string): Set<string> => {
  const out = new Set<string>();
  for (let i = 0; i + 1 < s.length; i++) out.add(s.slice(i, i + 2));
  return out;
};

/**
 * Lists in `ordered`'s order merged into one, in that order, each item once
 * (one addressed to two of them is in both): two at a time when there are
 * two, else through a heap of the lists' heads (a sender search can match a
 * few hundred senders' lists; merging them pairwise copied the growing
 * result once per list).
 */
export function mergedPostings(lists: readonly IndexedItem[][]): IndexedItem[] {
  const full = lists.filter((l) => l.length > 0);
  if (full.length <= 1) return full[0] ?? [];
  if (full.length === 2) return mergeTwo(full[0]!, full[1]!);
  // heap[k] = index of a list in `full`, ordered by the item at that list's position.
  const at = new Array<number>(full.length).fill(0);
  const head = (k: number): IndexedItem => full[k]![at[k]!]!;
  const before = (a: number, b: number): boolean => byTime(head(a), head(b)) < 0;
  const heap = full.map((_, k) => k);
  const down = (from: number): void => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < heap.length && before(heap[l]!, heap[least]!)) least = l;
      if (r < heap.length && before(heap[r]!, heap[least]!)) least = r;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least]!, heap[i]!];
      i = least;
    }
  };
  for (let i = (heap.length >>> 1) - 1; i >= 0; i--) down(i);
  const out: IndexedItem[] = [];
  while (heap.length > 0) {
    const k = heap[0]!;
    const item = head(k);
    // The same item in two lists comes out twice in a row (equal in order): kept once.
    if (out[out.length - 1] !== item) out.push(item);
    if (++at[k]! < full[k]!.length) down(0);
    else {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
      down(0);
    }
  }
  return out;
}

function mergeTwo(a: readonly IndexedItem[], b: readonly IndexedItem[]): IndexedItem[] {
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

/** Where `item` is, or would go, in a list in `ordered`'s order. */
export function placeOf(list: readonly IndexedItem[], item: IndexedItem): number {
  return firstNotBefore(list, (it) => byTime(it, item) < 0);
}

/** The first item of a list in `ordered`'s order received at `time` or later (its length if none). */
export function firstAtOrAfter(list: readonly IndexedItem[], time: string): number {
  return firstNotBefore(list, (it) => it.receivedAt < time);
}

/** Binary search: the first index whose item is not `before` (every `before` item comes first). */
function firstNotBefore(list: readonly IndexedItem[], before: (it: IndexedItem) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
