// The monthly 自己点検 report as a page to print (a print stylesheet, no
// script) and as a CSV for Excel (UTF-8 with BOM, formulas kept as text).
import { findingWord } from './finding-words.js';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { excelSafe } from '../../audit/export.js';
import { visible } from '../../audit/visible.js';
import { jstTableOf } from '../../core/jst.js';
import type { CurrentSession } from '../../users/sessions.js';
import { actionWord } from './action-words.js';
import { auditMessages, fill, verdictWord } from './audit-messages.js';
import { monthOf, parseMonth } from './audit-query.js';
import { monthlyReport, type EventRow, type MonthlyReport } from './audit-report.js';
import { esc, table } from './html.js';
import type { Kit } from './kit.js';
import type { Lang } from './messages.js';

/** The relay's verdict words, mildest first: the order of verdicts met as often. */
const VERDICT_ORDER = ['clean', 'sanitized', 'blocked', 'rejected'];
const rank = (v: string): number => (VERDICT_ORDER.includes(v) ? VERDICT_ORDER.indexOf(v) : VERDICT_ORDER.length);
/** Verdicts, the most frequent first (then mildest first, then by name): the same order on every run. */
const byCount = (m: ReadonlyMap<string, number>): [string, number][] => [...m].sort((x, y) => y[1] - x[1] || rank(x[0]) - rank(y[0]) || x[0].localeCompare(y[0]));

export const PRINT_STYLESHEET = `
.report table { width: 100%; }
.report td { vertical-align: top; word-break: break-all; }
.report .num { text-align: right; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; font-size: 9.5pt; color: #000; }
  header, nav, form, .no-print { display: none !important; }
  a { color: inherit; text-decoration: none; }
  h2, h3 { break-after: avoid; }
  tr { break-inside: avoid; }
  th, td { border-color: #888; }
}
`;

type Guard = (req: FastifyRequest, reply: FastifyReply, lang: Lang) => Promise<CurrentSession | FastifyReply>;

const hm = (ms: number | null, lang: Lang): string => {
  if (ms === null || ms < 0) return '';
  const minutes = Math.round(ms / 60_000);
  return fill(auditMessages[lang].minutes, { h: Math.floor(minutes / 60), m: minutes % 60 });
};

const brief = (d: Record<string, unknown>): string => {
  const s = JSON.stringify(d);
  return s === '{}' ? '' : s.length > 400 ? `${s.slice(0, 400)}…` : s;
};

const verificationText = (e: EventRow, lang: Lang): string => {
  const a = auditMessages[lang];
  if (e.details.ok === true) return a.chainOk;
  if (typeof e.details.error === 'string') return fill(a.verifyError, { time: jstTableOf(e.time), error: e.details.error });
  return fill(a.chainBad, { seq: String(e.details.firstBadSeq) });
};

/** Every row of the report, as the CSV has them: [section, item, count, time, actor, object, details]. */
export function reportRows(r: MonthlyReport, lang: Lang): string[][] {
  const a = auditMessages[lang];
  const s = a.section;
  const rows: string[][] = [];
  const ev = (section: string, e: EventRow, item: string = actionWord(e.action, lang)): string[] => [section, item, '', jstTableOf(e.time), e.actor, e.object ?? '', brief(e.details)];
  for (const [v, n] of byCount(r.verdicts)) rows.push([s.verdicts, verdictWord(v, lang), String(n), '', '', '', v]);
  rows.push([s.verdicts, a.total, String(r.messages), '', '', '', '']);
  for (const [f, n] of [...r.findings].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))) rows.push([s.findings, f, String(n), '', '', '', '']);
  for (const x of r.releases) {
    rows.push([
      s.releases,
      a.decision[x.decision],
      '',
      x.requestedAt ? jstTableOf(x.requestedAt) : '',
      x.requester ?? '',
      x.item,
      [
        `${a.releaseCol.reason}: ${x.reason ?? ''}`,
        `${a.releaseCol.approvers}: ${x.deciders.join(', ')}`,
        `${a.releaseCol.decided}: ${x.decidedAt ? jstTableOf(x.decidedAt) : ''}`,
        `${a.releaseCol.comment}: ${x.comment ?? ''}`,
        `${a.releaseCol.wait}: ${hm(x.waitMs, lang)}`,
      ].join(' / '),
    ]);
  }
  for (const e of r.adminActions) rows.push(ev(s.admin, e));
  rows.push([s.logins, a.loginCol.failures, String(r.logins.failures), '', '', '', '']);
  rows.push([s.logins, a.loginCol.summarised, String(r.logins.summarised), '', '', '', '']);
  rows.push([s.logins, a.loginCol.lockouts, String(r.logins.lockouts), '', '', '', r.logins.lockedUsers.join(', ')]);
  for (const e of r.policyChanges) rows.push(ev(s.policy, e));
  for (const e of r.verifications) rows.push(ev(s.chain, e, verificationText(e, lang)));
  if (r.latestVerification) rows.push(ev(s.chain, r.latestVerification, fill(a.chainLatest, { result: verificationText(r.latestVerification, lang), time: jstTableOf(r.latestVerification.time) })));
  return rows;
}

export function reportCsv(r: MonthlyReport, lang: Lang): string {
  const cells = reportRows(r, lang).map((row) => row.map((c) => excelSafe(visible(c))));
  return `\uFEFF${stringify([auditMessages[lang].csvHead, ...cells], { record_delimiter: 'windows' })}`;
}

function reportHtml(r: MonthlyReport, lang: Lang, madeBy: string): string {
  const a = auditMessages[lang];
  const s = a.section;
  const events = (list: EventRow[]): string =>
    table(
      [a.adminCol.time, a.adminCol.actor, a.adminCol.action, a.adminCol.object, a.adminCol.details],
      list.map((e) => [jstTableOf(e.time), e.actor, actionWord(e.action, lang), e.object ?? '', brief(e.details)]),
      a.none,
    );
  const verdictRows = byCount(r.verdicts).map(([v, n]) => [verdictWord(v, lang), n]);
  return `<article class="report">
<h2>${esc(fill(a.reportTitle, { month: r.month }))}</h2>
<p>${esc(fill(a.reportPeriod, { since: jstTableOf(r.since.toISOString()), until: jstTableOf(r.until.toISOString()) }))}</p>
<p>${esc(fill(a.reportMade, { time: jstTableOf(new Date().toISOString()), actor: madeBy }))}</p>
<section><h3>${esc(s.verdicts)}</h3>${table([a.col.verdict, a.count], [...verdictRows, [a.total, r.messages]], a.none)}</section>
<section><h3>${esc(s.findings)}</h3>${table(
    [a.col.details, a.count],
    [...r.findings].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([f, n]) => [`${findingWord(f, lang)} (${f})`, n]),
    a.none,
  )}</section>
<section><h3>${esc(s.releases)}</h3>${table(
    [
      a.releaseCol.item,
      a.releaseCol.requested,
      a.releaseCol.requester,
      a.releaseCol.reason,
      a.releaseCol.decision,
      a.releaseCol.approvers,
      a.releaseCol.decided,
      a.releaseCol.comment,
      a.releaseCol.wait,
    ],
    r.releases.map((x) => [
      x.item,
      x.requestedAt ? jstTableOf(x.requestedAt) : '',
      x.requester ?? '',
      x.reason ?? '',
      a.decision[x.decision],
      x.deciders.join(', '),
      x.decidedAt ? jstTableOf(x.decidedAt) : '',
      x.comment ?? '',
      hm(x.waitMs, lang),
    ]),
    a.none,
  )}</section>
<section><h3>${esc(s.admin)}</h3>${events(r.adminActions)}</section>
<section><h3>${esc(s.logins)}</h3>${table(
    [a.loginCol.failures, a.loginCol.summarised, a.loginCol.lockouts, a.loginCol.locked],
    [[r.logins.failures, r.logins.summarised, r.logins.lockouts, r.logins.lockedUsers.join(', ')]],
    a.none,
  )}</section>
<section><h3>${esc(s.policy)}</h3>${table(
    [a.policyCol.time, a.policyCol.actor, a.policyCol.details],
    r.policyChanges.map((e) => [jstTableOf(e.time), e.actor, brief(e.details)]),
    a.none,
  )}</section>
<section><h3>${esc(s.chain)}</h3>${
    r.verifications.length
      ? table(
          [a.chainCol.time, a.chainCol.actor, a.chainCol.result, a.chainCol.records],
          r.verifications.map((e) => [jstTableOf(e.time), e.actor, verificationText(e, lang), String(e.details.records ?? '')]),
          a.none,
        )
      : `<p>${esc(a.chainNone)}</p>`
  }
${r.latestVerification ? `<p>${esc(fill(a.chainLatest, { result: verificationText(r.latestVerification, lang), time: jstTableOf(r.latestVerification.time) }))}</p>` : ''}</section>
</article>`;
}

export function registerReportRoutes(c: FastifyInstance, k: Kit, guard: Guard): void {
  const monthForm = (lang: Lang, month: string): string => {
    const a = auditMessages[lang];
    return `<form class="no-print" method="get" action="/audit/report"><label>${esc(a.reportMonth)}<input name="month" type="month" value="${esc(month)}" required></label><button type="submit">${esc(a.reportButton)}</button></form>`;
  };

  c.get('/audit/report', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await guard(req, reply, lang);
    if (!('user' in me)) return me;
    const a = auditMessages[lang];
    const asked = (req.query as { month?: unknown }).month;
    const head = `${k.header(reply, me, lang)}<nav class="no-print"><a href="/audit">${esc(a.nav.search)}</a><a href="/audit/verify">${esc(a.nav.verify)}</a><a href="/audit/report">${esc(a.nav.report)}</a></nav>
<link rel="stylesheet" href="/audit/print.css">
<h2 class="no-print">${esc(a.reportHeading)}</h2><p class="no-print">${esc(a.reportHint)}</p>`;
    if (asked === undefined || asked === '') return k.html(reply, 200, lang, a.reportHeading, head + monthForm(lang, monthOf(new Date())));
    const month = parseMonth(asked);
    if (!month) return k.html(reply, 400, lang, a.reportHeading, `${head}<p class="error" role="alert">${esc(a.reportBadMonth)}</p>${monthForm(lang, monthOf(new Date()))}`);
    const report = await monthlyReport(k.d.store, month);
    const body = `${head}${monthForm(lang, month.label)}
<p class="no-print"><a href="/audit/report.csv?month=${esc(month.label)}" download>${esc(a.reportCsv)}</a> ${esc(a.print)}</p>
${reportHtml(report, lang, me.user.name)}`;
    return k.html(reply, 200, lang, fill(a.reportTitle, { month: month.label }), body);
  });

  c.get('/audit/report.csv', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await guard(req, reply, lang);
    if (!('user' in me)) return me;
    // Without a month: the current one (JST).
    const month = parseMonth((req.query as { month?: unknown }).month ?? monthOf(new Date()));
    if (!month) return k.notice(reply, 400, lang, auditMessages[lang].reportBadMonth, { href: '/audit/report', label: auditMessages[lang].nav.report });
    const auditor = k.d.auditor;
    if (!auditor) return k.notice(reply, 503, lang, auditMessages[lang].verifyUnavailable);
    const report = await monthlyReport(k.d.store, month);
    await auditor.audit.append({ actor: `console:${me.user.name}`, action: 'audit-exported', object: null, details: { format: 'csv', report: month.label, client: req.ip } });
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="self-inspection-${month.label}.csv"`).send(reportCsv(report, lang));
  });
}
