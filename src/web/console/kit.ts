// What the console's route modules share: the language, the page frame, the
// session cookie, the client's address, and the pages every step may end on
// (throttled, busy, directory down).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Vault } from '../../quarantine/vault.js';
import type { Workflow } from '../../quarantine/workflow.js';
import type { Role } from '../../model/users.js';
import type { Store } from '../../store/types.js';
import type { UnlockService } from '../../unlock/service.js';
import type { AdminDeps } from './admin-deps.js';
import type { ConsoleAuth, Current, CurrentSession, RequestContext } from '../../users/sessions.js';
import type { AuditorDeps } from './audit-verify-runner.js';
import { addressKey } from '../../users/throttle.js';
import { esc, page } from './html.js';
import { messages, type Lang } from './messages.js';

export interface ConsoleDeps {
  auth: ConsoleAuth;
  /** Read-only views: the quarantine list and the audit log. */
  store: Store;
  /** The quarantine: sealed metadata opened for the pages that show an item. */
  vault: Vault;
  /** Release requests and decisions, each audited. */
  workflow: Workflow;
  /** Cookies carry Secure (HTTPS here or at a proxy in front). */
  secureCookies: boolean;
  /** Login form posts per client address per minute (@fastify/rate-limit), whatever their outcome. */
  loginRequestsPerMinute?: number;
  /** PPAP: opening password-protected attachments (the gateway's; absent, those pages answer 404). */
  unlock?: UnlockService;
  /** The auditor's verification and exports (audit-routes.ts); without it they answer 503. */
  auditor?: AuditorDeps;
  /** The administrator's pages (release queue, item review, search, delivery queue, users, policy); absent: not offered. */
  admin?: AdminDeps;
}

export const SESSION_COOKIE = 'mugaika_session';
export const LANG_COOKIE = 'mugaika_lang';
export const CSRF_COOKIE = '_csrf';
/** Where a visitor sent to the login page was going (the link in a notice): taken up once the login completes. */
export const NEXT_COOKIE = 'mugaika_next';

/** A path of this console (never another site: no scheme, no `//`, no backslash, no control character), or null. */
export const localPath = (p: string | undefined): string | null => (p && p.length <= 512 && /^\/(?![/\\])[\x21-\x7e]*$/.test(p) && !p.includes('\\') ? p : null);

type Query = { lang?: string };

export interface Kit {
  d: ConsoleDeps;
  cookieOpts: { path: string; httpOnly: boolean; sameSite: 'strict'; secure: boolean };
  langOf(req: FastifyRequest, reply: FastifyReply): Lang;
  ctxOf(req: FastifyRequest): RequestContext;
  sessionOf(req: FastifyRequest): Promise<Current>;
  tokenOf(req: FastifyRequest): string | undefined;
  html(reply: FastifyReply, code: number, lang: Lang, title: string, body: string): FastifyReply;
  /** A page with one message and a way on. */
  notice(reply: FastifyReply, code: number, lang: Lang, text: string, link?: { href: string; label: string }): FastifyReply;
  throttled(reply: FastifyReply, lang: Lang, retryAfterSeconds: number): FastifyReply;
  busy(reply: FastifyReply, lang: Lang): FastifyReply;
  directoryDown(reply: FastifyReply, lang: Lang): FastifyReply;
  /** Gives the browser a session token; a new CSRF secret too when a login completes (none is carried across). */
  setSession(req: FastifyRequest, reply: FastifyReply, token: string, expiresAt: string, renewCsrf: boolean): void;
  /** The page header of a signed-in user: who, the way to the account page (and the admin's), logout. */
  header(reply: FastifyReply, s: CurrentSession, lang: Lang): string;
  /** Route options for the login forms: CSRF, then the per-address request limit. */
  loginRoute: Record<string, unknown>;
  /** To the login page, remembering the page asked for (a GET of this console), to return to it after login. */
  toLogin(req: FastifyRequest, reply: FastifyReply): FastifyReply;
  /** Once a login completes: to the page remembered by toLogin, or the start page. */
  afterLogin(req: FastifyRequest, reply: FastifyReply): FastifyReply;
  /**
   * The signed-in session if its role is one of `roles`; otherwise the reply
   * already sent: to /login (303) without a session, a 403 page for another
   * role, a 503 page when the directory cannot be asked. Every route but the
   * login steps starts with it:
   *   const me = await k.signedIn(req, reply, lang, ['admin']);
   *   if (!('user' in me)) return me;
   */
  signedIn(req: FastifyRequest, reply: FastifyReply, lang: Lang, roles?: readonly Role[]): Promise<CurrentSession | FastifyReply>;
}

/** Every cookie of the console: the whole site, never to scripts, never sent from another site, Secure over HTTPS. */
export const cookieOptions = (secure: boolean): Kit['cookieOpts'] => ({ path: '/', httpOnly: true, sameSite: 'strict', secure });

export function createKit(d: ConsoleDeps, csrfProtection: unknown): Kit {
  const cookieOpts = cookieOptions(d.secureCookies);
  const html = (reply: FastifyReply, code: number, lang: Lang, title: string, body: string): FastifyReply => reply.code(code).type('text/html; charset=utf-8').send(page({ lang, title, body }));
  const titleBar = (lang: Lang): string => `<header><h1>${esc(messages[lang].title)}</h1><a href="?lang=${lang === 'ja' ? 'en' : 'ja'}">${esc(messages[lang].otherLang)}</a></header>`;
  const notice: Kit['notice'] = (reply, code, lang, text, link) =>
    html(
      reply,
      code,
      lang,
      messages[lang].title,
      `${titleBar(lang)}\n<p class="${code >= 400 ? 'error' : 'notice'}" role="alert">${esc(text)}</p>${link ? `<p><a href="${esc(link.href)}">${esc(link.label)}</a></p>` : ''}`,
    );
  const tokenOf = (req: FastifyRequest): string | undefined => req.cookies[SESSION_COOKIE] || undefined;
  const ctxOf = (req: FastifyRequest): RequestContext => ({ client: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });

  const kit: Kit = {
    d,
    cookieOpts,
    langOf(req, reply) {
      const q = (req.query as Query | undefined)?.lang;
      if (q === 'en' || q === 'ja') {
        reply.setCookie(LANG_COOKIE, q, { ...cookieOpts, maxAge: 365 * 24 * 3600 });
        return q;
      }
      return req.cookies[LANG_COOKIE] === 'en' ? 'en' : 'ja';
    },
    ctxOf,
    tokenOf,
    async sessionOf(req) {
      const token = tokenOf(req);
      return token ? d.auth.current(token, ctxOf(req)) : { kind: 'none' };
    },
    html,
    notice,
    throttled(reply, lang, seconds) {
      reply.header('retry-after', String(seconds));
      return notice(reply, 429, lang, messages[lang].throttled.replace('{minutes}', String(Math.max(1, Math.ceil(seconds / 60)))), { href: '/login', label: messages[lang].back });
    },
    busy(reply, lang) {
      reply.header('retry-after', '5');
      return notice(reply, 503, lang, messages[lang].busy, { href: '/login', label: messages[lang].back });
    },
    directoryDown(reply, lang) {
      reply.header('retry-after', '30');
      return notice(reply, 503, lang, messages[lang].directoryDown, { href: '/login', label: messages[lang].back });
    },
    setSession(req, reply, token, expiresAt, renewCsrf) {
      reply.setCookie(SESSION_COOKIE, token, { ...cookieOpts, expires: new Date(expiresAt) });
      if (renewCsrf) {
        // generateCsrf makes a new secret (and sets its cookie) when the request carries none.
        delete req.cookies[CSRF_COOKIE];
        reply.generateCsrf();
      }
    },
    header(reply, s, lang) {
      const m = messages[lang];
      return `<header><h1><a href="/">${esc(m.title)}</a></h1>
<span>${esc(m.signedInAs)}: ${esc(s.user.displayName)} (${esc(s.user.name)}, ${esc(m.role[s.user.role])})</span>
<a href="?lang=${lang === 'ja' ? 'en' : 'ja'}">${esc(m.otherLang)}</a>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}"><button type="submit">${esc(m.logoutButton)}</button></form>
</header>
<nav><a href="/account">${esc(m.account)}</a>${s.user.role === 'admin' ? `<a href="/admin/sessions">${esc(m.adminSessions)}</a>` : ''}</nav>`;
    },
    async signedIn(req, reply, lang, roles) {
      const s = await kit.sessionOf(req);
      if (s.kind === 'directory-unavailable') return kit.directoryDown(reply, lang);
      if (s.kind === 'none') return kit.toLogin(req, reply);
      if (roles && !roles.includes(s.session.user.role)) {
        return html(reply, 403, lang, messages[lang].title, `${kit.header(reply, s.session, lang)}<p class="error">${esc(messages[lang].forbidden)}</p>`);
      }
      return s.session;
    },
    toLogin(req, reply) {
      const next = req.method === 'GET' ? localPath(req.url) : null;
      if (next && next !== '/') reply.setCookie(NEXT_COOKIE, next, { ...cookieOpts, maxAge: 30 * 60 });
      return reply.redirect('/login', 303);
    },
    afterLogin(req, reply) {
      const next = localPath(req.cookies[NEXT_COOKIE]);
      if (req.cookies[NEXT_COOKIE] !== undefined) reply.clearCookie(NEXT_COOKIE, { path: '/' });
      return reply.redirect(next && !next.startsWith('/login') && !next.startsWith('/logout') ? next : '/', 303);
    },
    loginRoute: {
      preHandler: csrfProtection,
      config: {
        rateLimit: {
          max: d.loginRequestsPerMinute ?? 30,
          timeWindow: 60_000,
          keyGenerator: (req: FastifyRequest) => addressKey(req.ip),
          // Refused at the door, and still counted: the audit log's summary tells of them.
          onExceeded: (req: FastifyRequest) => void d.auth.refused({ client: req.ip }, 'rate-limited').catch(() => undefined),
          errorResponseBuilder: (_req: FastifyRequest, c: { ttl: number }) =>
            Object.assign(new Error('too many login requests from this address'), { statusCode: 429, retryAfterSeconds: Math.max(1, Math.ceil(c.ttl / 1000)) }),
        },
      },
    },
  };
  return kit;
}
