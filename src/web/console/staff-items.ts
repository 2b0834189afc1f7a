// What a staff member may know of the quarantine: the items addressed to one
// of their own addresses (their mail address and the aliases an administrator
// recorded), with the sealed metadata opened through the vault, and never an
// original. Another's item reads exactly like one that does not exist.
import type { AttachmentRecord } from '../../core/ports.js';
import type { Finding } from '../../core/findings.js';
import { isQuarantineId } from '../../quarantine/ids.js';
import type { SubjectIndex } from '../../quarantine/subject-index.js';
import type { ItemSummary, Vault } from '../../quarantine/vault.js';
import type { AuditRecord, ItemRow, Store } from '../../store/types.js';

/**
 * How many of a staff member's newest items a search looks through when the
 * gateway's quarantine index (subject-index.ts) is not there or still loading.
 * The subject is sealed in each item's metadata, so such a search by subject
 * or header sender opens the metadata of every item it looks at; bounded here
 * so that a page stays fast. With the index loaded, the list and every search
 * read it: everything, with nothing to open or scan in the database.
 */
export const SEARCH_WINDOW = 1000;
export const PAGE_SIZE = 50;

export { ownAddresses } from '../../users/own-addresses.js';

/** What a list shows of an item: not its recipients (some may have been Bcc; `mine` has the viewer's own). */
export type ListedItem = Pick<ItemSummary, 'id' | 'receivedAt' | 'envelopeFrom' | 'findings' | 'state'>;

export interface OwnItem {
  item: ListedItem;
  /** Null when the metadata could not be opened (a key missing): the row is still listed. */
  subject: string | null;
  from: string | null;
  readable: boolean;
  /** Only the viewer's own addresses among the envelope recipients: never the others (Bcc). */
  mine: string[];
}

export interface OwnItemDetails extends OwnItem {
  item: ItemSummary;
  envelopeFrom: string | null;
  findings: readonly Finding[];
  /** Absent on items kept before attachments were recorded. */
  attachments: readonly AttachmentRecord[] | null;
}

export interface Search {
  since?: Date;
  before?: Date;
  sender?: string;
  subject?: string;
}

const fold = (s: string): string => s.normalize('NFKC').toLowerCase();

async function opened(vault: Vault, row: ItemRow, own: readonly string[]): Promise<OwnItemDetails> {
  const { wrappedKey: _w, sealedMeta: _s, ...item } = row;
  const mine = item.recipients.filter((r) => own.includes(r.toLowerCase()));
  try {
    const { meta } = await vault.open(row);
    return { item, subject: meta.subject, from: meta.from, envelopeFrom: meta.envelopeFrom, readable: true, mine, findings: meta.findings, attachments: meta.attachments ?? null };
  } catch {
    return { item, subject: null, from: null, envelopeFrom: item.envelopeFrom, readable: false, mine, findings: [], attachments: null };
  }
}

/**
 * One page of the user's items matching `search`, newest first: from the
 * quarantine index when it is loaded (all of them), otherwise among their
 * newest SEARCH_WINDOW in the date range, read from the store (without a
 * sender or subject to match, only the page's rows are opened).
 */
export async function searchOwnItems(
  vault: Vault,
  own: readonly string[],
  search: Search,
  page: number,
  index?: Pick<SubjectIndex, 'ready' | 'search'>,
): Promise<{ items: OwnItem[]; total: number; bounded: boolean }> {
  if (own.length === 0) return { items: [], total: 0, bounded: false };
  // Not while it loads: a list must not wait for every item of the quarantine to be decrypted.
  if (index?.ready) {
    const found = await index.search({
      recipientAny: own,
      since: search.since,
      until: search.before,
      sender: search.sender,
      subject: search.subject,
      offset: (page - 1) * PAGE_SIZE,
      limit: PAGE_SIZE,
    });
    const items = found.rows.map(({ id, receivedAt, envelopeFrom, recipients, findings, state, subject, from, readable }) => ({
      item: { id, receivedAt, envelopeFrom, findings: [...findings], state },
      subject,
      from: from ?? envelopeFrom,
      readable,
      mine: recipients.filter((r) => own.includes(r.toLowerCase())),
    }));
    return { items, total: found.total, bounded: false };
  }
  const rows = await vault.store.listItems({ recipientAny: own, receivedSince: search.since, receivedBefore: search.before, newestFirst: true, limit: SEARCH_WINDOW });
  const bounded = rows.length >= SEARCH_WINDOW;
  const sender = search.sender ? fold(search.sender) : null;
  const subject = search.subject ? fold(search.subject) : null;
  const slice = <T>(all: T[]): T[] => all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const brief = (o: OwnItemDetails): OwnItem => ({ item: o.item, subject: o.subject, from: o.from ?? o.envelopeFrom, readable: o.readable, mine: o.mine });
  if (!sender && !subject) {
    const items: OwnItem[] = [];
    for (const row of slice(rows)) items.push(brief(await opened(vault, row, own)));
    return { items, total: rows.length, bounded };
  }
  const out: OwnItem[] = [];
  for (const row of rows) {
    const o = await opened(vault, row, own);
    if (sender && ![o.from, o.envelopeFrom].some((f) => f && fold(f).includes(sender))) continue;
    if (subject && !(o.subject && fold(o.subject).includes(subject))) continue;
    out.push(brief(o));
  }
  return { items: slice(out), total: out.length, bounded };
}

/** The item if it is addressed to one of `own`; null for a forged id, a missing item and another's alike. */
export async function ownItem(vault: Vault, own: readonly string[], id: string): Promise<OwnItemDetails | null> {
  if (!isQuarantineId(id) || own.length === 0) return null;
  const row = await vault.store.getItem(id);
  if (!row || !row.recipients.some((r) => own.includes(r.toLowerCase()))) return null;
  return opened(vault, row, own);
}

const RELEASE_ACTIONS = ['release-requested', 'release-approved', 'release-rejected', 'release-delivered', 'release-failed'] as const;

/** The release steps of an item, oldest first. */
export const releaseHistory = (store: Store, id: string): Promise<AuditRecord[]> => store.searchAudit({ objects: [id], actions: RELEASE_ACTIONS });
