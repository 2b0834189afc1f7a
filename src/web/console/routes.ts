// The web console: login (password, then a TOTP code for those who need one),
// logout, the user's own account and sessions, and a start page for each
// role: staff see the quarantined mail addressed to them, administrators the
// release queue (and everyone's sessions), auditors the audit log. Every
// login step, failure and logout is audited (src/users/). Forms carry a CSRF
// token, the login forms a per-address request limit; pages carry no script.
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/types.js';
import type { CurrentSession } from '../../users/sessions.js';
import { registerAccountRoutes } from './account-routes.js';
import { registerUnlockRoutes } from './unlock-routes.js';
import { registerAuditRoutes } from './audit-routes.js';
import { adminStart, registerAdminRoutes } from './admin-routes.js';
import { registerAdminPolicy } from './admin-policy.js';
import { loginPage, registerAuthRoutes } from './auth-routes.js';
import { esc, STYLESHEET, table, when } from './html.js';
import { cookieOptions, createKit, LANG_COOKIE, type ConsoleDeps } from './kit.js';
import { messages, type Lang } from './messages.js';
import { registerStaffRoutes, staffListPage } from './staff-routes.js';

export { SESSION_COOKIE, type ConsoleDeps } from './kit.js';

export async function registerConsole(app: FastifyInstance, d: ConsoleDeps): Promise<void> {
  // One encapsulated context: the cookie, form, CSRF and rate-limit plugins and the error page apply to the console only.
  await app.register(async (c) => {
    await c.register(cookie);
    await c.register(formbody, { bodyLimit: 16 * 1024 });
    await c.register(csrf, { cookieOpts: cookieOptions(d.secureCookies) });
    await c.register(rateLimit, { global: false });
    const k = createKit(d, c.csrfProtection);

    c.setErrorHandler((err: Error & { statusCode?: number; code?: string; retryAfterSeconds?: number }, req, reply) => {
      const lang: Lang = req.cookies?.[LANG_COOKIE] === 'en' ? 'en' : 'ja';
      if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') return loginPage(k, reply, lang, 403, { error: messages[lang].badRequest });
      if (err.statusCode === 429) return k.throttled(reply, lang, err.retryAfterSeconds ?? 60);
      const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (code === 500) req.log.error({ err: err.message }, 'console error');
      // Words of our own, not the framework's English (which can echo what was sent).
      const words = messages[lang].httpError;
      const text = code === 500 ? words[500] : code === 400 || code === 413 || code === 415 ? words[code] : words.other;
      return k.notice(reply, code, lang, text, { href: '/', label: messages[lang].back });
    });

    c.get('/console.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));
    registerAuthRoutes(c, k, c.csrfProtection);
    registerAccountRoutes(c, k, c.csrfProtection);
    registerUnlockRoutes(c, k, c.csrfProtection, d.unlock);
    registerStaffRoutes(c, k, c.csrfProtection);
    const auditorStart = registerAuditRoutes(c, k, c.csrfProtection);
    registerAdminRoutes(c, k, c.csrfProtection);
    registerAdminPolicy(c, k, c.csrfProtection);

    c.get('/', async (req, reply) => {
      const lang = k.langOf(req, reply);
      const s = await k.sessionOf(req);
      if (s.kind === 'directory-unavailable') return k.directoryDown(reply, lang);
      if (s.kind === 'none') return k.toLogin(req, reply);
      if (s.session.user.role === 'staff') return staffListPage(k, req, reply, s.session, lang);
      if (s.session.user.role === 'auditor') return auditorStart(req, reply, s.session, lang);
      const m = messages[lang];
      const header = `${k.header(reply, s.session, lang)}
<p>${esc(m.sessionUntil)}: ${esc(when(s.session.expiresAt, lang))}</p>`;
      return k.html(reply, 200, lang, m.title, header + (await startPage(d, s.session, lang)));
    });
  });
}

/** What each role sees first; nothing of another role's view. */
async function startPage(d: ConsoleDeps, s: CurrentSession, lang: Lang): Promise<string> {
  const { store } = d;
  const m = messages[lang];
  const itemRows = (items: Awaited<ReturnType<Store['listItems']>>): unknown[][] =>
    items.map((i) => [i.id, when(i.receivedAt, lang), i.envelopeFrom ?? '<>', i.recipients.join(', '), i.findings.join(' '), m.state[i.state]]);
  const itemCols = [m.col.id, m.col.received, m.col.from, m.col.to, m.col.findings, m.col.state];
  switch (s.user.role) {
    case 'admin': {
      if (d.admin) return adminStart(store, lang, d.admin.now());
      const items = await store.listItems({ states: ['release-requested', 'held'], newestFirst: true, limit: 100 });
      return `<h2>${esc(m.reviewQueue)}</h2>${table(itemCols, itemRows(items), m.none)}`;
    }
    default:
      // Staff and auditors have pages of their own (staffListPage, the audit search).
      return '';
  }
}
