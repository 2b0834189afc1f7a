// Users: add, change role, mail address or aliases, disable, enable (which also
// unlocks), reset the password. Each change goes through the user directory
// (src/users/directory.ts), which writes it with its `user-changed` record
// and ends the user's sessions. An administrator cannot disable themself or
// change their own role (the console would lose its last administrator).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { roles, type Role } from '../../model/users.js';
import { UserError } from '../../users/errors.js';
import type { CurrentSession } from '../../users/sessions.js';
import type { AdminDeps } from './admin-deps.js';
import { aliasField, aliasMessages, parseAliases } from './admin-aliases.js';
import { adminMessages } from './admin-messages.js';
import { actorOf, adminPage, formField } from './admin-routes.js';
import { esc, Raw, shown, table } from './html.js';
import type { Kit } from './kit.js';
import { messages, type Lang } from './messages.js';

const OPS = ['role', 'email', 'aliases', 'disable', 'enable', 'password'] as const;
type Op = (typeof OPS)[number];

export function registerAdminUsers(c: FastifyInstance, k: Kit, a: AdminDeps, pre: Record<string, unknown>): void {
  const usersPage = async (reply: FastifyReply, me: CurrentSession, lang: Lang, code: number, note?: { error?: string; info?: string }): Promise<FastifyReply> => {
    const w = adminMessages[lang];
    const m = messages[lang];
    const csrf = `<input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">`;
    const form = (name: string, op: Op, inner: string, label: string): string =>
      `<form class="inline" method="post" action="/admin/users/${esc(name)}">${csrf}<input type="hidden" name="op" value="${op}">${inner}<button type="submit">${esc(label)}</button></form>`;
    const now = a.now().toISOString();
    const list = await a.users.list();
    const rows = list.map((u) => {
      const roleSelect = `<select name="role" aria-label="${esc(w.ucol.role)}">${roles.map((r) => `<option value="${r}"${u.role === r ? ' selected' : ''}>${esc(m.role[r])}</option>`).join('')}</select>`;
      // Aliases for directory users too: the directory gives one address, and the aliases are kept across logins.
      const aliases = form(u.name, 'aliases', aliasField(lang, u.aliases), aliasMessages[lang].aliasesButton);
      const actions =
        u.source === 'ldap'
          ? aliases
          : [
              form(u.name, 'role', roleSelect, w.roleButton),
              form(u.name, 'email', `<input name="email" type="email" value="${esc(u.email ?? '')}" aria-label="${esc(w.ucol.email)}">`, w.emailButton),
              aliases,
              u.disabled || (u.lockedUntil && u.lockedUntil > now) ? form(u.name, 'enable', '', w.enableButton) : form(u.name, 'disable', '', w.disableButton),
              form(u.name, 'password', `<input name="password" type="password" autocomplete="new-password" minlength="12" aria-label="${esc(w.newPassword)}" required>`, w.passwordButton),
            ].join(' ');
      const status = u.disabled ? w.disabled : u.lockedUntil && u.lockedUntil > now ? w.locked : w.enabled;
      return [u.name, u.displayName, m.role[u.role], new Raw([u.email ?? '', ...u.aliases].map((x) => shown(x)).join('<br>')), u.source, status, u.secondFactor ? w.on : w.off, new Raw(actions)];
    });
    const c2 = w.ucol;
    const add = `<section><h3>${esc(w.addUserHeading)}</h3><form class="login" method="post" action="/admin/users">${csrf}
<label>${esc(c2.name)}<input name="name" required maxlength="64" autocomplete="off"></label>
<label>${esc(w.displayName)}<input name="displayName" maxlength="200"></label>
<label>${esc(c2.role)}<select name="role">${roles.map((r) => `<option value="${r}">${esc(m.role[r])}</option>`).join('')}</select></label>
<label>${esc(c2.email)}<input name="email" type="email"></label>
<label>${esc(aliasMessages[lang].aliases)}${aliasField(lang, [])}</label>
<label>${esc(w.initialPassword)}<input name="password" type="password" autocomplete="new-password" minlength="12" required></label>
<button type="submit">${esc(w.addButton)}</button></form></section>`;
    return adminPage(k, reply, me, lang, code, w.usersHeading, `${table([c2.name, c2.display, c2.role, c2.email, c2.source, c2.status, c2.totp, c2.act], rows, m.none)}${add}`, note);
  };

  /** A change's outcome: the list again, with what happened (a UserError's words are the directory's own, in both languages). */
  const attempt = async (reply: FastifyReply, me: CurrentSession, lang: Lang, info: string, work: () => Promise<unknown>): Promise<FastifyReply> => {
    try {
      await work();
    } catch (err) {
      if (err instanceof UserError) return usersPage(reply, me, lang, 400, { error: err.message });
      throw err;
    }
    return usersPage(reply, me, lang, 200, { info });
  };

  c.get('/admin/users', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    return usersPage(reply, me, lang, 200);
  });

  c.post('/admin/users', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const password = formField(req, 'password') ?? '';
    const role = formField(req, 'role') ?? '';
    if (!(roles as readonly string[]).includes(role)) return usersPage(reply, me, lang, 400, { error: adminMessages[lang].ucol.role });
    return attempt(reply, me, lang, adminMessages[lang].userAdded, () =>
      a.users.add(
        {
          name: (formField(req, 'name') ?? '').trim(),
          displayName: (formField(req, 'displayName') ?? '').trim() || undefined,
          role: role as Role,
          email: (formField(req, 'email') ?? '').trim() || null,
          aliases: parseAliases(formField(req, 'aliases')),
          password,
        },
        actorOf(me),
      ),
    );
  });

  c.post('/admin/users/:name', pre, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const w = adminMessages[lang];
    const name = (req.params as { name: string }).name;
    const op = formField(req, 'op') as Op | null;
    if (!op || !OPS.includes(op)) return usersPage(reply, me, lang, 400, { error: messages[lang].badRequest });
    if (name === me.user.name && (op === 'disable' || op === 'role')) return usersPage(reply, me, lang, 400, { error: w.notYourself });
    const actor = actorOf(me);
    switch (op) {
      case 'role':
        return attempt(reply, me, lang, w.userSaved, () => a.users.setRole(name, (formField(req, 'role') ?? '') as Role, actor));
      case 'email':
        return attempt(reply, me, lang, w.userSaved, () => a.users.setEmail(name, (formField(req, 'email') ?? '').trim() || null, actor));
      case 'aliases':
        return attempt(reply, me, lang, w.userSaved, () => a.users.setAliases(name, parseAliases(formField(req, 'aliases')), actor));
      case 'disable':
        return attempt(reply, me, lang, w.userSaved, () => a.users.disable(name, actor));
      case 'enable':
        return attempt(reply, me, lang, w.userSaved, () => a.users.enable(name, actor));
      case 'password': {
        return attempt(reply, me, lang, w.userSaved, () => a.users.setPassword(name, formField(req, 'password') ?? '', actor));
      }
    }
  });
}
