// The web console: login, logout, and a start page for each role: staff see
// the quarantined mail addressed to them, administrators the release queue,
// auditors the audit log. Every login, failed login and logout is audited
// (src/users/sessions.ts). Forms carry a CSRF token; pages carry no script.
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../../store/types.js';
import type { ConsoleAuth, CurrentSession } from '../../users/sessions.js';
import { esc, page, STYLESHEET, table, when } from './html.js';
import { messages, type Lang } from './messages.js';

export interface ConsoleDeps {
  auth: ConsoleAuth;
  /** Read-only views: the quarantine list and the audit log. */
  store: Store;
  secureCookies: boolean;
}

export const SESSION_COOKIE = 'mugaika_session';
const LANG_COOKIE = 'mugaika_lang';

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

type Query = { lang?: string; out?: string };
type LoginBody = { name?: unknown; password?: unknown };

export async function registerConsole(app: FastifyInstance, d: ConsoleDeps): Promise<void> {
  // One encapsulated context: the cookie, form and CSRF plugins and the error page apply to the console only.
  await app.register(async (c) => {
    const cookieOpts = { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: d.secureCookies };
    await c.register(cookie);
    await c.register(formbody, { bodyLimit: 16 * 1024 });
    await c.register(csrf, { cookieOpts });

    c.addHook('onSend', async (_req, reply) => {
      reply.headers(SECURITY_HEADERS);
    });

    const langOf = (req: FastifyRequest, reply: FastifyReply): Lang => {
      const q = (req.query as Query).lang;
      if (q === 'en' || q === 'ja') {
        reply.setCookie(LANG_COOKIE, q, { ...cookieOpts, maxAge: 365 * 24 * 3600 });
        return q;
      }
      return req.cookies[LANG_COOKIE] === 'en' ? 'en' : 'ja';
    };

    const html = (reply: FastifyReply, code: number, lang: Lang, title: string, body: string): FastifyReply =>
      reply.code(code).type('text/html; charset=utf-8').send(page({ lang, title, body }));

    const loginPage = (reply: FastifyReply, lang: Lang, code: number, note?: { error?: string; info?: string }): FastifyReply => {
      const m = messages[lang];
      const token = reply.generateCsrf();
      const body = `<header><h1>${esc(m.title)}</h1><a href="/login?lang=${lang === 'ja' ? 'en' : 'ja'}">${esc(m.otherLang)}</a></header>
<h2>${esc(m.loginHeading)}</h2>
${note?.error ? `<p class="error" role="alert">${esc(note.error)}</p>` : ''}${note?.info ? `<p class="notice">${esc(note.info)}</p>` : ''}
<form class="login" method="post" action="/login">
<input type="hidden" name="_csrf" value="${esc(token)}">
<label>${esc(m.userName)}<input name="name" autocomplete="username" required autofocus></label>
<label>${esc(m.password)}<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">${esc(m.loginButton)}</button>
</form>`;
      return html(reply, code, lang, `${m.loginHeading} - ${m.title}`, body);
    };

    const sessionOf = async (req: FastifyRequest): Promise<CurrentSession | null> => {
      const token = req.cookies[SESSION_COOKIE];
      return token ? d.auth.current(token) : null;
    };

    c.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      const lang = req.cookies?.[LANG_COOKIE] === 'en' ? 'en' : 'ja';
      if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') return loginPage(reply, lang, 403, { error: messages[lang].badRequest });
      const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (code === 500) req.log.error({ err: err.message }, 'console error');
      return html(reply, code, lang, messages[lang].title, `<p class="error">${esc(code === 500 ? 'Internal error / 内部エラー' : err.message)}</p>`);
    });

    c.get('/console.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));

    c.get('/login', async (req, reply) => {
      const lang = langOf(req, reply);
      if (await sessionOf(req)) return reply.redirect('/', 303);
      return loginPage(reply, lang, 200, (req.query as Query).out ? { info: messages[lang].loggedOut } : undefined);
    });

    c.post('/login', { preHandler: c.csrfProtection }, async (req, reply) => {
      const lang = langOf(req, reply);
      const { name, password } = (req.body ?? {}) as LoginBody;
      if (typeof name !== 'string' || typeof password !== 'string') return loginPage(reply, lang, 400, { error: messages[lang].loginFailed });
      const r = await d.auth.login(name, password, { client: req.ip });
      // One answer for every failure: which names exist, and which are locked, is the audit log's to tell.
      if (!r.ok) return loginPage(reply, lang, 401, { error: messages[lang].loginFailed });
      reply.setCookie(SESSION_COOKIE, r.token, { ...cookieOpts, expires: new Date(r.expiresAt) });
      return reply.redirect('/', 303);
    });

    c.post('/logout', { preHandler: c.csrfProtection }, async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token) await d.auth.logout(token, { client: req.ip });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.redirect('/login?out=1', 303);
    });

    c.get('/', async (req, reply) => {
      const lang = langOf(req, reply);
      const s = await sessionOf(req);
      if (!s) return reply.redirect('/login', 303);
      const m = messages[lang];
      const header = `<header><h1>${esc(m.title)}</h1>
<span>${esc(m.signedInAs)}: ${esc(s.user.displayName)} (${esc(s.user.name)}, ${esc(m.role[s.user.role])})</span>
<a href="/?lang=${lang === 'ja' ? 'en' : 'ja'}">${esc(m.otherLang)}</a>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}"><button type="submit">${esc(m.logoutButton)}</button></form>
</header>
<p>${esc(m.sessionUntil)}: ${esc(when(s.expiresAt, lang))}</p>`;
      return html(reply, 200, lang, m.title, header + (await startPage(d.store, s, lang)));
    });
  });
}

/** What each role sees first; nothing of another role's view. */
async function startPage(store: Store, s: CurrentSession, lang: Lang): Promise<string> {
  const m = messages[lang];
  const itemRows = (items: Awaited<ReturnType<Store['listItems']>>): unknown[][] =>
    items.map((i) => [i.id, when(i.receivedAt, lang), i.envelopeFrom ?? '<>', i.recipients.join(', '), i.findings.join(' '), m.state[i.state]]);
  const itemCols = [m.col.id, m.col.received, m.col.from, m.col.to, m.col.findings, m.col.state];
  switch (s.user.role) {
    case 'staff': {
      if (!s.user.email) return `<p class="error">${esc(m.noEmail)}</p>`;
      const items = await store.listItems({ recipient: s.user.email, newestFirst: true, limit: 100 });
      return `<h2>${esc(m.myQuarantine)}</h2><p>${esc(m.myQuarantineHint)}</p>${table(itemCols, itemRows(items), m.none)}`;
    }
    case 'admin': {
      const items = await store.listItems({ states: ['release-requested', 'held'], newestFirst: true, limit: 100 });
      return `<h2>${esc(m.reviewQueue)}</h2>${table(itemCols, itemRows(items), m.none)}`;
    }
    case 'auditor': {
      const head = await store.head();
      const records = (await store.searchAudit({ afterSeq: Math.max(0, head.seq - 50) })).reverse();
      return `<h2>${esc(m.auditRecent)}</h2>${table(
        [m.col.seq, m.col.time, m.col.actor, m.col.action, m.col.object],
        records.map((r) => [r.seq, when(r.time, lang), r.actor, r.action, r.object ?? '']),
        m.none,
      )}`;
    }
  }
}
