// PPAP in the console: the recipient of a quarantined message enters the
// password of its password-protected attachments (GET shows the form, POST
// tries the password: src/unlock/service.ts), and an administrator lifts the
// lock a user earned with too many wrong passwords. Only a recipient of the
// item sees its page; anyone else gets the same 404 as for an id that does
// not exist. The password is never echoed, logged or kept.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isQuarantineId } from '../../quarantine/ids.js';
import type { UnlockService, UnlockView } from '../../unlock/service.js';
import type { CurrentSession } from '../../users/sessions.js';
import { esc, Raw, table, when } from './html.js';
import type { Kit } from './kit.js';
import { messages, type Lang } from './messages.js';
import { unlockMessages } from './unlock-messages.js';

/** Longer than any password a person types; more is refused without trying it. */
const MAX_PASSWORD_CHARS = 1024;

const field = (req: FastifyRequest, name: string): string | null => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : null;
};
const idOf = (req: FastifyRequest): string => String((req.params as { id?: unknown }).id ?? '');

export function registerUnlockRoutes(c: FastifyInstance, k: Kit, csrfProtection: unknown, service: UnlockService | undefined): void {
  const pre = { preHandler: csrfProtection as never };

  const notFound = (reply: FastifyReply, lang: Lang, me: CurrentSession): FastifyReply =>
    k.html(reply, 404, lang, messages[lang].title, `${k.header(reply, me, lang)}<p class="error" role="alert">${esc(unlockMessages[lang].notFound)}</p>`);

  const unlockPage = (reply: FastifyReply, lang: Lang, me: CurrentSession, id: string, view: UnlockView & { kind: 'ok' }, code: number, note?: { error?: string; info?: string }): FastifyReply => {
    const u = unlockMessages[lang];
    const parts = view.parts
      .map((p) => (lang === 'ja' ? `<li>${esc(p.untrustedName ?? u.unnamed)}（${esc(u.kinds[p.kind])}）</li>` : `<li>${esc(p.untrustedName ?? u.unnamed)} (${esc(u.kinds[p.kind])})</li>`))
      .join('');
    const form =
      view.locked || view.parts.length === 0
        ? ''
        : `<form class="login" method="post" action="/items/${esc(id)}/unlock">
<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">
<label>${esc(u.password)}<input name="password" type="password" autocomplete="off" maxlength="${MAX_PASSWORD_CHARS}" required></label>
<button type="submit">${esc(u.submit)}</button>
</form>`;
    const state = view.parts.length === 0 ? `<p>${esc(u.nothing)}</p>` : view.locked ? `<p class="error" role="alert">${esc(u.locked)}</p>` : '';
    const body = `${k.header(reply, me, lang)}
<h2>${esc(u.heading)}</h2>
<p>${esc(u.item)}: ${esc(id)}</p>
${note?.error ? `<p class="error" role="alert">${esc(note.error)}</p>` : ''}${note?.info ? `<p class="notice" role="status">${esc(note.info)}</p>` : ''}
${view.parts.length > 0 ? `<p>${esc(u.intro)}</p><ul>${parts}</ul>` : ''}${state}${form}
<p><a href="/">${esc(u.back)}</a></p>`;
    return k.html(reply, code, lang, `${u.heading} - ${messages[lang].title}`, body);
  };

  c.get('/items/:id/unlock', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['staff']);
    if (!('user' in me)) return me;
    const id = idOf(req);
    const view = service ? await service.view(id, me.user) : ({ kind: 'not-found' } as const);
    if (view.kind === 'not-found') return notFound(reply, lang, me);
    if (view.kind === 'expired') return k.html(reply, 410, lang, messages[lang].title, `${k.header(reply, me, lang)}<p class="error">${esc(unlockMessages[lang].expired)}</p>`);
    return unlockPage(reply, lang, me, id, view, 200);
  });

  c.post('/items/:id/unlock', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['staff']);
    if (!('user' in me)) return me;
    const u = unlockMessages[lang];
    const id = idOf(req);
    if (!service) return notFound(reply, lang, me);
    const password = field(req, 'password') ?? '';
    const current = async (code: number, note: { error?: string; info?: string }): Promise<FastifyReply> => {
      const view = await service.view(id, me.user);
      if (view.kind === 'not-found') return notFound(reply, lang, me);
      if (view.kind === 'expired') return k.html(reply, 410, lang, messages[lang].title, `${k.header(reply, me, lang)}<p class="error">${esc(u.expired)}</p>`);
      return unlockPage(reply, lang, me, id, view, code, note);
    };
    if (password.length > MAX_PASSWORD_CHARS) return current(400, { error: u.tooLong });
    const r = await service.attempt(id, me.user, password, req.ip);
    switch (r.kind) {
      case 'not-found':
        return notFound(reply, lang, me);
      case 'expired':
        return k.html(reply, 410, lang, messages[lang].title, `${k.header(reply, me, lang)}<p class="error">${esc(u.expired)}</p>`);
      case 'sent':
        return current(200, { info: u.sent(r.files) });
      case 'wrong-password':
        return current(r.locked ? 423 : 401, { error: r.locked ? u.locked : u.wrong(r.left) });
      case 'locked':
        return current(423, {});
      case 'nothing-to-unlock':
        return current(409, {});
      case 'unopenable':
        return current(422, { error: u.unopenable });
    }
  });

  const locksPage = async (reply: FastifyReply, lang: Lang, me: CurrentSession, id: string, code: number, info?: string): Promise<FastifyReply> => {
    const u = unlockMessages[lang];
    const rows = service ? await service.locks(id) : [];
    const button = (user: string): Raw =>
      new Raw(
        `<form class="inline" method="post" action="/admin/items/${esc(id)}/unlock-reset"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}"><input type="hidden" name="user" value="${esc(user)}"><button type="submit">${esc(u.resetButton)}</button></form>`,
      );
    const body = `${k.header(reply, me, lang)}
<h2>${esc(u.adminHeading)}</h2>
<p>${esc(u.item)}: ${esc(id)}</p>
${info ? `<p class="notice" role="status">${esc(info)}</p>` : ''}<p>${esc(u.adminIntro)}</p>
${table(
  [u.col.user, u.col.failures, u.col.locked, u.col.last, u.col.action],
  rows.map((s) => [s.user, s.failures, s.lockedAt ? u.isLocked : u.notLocked, when(s.lastAttemptAt, lang), button(s.user)]),
  u.noLocks,
)}`;
    return k.html(reply, code, lang, `${u.adminHeading} - ${messages[lang].title}`, body);
  };

  c.get('/admin/items/:id/unlock-reset', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const id = idOf(req);
    // An id that names no item is not a page with an empty list (and the id echoed): the same 404 as for staff.
    if (!isQuarantineId(id) || !(await k.d.store.getItem(id))) return notFound(reply, lang, me);
    return locksPage(reply, lang, me, id, 200);
  });

  c.post('/admin/items/:id/unlock-reset', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const id = idOf(req);
    const user = field(req, 'user') ?? '';
    const done = service ? await service.reset(id, user, me.user.name, req.ip) : false;
    if (!done) return k.html(reply, 404, lang, messages[lang].title, `${k.header(reply, me, lang)}<p class="error" role="alert">${esc(unlockMessages[lang].noLocks)}</p>`);
    return locksPage(reply, lang, me, id, 200, unlockMessages[lang].resetDone(user));
  });
}
