// The administrator's console: the release requests (oldest first, with how
// long each has waited), an item's review page (everything needed to decide
// without opening the original on a clerk's PC), approve / reject, and the
// original's download. Search, the delivery queue, users and the policy are
// in the admin-*.ts modules registered from here. Every route is for
// administrators only (403 for the other roles), every form carries the CSRF
// token, every change is audited by the workflow or the directory it calls.
import { findingWords } from './finding-words.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { labelsFor } from '../../core/labels.js';
import type { FindingCode } from '../../core/findings.js';
import { approve, approvalsOf } from '../../quarantine/approvals.js';
import { isQuarantineId } from '../../quarantine/ids.js';
import type { AuditRecord, Store } from '../../store/types.js';
import type { CurrentSession } from '../../users/sessions.js';
import type { AdminDeps } from './admin-deps.js';
import { adminMessages } from './admin-messages.js';
import { viewOriginal } from './admin-original.js';
import { registerAdminQueue } from './admin-queue.js';
import { registerAdminSearch } from './admin-search.js';
import { registerAdminUsers } from './admin-users.js';
import { actionWord } from './action-words.js';
import { esc, Raw, shown, table, when } from './html.js';
import type { Kit } from './kit.js';
import { messages, type Lang } from './messages.js';
import { OperatorError } from '../../model/operator-error.js';

export const actorOf = (me: CurrentSession): string => `console:${me.user.name}`;

export const formField = (req: FastifyRequest, name: string): string | null => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : null;
};

/** The administrator's navigation, under the page header. */
export const adminNav = (lang: Lang): string => {
  const w = adminMessages[lang].nav;
  return `<nav class="admin"><a href="/">${esc(w.queue)}</a><a href="/admin/search">${esc(w.search)}</a><a href="/admin/queue">${esc(w.delivery)}</a><a href="/admin/users">${esc(w.users)}</a><a href="/admin/policy">${esc(w.policy)}</a></nav>`;
};

/** A page of the administrator's console: header, navigation, an optional note, the body. */
export const adminPage = (k: Kit, reply: FastifyReply, me: CurrentSession, lang: Lang, code: number, title: string, body: string, note?: { error?: string; info?: string }): FastifyReply =>
  k.html(
    reply,
    code,
    lang,
    `${title} - ${messages[lang].title}`,
    `${k.header(reply, me, lang)}${adminNav(lang)}<h2>${esc(title)}</h2>${note?.error ? `<p class="error" role="alert">${esc(note.error)}</p>` : ''}${note?.info ? `<p class="notice" role="status">${esc(note.info)}</p>` : ''}${body}`,
  );

const csrfInput = (reply: FastifyReply): string => `<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">`;

/** The start page of an administrator: open release requests, the longest waiting first. */
export async function adminStart(store: Store, lang: Lang, now: Date): Promise<string> {
  const w = adminMessages[lang];
  const m = messages[lang];
  const items = await store.listItems({ states: ['release-requested'], limit: 500 });
  const requests = items.length ? await store.searchAudit({ actions: ['release-requested'], objects: items.map((i) => i.id) }) : [];
  const last = new Map<string, AuditRecord>();
  for (const r of requests) if (r.object) last.set(r.object, r);
  const rows = items
    .map((i) => ({ i, r: last.get(i.id), at: last.get(i.id)?.time ?? i.stateChangedAt }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
    .map(({ i, r, at }) => [
      new Raw(`<a href="/admin/items/${esc(i.id)}">${esc(i.id)}</a>`),
      w.minutes(Math.max(0, Math.floor((now.getTime() - Date.parse(at)) / 60_000))),
      when(at, lang),
      r ? r.actor.replace(/^console:/, '') : i.stateChangedBy,
      r ? String((JSON.parse(r.details) as { reason?: unknown }).reason ?? '') : '',
      i.envelopeFrom ?? '<>',
      i.recipients.join(', '),
    ]);
  const held = await store.listItems({ states: ['held'], newestFirst: true, limit: 100 });
  const heldRows = held.map((i) => [
    new Raw(`<a href="/admin/items/${esc(i.id)}">${esc(i.id)}</a>`),
    when(i.receivedAt, lang),
    i.envelopeFrom ?? '<>',
    i.recipients.join(', '),
    findingWords(i.findings, lang),
  ]);
  return `${adminNav(lang)}<h2>${esc(w.requestsHeading)}</h2><p>${esc(w.requestsHint)}</p>${table([m.col.id, w.waited, m.col.time, w.requestedBy, w.reason, m.col.from, m.col.to], rows, m.none)}
<section><h3>${esc(w.heldHeading)}</h3>${table([m.col.id, m.col.received, m.col.from, m.col.to, m.col.findings], heldRows, m.none)}</section>`;
}

/** A workflow step the item's state does not allow (or no longer allows: another admin was first). */
const refusedStep = (err: unknown): boolean => err instanceof OperatorError || (err instanceof Error && err.name === 'StateConflictError');

export function registerAdminRoutes(c: FastifyInstance, k: Kit, csrfProtection: unknown): void {
  const a = k.d.admin;
  if (!a) return;
  const pre = { preHandler: csrfProtection as never };

  const itemPage = async (reply: FastifyReply, me: CurrentSession, lang: Lang, id: string, code: number, note?: { error?: string; info?: string }, client = ''): Promise<FastifyReply> => {
    const w = adminMessages[lang];
    const m = messages[lang];
    let details;
    try {
      details = isQuarantineId(id) ? await a.vault.details(id) : null;
    } catch {
      details = null;
    }
    if (!details) return adminPage(k, reply, me, lang, 404, w.itemHeading, '', { error: w.noItem });
    const { item, meta } = details;
    const labels = labelsFor(lang);
    const summary = table(
      [w.summary, ''],
      [
        [m.col.id, item.id],
        [w.subject, meta.subject ?? ''],
        [w.headerFrom, meta.from ?? ''],
        [w.envelopeFrom, item.envelopeFrom ?? '<>'],
        [w.recipients, item.recipients.join(', ')],
        [m.col.received, when(item.receivedAt, lang)],
        [w.size, `${item.size} ${w.bytes}`],
        [w.state, m.state[item.state]],
      ],
      m.none,
    );
    const findings = `<ul>${meta.findings
      .map((f) => `<li>${shown(labels.finding[f.code as FindingCode] ?? f.code)} <code>${esc(f.code)}</code>${f.detail ? ` (${shown(f.detail)})` : ''}</li>`)
      .join('')}</ul>`;
    let original = '';
    if (item.state !== 'expired') {
      try {
        const { raw } = await a.vault.get(id);
        // Reading the original's headers and body is reading the original: recorded, as `quarantine show --raw` is.
        await a.vault.audit.append({ actor: actorOf(me), action: 'original-viewed', object: id, details: { from: item.envelopeFrom, to: item.recipients, output: 'console', client } });
        const v = await viewOriginal(raw, a.policy.limits.maxMessageBytes);
        original = `${v.parseError ? `<p class="error">${esc(w.parseFailed)}: ${esc(v.parseError)}</p>` : ''}
<section><h3>${esc(w.headersHeading)}</h3>${v.headersCut ? `<p>${esc(w.headersCut)}</p>` : ''}${table(
          [w.headerCol.name, w.headerCol.value, w.headerCol.decoded],
          v.headers.map((h) => [h.name, h.value, h.decoded ?? '']),
          m.none,
        )}</section>
<section><h3>${esc(w.linksHeading)}</h3>${table(
          [w.linkText, w.linkTarget],
          v.links.map((l) => [l.text, l.href]),
          m.none,
        )}</section>
<section><h3>${esc(w.attachmentsHeading)}</h3>${table(
          [w.attName, w.attDeclared, w.attDetected, w.size, 'SHA-256'],
          v.attachments.map((x) => [x.name ?? '', x.declared, x.detected, x.size, x.sha256]),
          m.none,
        )}</section>
<section><h3>${esc(w.bodyHeading)}</h3><pre class="original">${shown(v.text ?? '')}</pre>${v.html !== null ? `<h3>${esc(w.htmlHeading)}</h3><pre class="original">${shown(v.html)}</pre>` : ''}</section>`;
      } catch (err) {
        original = `<p class="error">${esc(w.unreadable)}: ${esc(err instanceof Error ? err.message : String(err))}</p>`;
      }
    }
    const history = await a.vault.store.searchAudit({
      objects: [id],
      actions: ['release-requested', 'release-approval-recorded', 'release-approved', 'release-rejected', 'release-delivered', 'release-failed', 'original-downloaded'],
    });
    const historyTable = table(
      [m.col.time, m.col.actor, m.col.action, w.reason],
      history.map((r) => {
        const d = JSON.parse(r.details) as { reason?: unknown; comment?: unknown };
        return [when(r.time, lang), r.actor, actionWord(r.action, lang), String(d.reason ?? d.comment ?? '')];
      }),
      m.none,
    );
    let decide = '';
    if (item.state === 'held' || item.state === 'release-requested') {
      // Two approvals: by the policy, or for this item by a sender rule.
      const two = a.policy.release.approvals === 2 || meta.approvals === 2;
      const approvals = two ? await approvalsOf(a.vault, id) : [];
      decide = `<section><h3>${esc(w.decideHeading)}</h3>${two ? `<p>${esc(w.approvalsNeeded)}</p>` : ''}${approvals.map((x) => `<p>${esc(w.firstApprovalBy(x.actor.replace(/^console:/, '')))}</p>`).join('')}
<form class="login" method="post" action="/admin/items/${esc(id)}/approve">${csrfInput(reply)}<label>${esc(w.comment)}<textarea name="comment" maxlength="2000"></textarea></label><button type="submit">${esc(w.approveButton)}</button></form>
<form class="login" method="post" action="/admin/items/${esc(id)}/reject">${csrfInput(reply)}<label>${esc(w.comment)}<textarea name="comment" maxlength="2000" required></textarea></label><button type="submit">${esc(w.rejectButton)}</button></form></section>`;
    }
    const download = item.state === 'expired' ? '' : `<p><a href="/admin/items/${esc(id)}/original">${esc(w.downloadButton)}</a></p>`;
    const body = `${summary}<section><h3>${esc(w.findingsHeading)}</h3>${findings}</section>${decide}<section><h3>${esc(w.historyHeading)}</h3>${historyTable}</section>${download}${original}`;
    return adminPage(k, reply, me, lang, code, w.itemHeading, body, note);
  };

  c.get('/admin/items/:id', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const q = req.query as { done?: string };
    const w = adminMessages[lang];
    const info = q.done === 'first' ? w.firstRecorded : q.done === 'rejected' ? w.rejected : q.done === 'released' ? w.released(Number((req.query as { n?: string }).n ?? 0)) : undefined;
    return itemPage(reply, me, lang, (req.params as { id: string }).id, 200, info ? { info } : undefined, req.ip);
  });

  /** What an approval and a rejection both start with: an admin, a real item id, the comment (trimmed, at most 2,000 characters). */
  const decision = async (req: FastifyRequest, reply: FastifyReply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const id = (req.params as { id: string }).id;
    if (!isQuarantineId(id)) return itemPage(reply, me, lang, id, 404);
    return { lang, me, id, w: adminMessages[lang], comment: (formField(req, 'comment') ?? '').trim().slice(0, 2000) };
  };

  c.post('/admin/items/:id/approve', pre, async (req, reply) => {
    const d = await decision(req, reply);
    if (!('me' in d)) return d;
    const { lang, me, id, w, comment } = d;
    // A step the item's state no longer allows is a 409; anything else (the database, the audit log) is the error page's, and logged.
    const r = await approve({ vault: a.vault, workflow: a.workflow, carrier: a.carrier, approvals: a.policy.release.approvals }, id, actorOf(me), comment).catch((err: unknown) => {
      if (!refusedStep(err)) throw err;
      return { kind: 'error' as const, err };
    });
    switch (r.kind) {
      case 'released':
        return reply.redirect(`/admin/items/${id}?done=released&n=${r.result.accepted.length}`, 303);
      case 'first-recorded':
        return reply.redirect(`/admin/items/${id}?done=first`, 303);
      case 'already-approved-by-you':
        return itemPage(reply, me, lang, id, 409, { error: w.sameAdmin });
      case 'not-delivered':
        return itemPage(reply, me, lang, id, 502, { error: w.notDelivered });
      case 'not-approvable':
      case 'error':
        return itemPage(reply, me, lang, id, 409, { error: w.notApprovable });
    }
  });

  c.post('/admin/items/:id/reject', pre, async (req, reply) => {
    const d = await decision(req, reply);
    if (!('me' in d)) return d;
    const { lang, me, id, w, comment } = d;
    if (!comment) return itemPage(reply, me, lang, id, 400, { error: w.commentRequired });
    try {
      await a.workflow.reject(id, actorOf(me), comment);
    } catch (err) {
      if (!refusedStep(err)) throw err;
      return itemPage(reply, me, lang, id, 409, { error: w.notApprovable });
    }
    return reply.redirect(`/admin/items/${id}?done=rejected`, 303);
  });

  c.get('/admin/items/:id/original', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const id = (req.params as { id: string }).id;
    if (!isQuarantineId(id)) return itemPage(reply, me, lang, id, 404);
    let raw: Buffer;
    try {
      raw = (await a.vault.get(id)).raw;
    } catch {
      return itemPage(reply, me, lang, id, 404, { error: adminMessages[lang].unreadable });
    }
    // Audited before a byte leaves: a download that cannot be recorded does not happen.
    await a.vault.audit.append({ actor: actorOf(me), action: 'original-downloaded', object: id, details: { size: raw.length, client: req.ip } });
    return reply.code(200).header('content-type', 'application/octet-stream').header('content-disposition', `attachment; filename="${id}.eml"`).header('x-content-type-options', 'nosniff').send(raw);
  });

  registerAdminSearch(c, k, a);
  registerAdminQueue(c, k, a, pre);
  registerAdminUsers(c, k, a, pre);
}

export type { AdminDeps };
