// The staff pages: the list of their own quarantined mail (the start page),
// searchable by date, sender and subject; an item's page, saying in plain
// words what was changed and why (the notice's sentences, labels.ts), with
// its attachments and what became of each; and the release request, with a
// required reason, through the workflow (audited with the reason).
//
// Privacy: an item is shown only when it was addressed to one of the user's
// own addresses; any other id (forged, missing, another's) gets the same 404
// page. Of the envelope recipients only the user's own are shown (the others
// may have been Bcc), and the history names no other recipient. Nothing here
// reads an original. Every value from a mail is escaped (and its hidden
// characters shown) and, in lists, shortened.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FindingCode } from '../../core/findings.js';
import type { FileKind } from '../../core/file-kinds.js';
import { labelsFor } from '../../core/labels.js';
import type { AttachmentRecord } from '../../core/ports.js';
import type { AuditRecord } from '../../store/types.js';
import type { CurrentSession } from '../../users/sessions.js';
import { esc, Raw, shown, table, when } from './html.js';
import type { Kit } from './kit.js';
import { messages, type Lang } from './messages.js';
import { staffMessages } from './staff-messages.js';
import { ownAddresses, ownItem, PAGE_SIZE, releaseHistory, SEARCH_WINDOW, searchOwnItems, type OwnItemDetails, type Search } from './staff-items.js';

const MAX_REASON = 1000;
/** What a list shows of a subject or sender; the item page shows up to MAX_SHOWN. */
const LIST_CHARS = 80;
const MAX_SHOWN = 2000;
const DAY_MS = 86_400_000;
/** The last page a list offers: a million items (the index lists everything; the store's window ends sooner). */
const MAX_PAGE = Math.ceil(1_000_000 / PAGE_SIZE);

/** At most `n` characters (code points, so no surrogate is split), with an ellipsis when cut. */
export const shorten = (s: string, n: number): string => {
  // No more UTF-16 units than n: no more characters either (most texts; no array of them made).
  if (s.length <= n) return s;
  const chars = Array.from(s);
  return chars.length > n ? `${chars.slice(0, n).join('')}…` : s;
};

const one = (v: unknown): string => (typeof v === 'string' ? v : '');
const queryOf = (req: FastifyRequest): Record<string, unknown> => (req.query as Record<string, unknown> | undefined) ?? {};

/** A date as a clerk types it (JST), or undefined; `null` when it is not a date. */
function jstDay(v: string, end: boolean): Date | undefined | null {
  if (v === '') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return null;
  const t = Date.parse(`${v}T00:00:00+09:00`);
  return Number.isNaN(t) ? null : new Date(end ? t + DAY_MS : t);
}

const CHANGE_CODES_TO_UNLOCK: readonly FindingCode[] = ['archive-encrypted', 'document-encrypted'];

export function registerStaffRoutes(c: FastifyInstance, k: Kit, csrfProtection: unknown): void {
  const pre = { preHandler: csrfProtection as never };

  const notFound = (reply: FastifyReply, me: CurrentSession, lang: Lang): FastifyReply =>
    k.html(
      reply,
      404,
      lang,
      messages[lang].title,
      `${k.header(reply, me, lang)}<p class="error" role="alert">${esc(staffMessages[lang].notFound)}</p><p><a href="/">${esc(staffMessages[lang].backToList)}</a></p>`,
    );

  c.get('/items', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['staff']);
    if (!('user' in me)) return me;
    return staffListPage(k, req, reply, me, lang);
  });

  c.get('/items/:id', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['staff']);
    if (!('user' in me)) return me;
    const id = one((req.params as { id?: unknown }).id);
    const it = await ownItem(k.d.vault, ownAddresses(me.user), id);
    if (!it) return notFound(reply, me, lang);
    const q = queryOf(req);
    return itemPage(reply, me, lang, it, 200, one(q.requested) === '1' ? { info: staffMessages[lang].requested } : undefined);
  });

  c.post('/items/:id/request', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['staff']);
    if (!('user' in me)) return me;
    const w = staffMessages[lang];
    const id = one((req.params as { id?: unknown }).id);
    const it = await ownItem(k.d.vault, ownAddresses(me.user), id);
    if (!it) return notFound(reply, me, lang);
    const reason = one((req.body as Record<string, unknown> | undefined)?.reason).trim();
    if (reason === '') return itemPage(reply, me, lang, it, 400, { error: w.reasonMissing });
    if (Array.from(reason).length > MAX_REASON) return itemPage(reply, me, lang, it, 400, { error: w.reasonTooLong });
    if (it.item.state !== 'held') return itemPage(reply, me, lang, it, 409, { error: w.notRequestable.replace('{state}', messages[lang].state[it.item.state]) });
    try {
      await k.d.workflow.request(id, `console:${me.user.name}`, reason);
    } catch (err) {
      if (!(err instanceof Error && err.name === 'QuarantineWorkflowError')) throw err;
      const now = await ownItem(k.d.vault, ownAddresses(me.user), id);
      return itemPage(reply, me, lang, now ?? it, 409, { error: w.notRequestable.replace('{state}', messages[lang].state[(now ?? it).item.state]) });
    }
    return reply.redirect(`/items/${id}?requested=1`, 303);
  });

  async function itemPage(reply: FastifyReply, me: CurrentSession, lang: Lang, it: OwnItemDetails, code: number, note?: { error?: string; info?: string }): Promise<FastifyReply> {
    const m = messages[lang];
    const w = staffMessages[lang];
    const labels = labelsFor(lang);
    const id = it.item.id;
    const say = (code: FindingCode, inAttachment: boolean): string => (inAttachment ? labels.findingInAttachment[code] : undefined) ?? labels.finding[code] ?? code;
    // What was done to the message and to its attachments, each sentence once (the table below says which file).
    const said = [...new Set(it.findings.map((f) => say(f.code, f.attachment !== undefined)))];
    const changes = said.length > 0 ? `<ul>${said.map((line) => `<li>${esc(line)}</li>`).join('')}</ul>` : `<p>${esc(w.noChanges)}</p>`;
    const attachments = attachmentTable(lang, it.attachments, it);
    const codes = new Set(it.findings.map((f) => f.code));
    const unlock = CHANGE_CODES_TO_UNLOCK.some((c) => codes.has(c))
      ? `<section><h3>${esc(w.unlockHeading)}</h3><p>${esc(w.unlockHint)}</p><p><a href="/items/${esc(id)}/unlock">${esc(w.unlockLink)}</a></p></section>`
      : '';
    const danger = (['executable', 'script', 'name-bidi-control', 'document-macro', 'link-text-mismatch'] as string[]).some((c) => codes.has(c as FindingCode))
      ? `<p class="error">${esc(w.dangerHint)}</p>`
      : '';
    const history = historyTable(lang, await releaseHistory(k.d.store, id), me);
    const request =
      it.item.state === 'held'
        ? `<form method="post" action="/items/${esc(id)}/request" class="login">
<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">
<label>${esc(w.reason)}<textarea name="reason" rows="4" cols="60" maxlength="${MAX_REASON}" required></textarea></label>
<button type="submit">${esc(w.requestButton)}</button></form>`
        : `<p>${esc(m.state[it.item.state])}</p>`;
    const subject = it.readable ? (it.subject ? shorten(it.subject, MAX_SHOWN) : w.noSubject) : w.unreadable;
    const facts: [string, string][] = [
      [w.id, shown(id)],
      [w.received, esc(when(it.item.receivedAt, lang))],
      [w.subject, shown(subject)],
      [w.headerFrom, shown(shorten(it.from ?? '', MAX_SHOWN))],
      [w.envelopeFrom, shown(shorten(it.envelopeFrom ?? '<>', MAX_SHOWN))],
      [w.yourAddress, shown(it.mine.join(', '))],
      [w.state, esc(m.state[it.item.state])],
    ];
    const body = `${k.header(reply, me, lang)}
<p><a href="/">${esc(w.backToList)}</a></p>
<h2>${esc(w.itemHeading)}</h2>
${note?.error ? `<p class="error" role="alert">${esc(note.error)}</p>` : ''}${note?.info ? `<p class="notice" role="status">${esc(note.info)}</p>` : ''}
<table class="facts"><tbody>${facts.map(([k2, v]) => `<tr><th>${esc(k2)}</th><td>${v}</td></tr>`).join('')}</tbody></table>
${it.item.state === 'expired' ? `<p>${esc(w.expiredNote)}</p>` : ''}
${danger}
<section><h3>${esc(w.changesHeading)}</h3>${changes}</section>
<section><h3>${esc(w.attachmentsHeading)}</h3>${attachments}</section>
${unlock}
<section><h3>${esc(w.requestHeading)}</h3><p>${esc(w.requestHint)}</p>${request}</section>
<section><h3>${esc(w.historyHeading)}</h3>${history}</section>`;
    return k.html(reply, code, lang, `${w.itemHeading} ${id}`, body);
  }

  function attachmentTable(lang: Lang, records: readonly AttachmentRecord[] | null, it: OwnItemDetails): string {
    const w = staffMessages[lang];
    const labels = labelsFor(lang);
    if (records === null) return `<p>${esc(w.attachmentsUnknown)}</p>`;
    if (records.length === 0) return `<p>${esc(w.noAttachments)}</p>`;
    const rows = records.map((a) => {
      const said = [...new Map(it.findings.filter((f) => f.attachment === a.index).map((f) => [f.code, f])).values()].map(
        (f) => labels.findingInAttachment[f.code] ?? labels.finding[f.code] ?? f.code,
      );
      const fate = a.outcome === 'delivered' ? (a.deliveredAs ? w.outcome.delivered.replace('{name}', a.deliveredAs) : w.outcome.deliveredPlain) : w.outcome[a.outcome];
      const name = `${a.parent !== null ? `${w.att.inside.replace('{n}', String(a.parent))} ` : ''}${shorten(a.name, 200)}`;
      // The finding's sentence already says what was done ("…削除しました。"): the bare fate is added only when it says more.
      const outcome = said.some((line) => line.endsWith(fate)) ? said : [...said, fate];
      return [`${a.index}. ${name}`, labels.kind[a.fileKind as FileKind] ?? a.fileKind, sizeOf(a.size), new Raw(`<code>${esc(a.sha256)}</code>`), outcome.join(' ')];
    });
    return table([w.att.name, w.att.kind, w.att.size, w.att.sha256, w.att.outcome], rows, w.noAttachments);
  }

  function historyTable(lang: Lang, records: AuditRecord[], me: CurrentSession): string {
    const w = staffMessages[lang];
    const self = `console:${me.user.name}`;
    const rows = records.map((r) => {
      const details = JSON.parse(r.details) as { reason?: unknown };
      const mine = r.actor === self;
      // Another recipient's request names neither them nor their reason: they may have been Bcc.
      const who = mine ? w.you : r.action === 'release-requested' ? w.otherRecipient : w.admin;
      const reason = (mine || r.action === 'release-rejected') && typeof details.reason === 'string' ? shorten(details.reason, MAX_REASON) : '';
      return [when(r.time, lang), w.action[r.action] ?? r.action, who, reason];
    });
    return table([w.hist.time, w.hist.what, w.hist.who, w.hist.reason], rows, w.noHistory);
  }
}

const sizeOf = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`);

/** The staff start page: their own items, newest first, filtered and paged. */
export async function staffListPage(k: Kit, req: FastifyRequest, reply: FastifyReply, me: CurrentSession, lang: Lang): Promise<FastifyReply> {
  const m = messages[lang];
  const w = staffMessages[lang];
  const head = k.header(reply, me, lang);
  const own = ownAddresses(me.user);
  if (own.length === 0) return k.html(reply, 200, lang, m.title, `${head}<p class="error">${esc(w.noEmail)}</p>`);
  const q = queryOf(req);
  const form = { since: one(q.since).trim(), until: one(q.until).trim(), sender: shorten(one(q.sender).trim(), 200), subject: shorten(one(q.subject).trim(), 200) };
  const since = jstDay(form.since, false);
  const before = jstDay(form.until, true);
  const pageNo = Math.max(1, Math.min(Math.floor(Number(one(q.page)) || 1), MAX_PAGE));
  const search: Search = { since: since ?? undefined, before: before ?? undefined, sender: form.sender || undefined, subject: form.subject || undefined };
  const bad = since === null || before === null;
  const { items: shownItems, total, bounded } = bad ? { items: [], total: 0, bounded: false } : await searchOwnItems(k.d.vault, own, search, pageNo, k.d.admin?.subjects);
  const labels = labelsFor(lang);
  const rows = shownItems.map((i) => {
    const subject = i.readable ? (i.subject ? shorten(i.subject, LIST_CHARS) : w.noSubject) : w.unreadable;
    const changes = [...new Set(i.item.findings)].slice(0, 3).map((c) => shorten(labels.finding[c as FindingCode] ?? c, 40));
    return [when(i.item.receivedAt, lang), shorten(i.from ?? '<>', LIST_CHARS), new Raw(`<a href="/items/${esc(i.item.id)}">${shown(subject)}</a>`), changes.join(' / '), m.state[i.item.state]];
  });
  const input = (name: keyof typeof form, label: string, type: string): string => `<label>${esc(label)}<input type="${type}" name="${name}" value="${esc(form[name])}" maxlength="200"></label>`;
  const params = (p: number): string => `/?${new URLSearchParams({ ...Object.fromEntries(Object.entries(form).filter(([, v]) => v !== '')), page: String(p) }).toString()}`;
  const paging = [pageNo > 1 ? `<a href="${esc(params(pageNo - 1))}">${esc(w.prev)}</a>` : '', total > pageNo * PAGE_SIZE ? `<a href="${esc(params(pageNo + 1))}">${esc(w.next)}</a>` : '']
    .filter(Boolean)
    .join(' ');
  const body = `${head}
<h2>${esc(w.listHeading)}</h2>
<p>${esc(w.listHint)}</p>
<form method="get" action="/" class="search"><fieldset><legend>${esc(w.searchHeading)}</legend>
${input('since', w.since, 'date')}${input('until', w.until, 'date')}${input('sender', w.sender, 'text')}${input('subject', w.subject, 'text')}
<button type="submit">${esc(w.searchButton)}</button> <a href="/">${esc(w.clear)}</a></fieldset></form>
${bad ? `<p class="error" role="alert">${esc(w.badDate)}</p>` : ''}
${bounded ? `<p>${esc(w.bounded.replace('{n}', String(SEARCH_WINDOW)))}</p>` : ''}
<p>${esc(w.found.replace('{n}', String(total)))}</p>
${table([w.col.received, w.col.from, w.col.subject, w.col.findings, w.col.state], rows, w.none)}
${paging ? `<nav>${paging}</nav>` : ''}`;
  return k.html(reply, bad ? 400 : 200, lang, m.title, body);
}
