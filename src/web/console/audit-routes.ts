// The auditor's console: the audit search (time range in JST, actor, action,
// sender, recipient, verdict, object; newest first by time then seq, keyset
// paging from the seq a page ends at),
// CSV and JSON Lines export of exactly that search (streamed, recorded),
// chain verification started from the browser (in the background, one run at
// a time, start and result recorded) and the monthly 自己点検 report.
//
// Read-only: every route here is a GET but starting a verification, which
// changes nothing in the log but is recorded. What each role gets from each
// route is in the console's route table (test/web/route-table.ts).
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { exportChunks, type ExportFormat } from '../../audit/export.js';
import { jstTableOf } from '../../core/jst.js';
import { auditActions } from '../../model/audit-actions.js';
import type { AuditFilter, AuditKey, AuditRecord } from '../../store/types.js';
import type { Role } from '../../model/users.js';
import type { CurrentSession } from '../../users/sessions.js';
import { actionWord } from './action-words.js';
import { auditMessages, fill, verdictWord } from './audit-messages.js';
import { PAGE_SIZE, parseSearch, searchFields, searchQuery, type ParsedSearch, type SearchForm } from './audit-query.js';
import { PRINT_STYLESHEET, registerReportRoutes } from './audit-report-routes.js';
import { createVerifyRunner, type VerifyRunner } from './audit-verify-runner.js';
import { esc, shown, when } from './html.js';
import type { Kit } from './kit.js';
import type { Lang } from './messages.js';

export type { AuditorDeps } from './audit-verify-runner.js';

export const AUDITOR: readonly Role[] = ['auditor'];

/** Details shown in a cell: the stored JSON, cut short (the export has all of it). */
const DETAILS_SHOWN = 300;

interface Parsed {
  from: string;
  to: string;
  verdict: string;
}

function shownFields(r: AuditRecord): Parsed {
  try {
    const d = JSON.parse(r.details) as Record<string, unknown>;
    return {
      from: typeof d.from === 'string' ? d.from : '',
      to: Array.isArray(d.to) ? d.to.filter((x) => typeof x === 'string').join(', ') : '',
      verdict: typeof d.verdict === 'string' ? d.verdict : '',
    };
  } catch {
    return { from: '', to: '', verdict: '' };
  }
}

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The table's head per language, written once. */
const tableHeads: Record<Lang, string> = {
  ja: headOf('ja'),
  en: headOf('en'),
};
function headOf(lang: Lang): string {
  const c = auditMessages[lang].col;
  return `<table><thead><tr>${[c.seq, c.time, c.actor, c.action, c.object, c.from, c.to, c.verdict, c.details].map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n`;
}

/**
 * The search's rows as a table (what `table` writes, a row at a time): the
 * action in words, its verdict in words, everything a record holds escaped
 * as text, the details cut short (the export has all of them).
 */
function auditTable(rows: readonly AuditRecord[], lang: Lang): string {
  if (rows.length === 0) return `<p class="none">${esc(auditMessages[lang].none)}</p>`;
  let out = tableHeads[lang];
  for (const r of rows) {
    const f = shownFields(r);
    out += `<tr><td>${r.seq}</td><td>${shown(when(r.time, lang))}</td><td>${shown(r.actor)}</td><td>${actionCells[lang].get(r.action) ?? shown(r.action)}</td><td>${shown(r.object ?? '')}</td><td>${shown(f.from)}</td><td>${shown(f.to)}</td><td>${shown(verdictWord(f.verdict, lang))}</td><td>${shown(cut(r.details, DETAILS_SHOWN))}</td></tr>\n`;
  }
  return `${out}</tbody></table>`;
}

/** The links between the auditor's pages. */
export const auditNav = (lang: Lang): string => {
  const a = auditMessages[lang].nav;
  return `<nav class="no-print"><a href="/audit">${esc(a.search)}</a><a href="/audit/verify">${esc(a.verify)}</a><a href="/audit/report">${esc(a.report)}</a></nav>`;
};

/**
 * One page of a search, newest first (by time, then seq): `before`/`after`
 * name the seq of the record the page continues from, and its place in that
 * order is looked up. A seq that names no record pages from nothing.
 */
async function searchPage(k: Kit, p: ParsedSearch): Promise<{ rows: AuditRecord[]; newer: number | null; older: number | null }> {
  const limit = PAGE_SIZE + 1;
  const keyOf = async (seq: number): Promise<AuditKey | null> => {
    const [r] = seq >= 1 ? await k.d.store.readAudit(seq - 1, 1) : [];
    return r && r.seq === seq ? { time: r.time, seq } : null;
  };
  if (p.after !== undefined) {
    const key = await keyOf(p.after);
    if (!key) return { rows: [], newer: null, older: null };
    const got = await k.d.store.searchAudit({ ...p.filter, afterKey: key, order: 'oldest', limit });
    const more = got.length > PAGE_SIZE;
    const rows = got.slice(0, PAGE_SIZE).reverse();
    return { rows, newer: more && rows[0] ? rows[0].seq : null, older: rows.length ? (rows[rows.length - 1] as AuditRecord).seq : p.after };
  }
  let beforeKey: AuditKey | undefined;
  if (p.before !== undefined) {
    const key = await keyOf(p.before);
    if (!key) return { rows: [], newer: null, older: null };
    beforeKey = key;
  }
  const got = await k.d.store.searchAudit({ ...p.filter, ...(beforeKey ? { beforeKey } : {}), order: 'newest', limit });
  const rows = got.slice(0, PAGE_SIZE);
  const last = rows[rows.length - 1];
  return { rows, newer: beforeKey ? (rows[0]?.seq ?? beforeKey.seq) : null, older: got.length > PAGE_SIZE && last ? last.seq : null };
}

/** Each action in words, the code beside them (the code is what an export's action column holds), escaped once. */
const actionLabels: Record<Lang, Record<string, string>> = {
  ja: Object.fromEntries(auditActions.map((x) => [x, esc(`${actionWord(x, 'ja')} (${x})`)])),
  en: Object.fromEntries(auditActions.map((x) => [x, esc(`${actionWord(x, 'en')} (${x})`)])),
};
/** The action list's options, written once per language and per selected action ('' for none). */
const actionOptions: Record<Lang, ReadonlyMap<string, string>> = { ja: optionsOf('ja'), en: optionsOf('en') };
function optionsOf(lang: Lang): ReadonlyMap<string, string> {
  const written = (selected: string): string => auditActions.map((x) => `<option value="${x}"${selected === x ? ' selected' : ''}>${actionLabels[lang][x]}</option>`).join('');
  return new Map(['', ...auditActions].map((x) => [x, written(x)]));
}
/** Each action in words for a cell of the table, escaped once. */
const actionCells: Record<Lang, ReadonlyMap<string, string>> = {
  ja: new Map(auditActions.map((x) => [x, shown(actionWord(x, 'ja'))])),
  en: new Map(auditActions.map((x) => [x, shown(actionWord(x, 'en'))])),
};

function searchForm(lang: Lang, form: SearchForm): string {
  const a = auditMessages[lang];
  const text = (f: (typeof searchFields)[number], type = 'text'): string => `<label>${esc(a.field[f])}<input name="${f}" type="${type}" value="${esc(form[f] ?? '')}" maxlength="400"></label>`;
  const timeValue = (v: string | undefined): string => {
    if (!v) return '';
    // Keep what was typed when datetime-local cannot show it.
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v) ? v : v.replace(' ', 'T').slice(0, 16);
  };
  const options = actionOptions[lang].get(form.action ?? '') ?? actionOptions[lang].get('') ?? '';
  return `<form class="search no-print" method="get" action="/audit">
<label>${esc(a.field.since)}<input name="since" type="datetime-local" value="${esc(timeValue(form.since))}"></label>
<label>${esc(a.field.until)}<input name="until" type="datetime-local" value="${esc(timeValue(form.until))}"></label>
${text('actor')}
<label>${esc(a.field.action)}<select name="action"><option value="">${esc(a.anyAction)}</option>${options}</select></label>
${text('sender')}${text('recipient')}${text('verdict')}${text('object')}
<button type="submit">${esc(a.searchButton)}</button> <a href="/audit">${esc(a.clear)}</a>
</form>`;
}

/** The auditor's start page (`/`): the search, with the query the request carries. */
export type AuditorStartPage = (req: FastifyRequest, reply: FastifyReply, me: CurrentSession, lang: Lang) => Promise<FastifyReply>;

/** Registers the auditor's routes; returns the start page that `/` shows an auditor. */
export function registerAuditRoutes(c: FastifyInstance, k: Kit, csrfProtection: unknown): AuditorStartPage {
  const runner: VerifyRunner = createVerifyRunner(k.d.auditor);
  const guard = (req: FastifyRequest, reply: FastifyReply, lang: Lang): Promise<CurrentSession | FastifyReply> => k.signedIn(req, reply, lang, AUDITOR);

  const problemPage = (reply: FastifyReply, me: CurrentSession, lang: Lang, form: SearchForm, text: string): FastifyReply =>
    k.html(
      reply,
      400,
      lang,
      auditMessages[lang].searchHeading,
      `${k.header(reply, me, lang)}${auditNav(lang)}<h2>${esc(auditMessages[lang].searchHeading)}</h2><p class="error" role="alert">${esc(text)}</p>${searchForm(lang, form)}`,
    );

  const parsed = (req: FastifyRequest, reply: FastifyReply, me: CurrentSession, lang: Lang): ParsedSearch | FastifyReply => {
    const p = parseSearch((req.query ?? {}) as Record<string, unknown>);
    if ('kind' in p) {
      const a = auditMessages[lang];
      return problemPage(reply, me, lang, (req.query ?? {}) as SearchForm, fill(a.problem[p.kind], { field: a.field[p.field] }));
    }
    return p;
  };

  /** The search page: also the auditor's start page (`/`). */
  const search = async (req: FastifyRequest, reply: FastifyReply, me: CurrentSession, lang: Lang): Promise<FastifyReply> => {
    const a = auditMessages[lang];
    const p = parsed(req, reply, me, lang);
    if (!('filter' in p)) return p;
    const { rows, newer, older } = await searchPage(k, p);
    const q = searchQuery(p.form);
    const links = [
      newer !== null ? `<a href="/audit${searchQuery(p.form, { after: newer })}" rel="prev">${esc(a.newer)}</a>` : '',
      p.before !== undefined || p.after !== undefined ? `<a href="/audit${q}">${esc(a.newest)}</a>` : '',
      older !== null ? `<a href="/audit${searchQuery(p.form, { before: older })}" rel="next">${esc(a.older)}</a>` : '',
    ].filter(Boolean);
    const body = `${k.header(reply, me, lang)}${auditNav(lang)}
<h2>${esc(a.searchHeading)}</h2><p>${esc(a.searchHint)}</p>
${searchForm(lang, p.form)}
<p>${esc(fill(a.shown, { n: rows.length }))}</p>
<div class="audit-log">${auditTable(rows, lang)}</div>
${links.length ? `<nav class="pages">${links.join(' ')}</nav>` : ''}
<section><h3>${esc(a.exportHeading)}</h3><p>${esc(a.exportHint)}</p>
<p><a href="/audit/export.csv${q}" download>${esc(a.exportCsv)}</a> <a href="/audit/export.jsonl${q}" download>${esc(a.exportJsonl)}</a></p></section>`;
    return k.html(reply, 200, lang, `${a.searchHeading} - ${auditMessages[lang].nav.search}`, body);
  };

  c.get('/audit', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await guard(req, reply, lang);
    if (!('user' in me)) return me;
    return search(req, reply, me, lang);
  });

  const exportRoute = (format: ExportFormat) => async (req: FastifyRequest, reply: FastifyReply) => {
    const lang = k.langOf(req, reply);
    const me = await guard(req, reply, lang);
    if (!('user' in me)) return me;
    const p = parsed(req, reply, me, lang);
    if (!('filter' in p)) return p;
    const auditor = k.d.auditor;
    if (!auditor) return k.notice(reply, 503, lang, auditMessages[lang].verifyUnavailable);
    // Exactly the search shown, fixed at the head it starts from: its own record and later ones are not in it.
    const head = await k.d.store.head();
    const filter: AuditFilter = { ...p.filter, beforeSeq: head.seq + 1 };
    // Recorded before a byte leaves: an export that cannot be recorded does not happen.
    await auditor.audit.append({ actor: `console:${me.user.name}`, action: 'audit-exported', object: null, details: { format, search: p.form, upToSeq: head.seq, client: req.ip } });
    const stamp = jstTableOf(new Date().toISOString()).replace(/[/: ]/g, '').slice(0, 12);
    reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8').header('content-disposition', `attachment; filename="audit-${stamp}.${format}"`);
    return reply.send(Readable.from(exportChunks(k.d.store, filter, format, { headers: lang })));
  };
  c.get('/audit/export.csv', exportRoute('csv'));
  c.get('/audit/export.jsonl', exportRoute('jsonl'));

  const verifyPage = async (reply: FastifyReply, me: CurrentSession, lang: Lang, code: number, note?: { info?: string; error?: string }): Promise<FastifyReply> => {
    const a = auditMessages[lang];
    const running = runner.running();
    const [last] = await k.d.store.searchAudit({ actions: ['audit-verified'], order: 'newest', limit: 1 });
    let result = `<p>${esc(a.verifyNever)}</p>`;
    if (last) {
      const d = JSON.parse(last.details) as Record<string, unknown>;
      const time = when(last.time, lang);
      if (d.ok === true) {
        result = `<p class="notice" id="verify-result">${esc(fill(a.verifyOk, { time, records: String(d.records), checkpoints: String(d.checkpoints), actor: last.actor }))}</p>`;
      } else if (typeof d.error === 'string') {
        result = `<p class="error" id="verify-result">${esc(fill(a.verifyError, { time, error: d.error }))}</p>`;
      } else {
        result = `<p class="error" id="verify-result">${esc(fill(a.verifyBad, { time, seq: String(d.firstBadSeq), actor: last.actor }))}</p>${typeof d.problem === 'string' ? `<p>${esc(a.verifyDetails)}: ${esc(d.problem)}</p>` : ''}`;
      }
    }
    const form = !k.d.auditor?.verify
      ? `<p>${esc(a.verifyUnavailable)}</p>`
      : running
        ? `<p class="notice">${esc(fill(a.verifyRunning, { time: when(running.startedAt, lang), actor: running.actor }))}</p>`
        : `<form method="post" action="/audit/verify"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}"><button type="submit">${esc(a.verifyButton)}</button></form>`;
    const body = `${k.header(reply, me, lang)}${auditNav(lang)}
<h2>${esc(a.verifyHeading)}</h2><p>${esc(a.verifyHint)}</p>
${note?.info ? `<p class="notice" role="status">${esc(note.info)}</p>` : ''}${note?.error ? `<p class="error" role="alert">${esc(note.error)}</p>` : ''}
${result}
${form}`;
    return k.html(reply, code, lang, a.verifyHeading, body);
  };

  c.get('/audit/verify', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await guard(req, reply, lang);
    if (!('user' in me)) return me;
    const q = (req.query ?? {}) as { started?: string; busy?: string };
    const a = auditMessages[lang];
    return verifyPage(reply, me, lang, 200, q.started ? { info: a.verifyStarted } : q.busy ? { error: a.verifyBusy } : undefined);
  });

  c.post('/audit/verify', { preHandler: csrfProtection as never }, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await guard(req, reply, lang);
    if (!('user' in me)) return me;
    const r = await runner.start(`console:${me.user.name}`, req.ip);
    if (r === 'unavailable') return verifyPage(reply, me, lang, 503, { error: auditMessages[lang].verifyUnavailable });
    return reply.redirect(r === 'started' ? '/audit/verify?started=1' : '/audit/verify?busy=1', 303);
  });

  c.get('/audit/print.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(PRINT_STYLESHEET));
  registerReportRoutes(c, k, guard);
  c.addHook('onClose', async () => runner.idle());
  return search;
}
