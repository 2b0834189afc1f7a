// Search over every quarantined item by date, sender, recipient, subject,
// finding and state, paged, newest first. The subject is sealed in the
// database: the search reads the in-memory index (src/quarantine/subject-index.ts).
import { findingWord, findingWords } from './finding-words.js';
import type { FastifyInstance } from 'fastify';
import { findingCodes } from '../../core/findings.js';
import { itemStates, type ItemState } from '../../model/item-states.js';
import type { AdminDeps } from './admin-deps.js';
import { adminMessages } from './admin-messages.js';
import { adminPage } from './admin-routes.js';
import { esc, Raw, table, when } from './html.js';
import type { Kit } from './kit.js';
import { messages } from './messages.js';

const PAGE = 50;
const str = (v: unknown, max = 200): string => (typeof v === 'string' ? v.slice(0, max).trim() : '');
/** A date (YYYY-MM-DD) as the start of that day in JST. */
const jstDay = (v: string): Date | undefined => (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00+09:00`)) ? new Date(`${v}T00:00:00+09:00`) : undefined);

export function registerAdminSearch(c: FastifyInstance, k: Kit, a: AdminDeps): void {
  c.get('/admin/search', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const w = adminMessages[lang];
    const m = messages[lang];
    const q = req.query as Record<string, unknown>;
    const f = { since: str(q.since, 10), until: str(q.until, 10), sender: str(q.sender), recipient: str(q.recipient), subject: str(q.subject), finding: str(q.finding, 64), state: str(q.state, 32) };
    const page = Math.max(0, Math.min(100_000, Number.parseInt(str(q.page, 6) || '0', 10) || 0));
    const until = jstDay(f.until);
    const result = await a.subjects.search({
      since: jstDay(f.since),
      until: until ? new Date(until.getTime() + 86_400_000) : undefined,
      sender: f.sender || undefined,
      recipient: f.recipient || undefined,
      subject: f.subject || undefined,
      finding: (findingCodes as readonly string[]).includes(f.finding) ? f.finding : undefined,
      state: (itemStates as readonly string[]).includes(f.state) ? (f.state as ItemState) : undefined,
      offset: page * PAGE,
      limit: PAGE,
    });
    const input = (name: keyof typeof f, label: string, type = 'text'): string => `<label>${esc(label)}<input name="${name}" type="${type}" value="${esc(f[name])}"></label>`;
    const select = (name: 'finding' | 'state', label: string, options: readonly (readonly [string, string])[]): string =>
      `<label>${esc(label)}<select name="${name}"><option value="">${esc(w.any)}</option>${options.map(([v, t]) => `<option value="${esc(v)}"${f[name] === v ? ' selected' : ''}>${esc(t)}</option>`).join('')}</select></label>`;
    const form = `<form class="search" method="get" action="/admin/search">${input('since', w.since, 'date')}${input('until', w.until, 'date')}${input('sender', w.sender)}${input('recipient', w.recipient)}${input('subject', w.subject)}
${select(
  'finding',
  w.finding,
  findingCodes.map((c) => [c, findingWord(c, lang)] as const),
)}${select(
      'state',
      w.state,
      itemStates.map((s) => [s, m.state[s]] as const),
    )}<button type="submit">${esc(w.searchButton)}</button></form>`;
    const rows = result.rows.map((i) => [
      new Raw(`<a href="/admin/items/${esc(i.id)}">${esc(i.id)}</a>`),
      when(i.receivedAt, lang),
      i.subject ?? '',
      i.from ?? i.envelopeFrom ?? '<>',
      i.recipients.join(', '),
      findingWords(i.findings, lang),
      m.state[i.state],
    ]);
    const params = (p: number): string => `/admin/search?${new URLSearchParams({ ...f, page: String(p) }).toString()}`;
    const pager = `<p>${esc(w.found(result.total))}${page > 0 ? ` <a href="${esc(params(page - 1))}">${esc(w.prev)}</a>` : ''}${(page + 1) * PAGE < result.total ? ` <a href="${esc(params(page + 1))}">${esc(w.next)}</a>` : ''}</p>`;
    return adminPage(k, reply, me, lang, 200, w.searchHeading, `${form}${pager}${table([m.col.id, m.col.received, w.subject, m.col.from, m.col.to, m.col.findings, m.col.state], rows, m.none)}`);
  });
}
