// A signed-in user's own account: their live sessions (each can be ended),
// their second factor (staff may enrol when it is optional), their password.
// An administrator also sees everyone's sessions and can end any of them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../../model/users.js';
import type { CurrentSession, SessionView } from '../../users/sessions.js';
import { enrolPage, recoveryCodesPage } from './auth-routes.js';
import { esc, Raw, table, when } from './html.js';
import type { Kit } from './kit.js';
import { messages, type Lang } from './messages.js';

const field = (req: FastifyRequest, name: string): string | null => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : null;
};

export function registerAccountRoutes(c: FastifyInstance, k: Kit, csrfProtection: unknown): void {
  const pre = { preHandler: csrfProtection as never };

  const signedIn = (req: FastifyRequest, reply: FastifyReply, lang: Lang, roles?: readonly Role[]): Promise<CurrentSession | FastifyReply> => k.signedIn(req, reply, lang, roles);

  const sessionTable = (reply: FastifyReply, lang: Lang, rows: SessionView[], me: CurrentSession, action: string, withUser: boolean): string => {
    const m = messages[lang];
    const end = (s: SessionView): Raw =>
      new Raw(
        s.id === me.id
          ? esc(m.thisSession)
          : `<form class="inline" method="post" action="${action}"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}"><input type="hidden" name="id" value="${esc(s.id)}"><button type="submit">${esc(m.endButton)}</button></form>`,
      );
    const cols = [...(withUser ? [m.sessionCol.user] : []), m.sessionCol.created, m.sessionCol.seen, m.sessionCol.client, m.sessionCol.agent, m.sessionCol.end];
    return table(
      cols,
      rows.map((s) => [...(withUser ? [s.user] : []), when(s.createdAt, lang), when(s.lastSeenAt, lang), s.client, s.userAgent, end(s)]),
      m.none,
    );
  };

  const accountPage = async (reply: FastifyReply, lang: Lang, me: CurrentSession, code: number, note?: { error?: string; info?: string }): Promise<FastifyReply> => {
    const m = messages[lang];
    const mine = await k.d.auth.sessions(me.user.name);
    const factor = me.user.secondFactor ? `<p>${esc(m.secondFactorOn)}</p>` : `<p>${esc(m.secondFactorOff)} <a href="/account/enrol">${esc(m.secondFactorSet)}</a></p>`;
    const password =
      me.user.source === 'ldap'
        ? `<p>${esc(m.directoryPassword)}</p>`
        : `<form class="login" method="post" action="/account/password">
<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">
<input type="hidden" name="name" value="${esc(me.user.name)}" autocomplete="username">
<label>${esc(m.currentPassword)}<input name="current" type="password" autocomplete="current-password" required></label>
<label>${esc(m.newPassword)}<input name="next" type="password" autocomplete="new-password" minlength="12" required></label>
<label>${esc(m.confirmPassword)}<input name="confirm" type="password" autocomplete="new-password" minlength="12" required></label>
<button type="submit">${esc(m.changeButton)}</button>
</form>`;
    const body = `${k.header(reply, me, lang)}
<h2>${esc(m.account)}</h2>
${note?.error ? `<p class="error" role="alert">${esc(note.error)}</p>` : ''}${note?.info ? `<p class="notice">${esc(note.info)}</p>` : ''}
<section><h3>${esc(m.sessionsHeading)}</h3><p>${esc(m.sessionsHint)}</p>${sessionTable(reply, lang, mine, me, '/account/sessions/end', false)}</section>
<section><h3>${esc(m.enrolHeading)}</h3>${factor}</section>
<section><h3>${esc(m.passwordHeading)}</h3>${password}</section>`;
    return k.html(reply, code, lang, `${m.account} - ${m.title}`, body);
  };

  c.get('/account', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await signedIn(req, reply, lang);
    if (!('user' in me)) return me;
    return accountPage(reply, lang, me, 200, (req.query as { ended?: string }).ended ? { info: messages[lang].sessionEnded } : undefined);
  });

  c.post('/account/sessions/end', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await signedIn(req, reply, lang);
    if (!('user' in me)) return me;
    const id = field(req, 'id');
    const target = id ? (await k.d.auth.sessions(me.user.name)).find((s) => s.id === id) : undefined;
    if (target) await k.d.auth.endSession(me, target.id, k.ctxOf(req));
    return reply.redirect('/account?ended=1', 303);
  });

  c.post('/account/password', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const m = messages[lang];
    const me = await signedIn(req, reply, lang);
    if (!('user' in me)) return me;
    const current = field(req, 'current') ?? '';
    const next = field(req, 'next') ?? '';
    if (next !== field(req, 'confirm')) return accountPage(reply, lang, me, 400, { error: m.passwordRule.mismatch });
    const r = await k.d.auth.changePassword(me, current, next, k.ctxOf(req));
    switch (r.kind) {
      case 'changed':
        return accountPage(reply, lang, me, 200, { info: m.passwordChanged });
      case 'wrong-current':
        return accountPage(reply, lang, me, 400, { error: m.wrongCurrent });
      case 'rejected':
        return accountPage(reply, lang, me, 400, { error: m.passwordRule[r.rule] });
      case 'directory-user':
        return accountPage(reply, lang, me, 400, { error: m.directoryPassword });
      case 'throttled':
        return k.throttled(reply, lang, r.retryAfterSeconds);
      case 'busy':
        return k.busy(reply, lang);
    }
  });

  c.get('/account/enrol', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await signedIn(req, reply, lang);
    if (!('user' in me)) return me;
    const e = me.user.secondFactor ? null : await k.d.auth.startEnrolment(k.tokenOf(req)!);
    if (!e) return reply.redirect('/account', 303);
    return enrolPage(k, reply, lang, 200, e, me.user.name, '/account/enrol');
  });

  c.post('/account/enrol', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await signedIn(req, reply, lang);
    if (!('user' in me)) return me;
    const r = await k.d.auth.finishEnrolment(k.tokenOf(req)!, field(req, 'ticket') ?? '', field(req, 'code') ?? '', k.ctxOf(req));
    if (r.kind === 'bad-code') return enrolPage(k, reply, lang, 401, r.enrolment, me.user.name, '/account/enrol', messages[lang].enrolBad);
    if (r.kind !== 'enrolled') return reply.redirect('/account', 303);
    return recoveryCodesPage(k, reply, lang, r.recoveryCodes);
  });

  c.get('/admin/sessions', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const m = messages[lang];
    const all = await k.d.auth.sessions();
    const body = `${k.header(reply, me, lang)}
<h2>${esc(m.adminSessions)}</h2>
${(req.query as { ended?: string }).ended ? `<p class="notice">${esc(m.sessionEnded)}</p>` : ''}
${sessionTable(reply, lang, all, me, '/admin/sessions/end', true)}`;
    return k.html(reply, 200, lang, `${m.adminSessions} - ${m.title}`, body);
  });

  c.post('/admin/sessions/end', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const id = field(req, 'id');
    if (id) await k.d.auth.endSession(me, id, k.ctxOf(req));
    return reply.redirect('/admin/sessions?ended=1', 303);
  });
}
