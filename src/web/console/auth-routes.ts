// Logging in and out: the password form, the code form (TOTP or a recovery
// code), enrolling a phone at the first login, and the recovery codes shown
// once. Every form carries a CSRF token; the login forms are also limited per
// client address (kit.loginRoute). A failure says only that it failed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PENDING_MINUTES } from '../../users/auth-deps.js';
import type { Enrolment } from '../../users/second-factor.js';
import { esc } from './html.js';
import type { Kit } from './kit.js';
import { messages, type Lang } from './messages.js';
import { SESSION_COOKIE } from './kit.js';

type Body = Record<string, unknown> | undefined;
const field = (req: FastifyRequest, name: string): string | null => {
  const v = (req.body as Body)?.[name];
  return typeof v === 'string' ? v : null;
};

function titleBar(lang: Lang, path: string): string {
  const m = messages[lang];
  return `<header><h1>${esc(m.title)}</h1><a href="${path}?lang=${lang === 'ja' ? 'en' : 'ja'}">${esc(m.otherLang)}</a></header>`;
}

/** A login half done can be dropped (it is a logout of the pending login): back to the password form. */
const startOver = (reply: FastifyReply, lang: Lang): string =>
  `<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}"><button type="submit">${esc(messages[lang].startOver)}</button></form>`;

const alertOf = (note?: { error?: string; info?: string }): string =>
  `${note?.error ? `<p class="error" role="alert">${esc(note.error)}</p>` : ''}${note?.info ? `<p class="notice">${esc(note.info)}</p>` : ''}`;

export function loginPage(k: Kit, reply: FastifyReply, lang: Lang, code: number, note?: { error?: string; info?: string }): FastifyReply {
  const m = messages[lang];
  const body = `${titleBar(lang, '/login')}
<h2>${esc(m.loginHeading)}</h2>
${alertOf(note)}
<form class="login" method="post" action="/login">
<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">
<label>${esc(m.userName)}<input name="name" autocomplete="username" required autofocus></label>
<label>${esc(m.password)}<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">${esc(m.loginButton)}</button>
</form>`;
  return k.html(reply, code, lang, `${m.loginHeading} - ${m.title}`, body);
}

function codePage(k: Kit, reply: FastifyReply, lang: Lang, code: number, error?: string): FastifyReply {
  const m = messages[lang];
  const body = `${titleBar(lang, '/login/code')}
<h2>${esc(m.codeHeading)}</h2>
${alertOf({ error })}
<p>${esc(m.codeHint)}</p>
<form class="login" method="post" action="/login/code">
<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">
<label>${esc(m.code)}<input name="code" autocomplete="one-time-code" inputmode="text" required autofocus maxlength="32"></label>
<button type="submit">${esc(m.codeButton)}</button>
</form>
${startOver(reply, lang)}`;
  return k.html(reply, code, lang, `${m.codeHeading} - ${m.title}`, body);
}

/** The enrolment page: the QR code (an SVG drawn here), the key as text, and the form that proves the phone has it. */
export function enrolPage(k: Kit, reply: FastifyReply, lang: Lang, code: number, e: Enrolment, user: string, action: string, error?: string): FastifyReply {
  const m = messages[lang];
  const key = e.secret.match(/.{1,4}/g)!.join(' ');
  const body = `${titleBar(lang, action)}
<h2>${esc(m.enrolHeading)}</h2>
${alertOf({ error })}
<p>${esc(m.enrolIntro)}</p>
<div class="qr">${e.qrSvg}</div>
<p>${esc(m.enrolManual)}</p>
<p>${esc(m.enrolAccount)}: ${esc(user)}<br><span class="secret">${esc(key)}</span></p>
<p>${esc(m.enrolConfirm)}</p>
<form class="login" method="post" action="${esc(action)}">
<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">
<input type="hidden" name="ticket" value="${esc(e.ticket)}">
<label>${esc(m.code)}<input name="code" autocomplete="one-time-code" inputmode="numeric" required autofocus maxlength="16"></label>
<button type="submit">${esc(m.enrolButton)}</button>
</form>
${action === '/login/enrol' ? startOver(reply, lang) : ''}`;
  return k.html(reply, code, lang, `${m.enrolHeading} - ${m.title}`, body);
}

export function recoveryCodesPage(k: Kit, reply: FastifyReply, lang: Lang, codes: readonly string[]): FastifyReply {
  const m = messages[lang];
  const body = `${titleBar(lang, '/')}
<h2>${esc(m.recoveryHeading)}</h2>
<p>${esc(m.recoveryIntro)}</p>
<ol class="codes">${codes.map((c) => `<li>${esc(c)}</li>`).join('')}</ol>
<p><a href="/">${esc(m.continue)}</a></p>`;
  return k.html(reply, 200, lang, `${m.recoveryHeading} - ${m.title}`, body);
}

export function registerAuthRoutes(c: FastifyInstance, k: Kit, csrfProtection: unknown): void {
  const pendingOf = async (req: FastifyRequest) => {
    const token = k.tokenOf(req);
    return token ? { token, pending: await k.d.auth.pending(token) } : null;
  };

  c.get('/login', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const current = await k.sessionOf(req);
    if (current.kind === 'ok') return reply.redirect('/', 303);
    const p = await pendingOf(req);
    if (p?.pending) return reply.redirect(p.pending.stage === 'enrol' ? '/login/enrol' : '/login/code', 303);
    const q = req.query as { out?: string; expired?: string };
    return loginPage(k, reply, lang, 200, q.out ? { info: messages[lang].loggedOut } : q.expired ? { info: messages[lang].expired } : undefined);
  });

  c.post('/login', k.loginRoute, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const m = messages[lang];
    const name = field(req, 'name');
    const password = field(req, 'password');
    if (name === null || password === null) return loginPage(k, reply, lang, 400, { error: m.loginFailed });
    const r = await k.d.auth.login(name, password, k.ctxOf(req));
    switch (r.kind) {
      case 'signed-in':
        k.setSession(req, reply, r.token, r.expiresAt, true);
        return k.afterLogin(req, reply);
      case 'second-factor':
      case 'enrol':
        k.setSession(req, reply, r.token, new Date(Date.now() + PENDING_MINUTES * 60_000).toISOString(), false);
        return reply.redirect(r.kind === 'enrol' ? '/login/enrol' : '/login/code', 303);
      case 'throttled':
        return k.throttled(reply, lang, r.retryAfterSeconds);
      case 'busy':
        return k.busy(reply, lang);
      case 'directory-unavailable':
        return k.directoryDown(reply, lang);
      default:
        // One answer for every failure: which names exist, and which are locked, is the audit log's to tell.
        return loginPage(k, reply, lang, 401, { error: m.loginFailed });
    }
  });

  c.get('/login/code', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const p = await pendingOf(req);
    if (p?.pending?.stage !== 'second-factor') return reply.redirect('/login', 303);
    return codePage(k, reply, lang, 200);
  });

  c.post('/login/code', k.loginRoute, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const token = k.tokenOf(req);
    const code = field(req, 'code');
    if (!token || code === null) return reply.redirect('/login?expired=1', 303);
    const r = await k.d.auth.secondFactor(token, code, k.ctxOf(req));
    switch (r.kind) {
      case 'signed-in':
        k.setSession(req, reply, r.token, r.expiresAt, true);
        return k.afterLogin(req, reply);
      case 'throttled':
        return k.throttled(reply, lang, r.retryAfterSeconds);
      case 'busy':
        return k.busy(reply, lang);
      case 'failed':
        return codePage(k, reply, lang, 401, messages[lang].codeFailed);
      default:
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.redirect('/login?expired=1', 303);
    }
  });

  c.get('/login/enrol', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const p = await pendingOf(req);
    if (p?.pending?.stage !== 'enrol') return reply.redirect('/login', 303);
    const e = await k.d.auth.startEnrolment(p.token);
    if (!e) return reply.redirect('/login?expired=1', 303);
    return enrolPage(k, reply, lang, 200, e, p.pending.user, '/login/enrol');
  });

  c.post('/login/enrol', k.loginRoute, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const token = k.tokenOf(req);
    const ticket = field(req, 'ticket');
    const code = field(req, 'code');
    const p = await pendingOf(req);
    if (!token || ticket === null || code === null || p?.pending?.stage !== 'enrol') return reply.redirect('/login?expired=1', 303);
    const r = await k.d.auth.finishEnrolment(token, ticket, code, k.ctxOf(req));
    if (r.kind === 'bad-code') return enrolPage(k, reply, lang, 401, r.enrolment, p.pending.user, '/login/enrol', messages[lang].enrolBad);
    if (r.kind !== 'enrolled' || !r.signedIn) return reply.redirect('/login?expired=1', 303);
    k.setSession(req, reply, r.signedIn.token, r.signedIn.expiresAt, true);
    return recoveryCodesPage(k, reply, lang, r.recoveryCodes);
  });

  c.post('/logout', { preHandler: csrfProtection as never }, async (req, reply) => {
    const token = k.tokenOf(req);
    if (token) await k.d.auth.logout(token, k.ctxOf(req));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/login?out=1', 303);
  });
}
