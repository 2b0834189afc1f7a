// The auditor's search as a query string: what the form sends, checked and
// turned into an AuditFilter, and back into links (the next page, the
// export of the same search). Times are entered as Japan reads them (JST,
// whatever the server's zone). A value that is no time, no action or too
// long is an error the page names, never a search for something else.
import { jstMidnight } from '../../core/jst.js';
import { auditActions, type AuditAction } from '../../model/audit-actions.js';
import type { AuditFilter } from '../../store/types.js';

/** The fields of the search form, as the query string carries them. */
export const searchFields = ['since', 'until', 'actor', 'action', 'sender', 'recipient', 'verdict', 'object'] as const;
export type SearchField = (typeof searchFields)[number];
export type SearchForm = Partial<Record<SearchField, string>>;

/** Records a page shows. */
export const PAGE_SIZE = 100;
/** The longest value a field takes (an address is at most 320 characters). */
const MAX_FIELD = 400;

export type SearchProblem = { field: SearchField; kind: 'time' | 'action' | 'too-long' | 'range' };

export interface ParsedSearch {
  form: SearchForm;
  filter: AuditFilter;
  /** Keyset paging: records below this seq (older), or above it (newer); neither is the newest page. */
  before?: number;
  after?: number;
}

const JST_MS = 9 * 3600_000;

/**
 * "2026-11-26T10:05", "2026-11-26T10:05:30", "2026-11-26 10:05" or "2026-11-26"
 * read as JST; null when it is none of these or no real time.
 */
export function parseJst(text: string): Date | null {
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1) as (string | undefined)[];
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - JST_MS;
  const back = new Date(t + JST_MS);
  // 2026-02-30 or 25:00 roll over in Date.UTC: refuse them.
  if (back.getUTCFullYear() !== Number(y) || back.getUTCMonth() !== Number(mo) - 1 || back.getUTCDate() !== Number(d) || back.getUTCHours() !== Number(h) || back.getUTCMinutes() !== Number(mi))
    return null;
  return new Date(t);
}

/** A date given alone as the end of a range means the whole of that day. */
const endOf = (text: string, t: Date): Date => (/^\d{4}[-/]\d{2}[-/]\d{2}$/.test(text.trim()) ? new Date(t.getTime() + 86_400_000) : t);

/** The value as datetime-local shows it (JST), for the form to keep what was searched. */
export const jstInput = (d: Date): string => new Date(d.getTime() + JST_MS).toISOString().slice(0, 16);

const one = (v: unknown): string | undefined => {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
};

const cursor = (v: unknown): number | undefined => {
  const s = one(v);
  if (s === undefined || !/^\d{1,15}$/.test(s)) return undefined;
  return Number(s);
};

/** The search a query string asks for, or the first thing wrong with it. */
export function parseSearch(query: Record<string, unknown>): ParsedSearch | SearchProblem {
  const form: SearchForm = {};
  for (const f of searchFields) {
    const v = one(query[f]);
    if (v === undefined) continue;
    if (v.length > MAX_FIELD) return { field: f, kind: 'too-long' };
    form[f] = v;
  }
  const filter: AuditFilter = {};
  if (form.since) {
    const t = parseJst(form.since);
    if (!t) return { field: 'since', kind: 'time' };
    filter.since = t;
  }
  if (form.until) {
    const t = parseJst(form.until);
    if (!t) return { field: 'until', kind: 'time' };
    filter.until = endOf(form.until, t);
  }
  if (filter.since && filter.until && filter.since >= filter.until) return { field: 'until', kind: 'range' };
  if (form.action) {
    if (!(auditActions as readonly string[]).includes(form.action)) return { field: 'action', kind: 'action' };
    filter.actions = [form.action as AuditAction];
  }
  if (form.actor) filter.actor = form.actor;
  if (form.sender) filter.sender = form.sender;
  if (form.recipient) filter.recipient = form.recipient;
  if (form.verdict) filter.verdict = form.verdict;
  if (form.object) filter.objects = [form.object];
  return { form, filter, before: cursor(query.before), after: cursor(query.after) };
}

/** The query string of a search (and a page of it): what links to it carry. */
export function searchQuery(form: SearchForm, page: { before?: number; after?: number } = {}): string {
  const q = new URLSearchParams();
  for (const f of searchFields) if (form[f]) q.set(f, form[f] as string);
  if (page.before !== undefined) q.set('before', String(page.before));
  if (page.after !== undefined) q.set('after', String(page.after));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A calendar month in JST: "2026-11" to its first instant and the first of the next. */
export function parseMonth(text: unknown): { label: string; since: Date; until: Date } | null {
  const m = typeof text === 'string' ? /^(\d{4})-(\d{2})$/.exec(text.trim()) : null;
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12 || y < 2000 || y > 9999) return null;
  return { label: `${m[1]}-${m[2]}`, since: jstMidnight(y, mo, 1), until: mo === 12 ? jstMidnight(y + 1, 1, 1) : jstMidnight(y, mo + 1, 1) };
}

/** The month (JST) a time falls in, "2026-11". */
export const monthOf = (d: Date): string => new Date(d.getTime() + JST_MS).toISOString().slice(0, 7);
