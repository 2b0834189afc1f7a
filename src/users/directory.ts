// Console accounts: created and changed by an administrator (`mugaika user ...`),
// each change written together with its `user-changed` audit record.
import type { AuditLog } from '../audit/log.js';
import { roles, type Role, type UserRow } from '../model/users.js';
import type { Store } from '../store/types.js';
import { UserError } from './errors.js';
import { hashPassword } from './passwords.js';

/** What may be shown of an account: everything but the password hash and the sealed TOTP secret. */
export type UserSummary = Omit<UserRow, 'passwordHash' | 'totp'> & { secondFactor: boolean };

export const summarize = ({ passwordHash: _hidden, totp, ...rest }: UserRow): UserSummary => ({ ...rest, secondFactor: totp !== null });

export interface NewUser {
  name: string;
  displayName?: string;
  role: Role;
  email?: string | null;
  /** Other addresses whose quarantined mail is theirs too. */
  aliases?: readonly string[];
  password: string;
}

export interface UserDirectory {
  list(): Promise<UserSummary[]>;
  get(name: string): Promise<UserSummary>;
  add(user: NewUser, actor: string): Promise<UserSummary>;
  setRole(name: string, role: Role, actor: string): Promise<UserSummary>;
  setEmail(name: string, email: string | null, actor: string): Promise<UserSummary>;
  /** Replaces the user's other addresses (an empty list removes them all). */
  setAliases(name: string, aliases: readonly string[], actor: string): Promise<UserSummary>;
  setPassword(name: string, password: string, actor: string): Promise<UserSummary>;
  /** Refuses every login and ends the user's sessions. */
  disable(name: string, actor: string): Promise<UserSummary>;
  /** Allows logins again and clears its locks (for every address). */
  enable(name: string, actor: string): Promise<UserSummary>;
  /** Removes the user's second factor and recovery codes (a lost phone) and ends their sessions; they enrol again at their next login. */
  resetSecondFactor(name: string, actor: string): Promise<UserSummary>;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const EMAIL = /^[^\s@<>"]+@[A-Za-z0-9.-]+$/;

export function checkUserName(name: string): string {
  if (!NAME.test(name)) {
    throw new UserError(
      `ユーザー名 "${name.slice(0, 80)}" は使えません。英小文字・数字・. _ - で 64 文字まで / user names are 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

function checkEmail(email: string | null | undefined): string | null {
  if (email === undefined || email === null || email === '') return null;
  if (!EMAIL.test(email)) throw new UserError(`メールアドレス "${email.slice(0, 200)}" の形式が正しくありません / not a mail address: ${email.slice(0, 200)}`);
  return email.toLowerCase();
}

/** Checked, lower-case, each once, without the main address; at most 20. */
export function checkAliases(aliases: readonly string[], email: string | null): string[] {
  if (aliases.length > 20) throw new UserError(`別名のアドレスは 20 件までです (${aliases.length} 件) / at most 20 aliases (${aliases.length} given)`);
  const out = [...new Set(aliases.map((a) => checkEmail(a.trim())).filter((a): a is string => a !== null))];
  return out.filter((a) => a !== email);
}

export function checkRole(role: string): Role {
  if (!(roles as readonly string[]).includes(role)) {
    throw new UserError(`役割 "${role}" はありません。${roles.join(', ')} のいずれか / no role "${role}": one of ${roles.join(', ')}`);
  }
  return role as Role;
}

export function createUserDirectory(store: Store, audit: Pick<AuditLog, 'append'>, now: () => Date = () => new Date()): UserDirectory {
  const existing = async (name: string): Promise<UserRow> => {
    const u = await store.getUser(name);
    if (!u) throw new UserError(`ユーザー ${name} はいません (mugaika user list で確認) / no user ${name} (see mugaika user list)`);
    return u;
  };

  /** Writes the changed row with its audit record; every change by an administrator also ends the user's sessions. */
  const change = async (after: Omit<UserRow, 'updatedAt'>, actor: string, details: Record<string, unknown>): Promise<UserSummary> => {
    const row: UserRow = { ...after, updatedAt: now().toISOString() };
    await audit.append({ actor, action: 'user-changed', object: row.name, details: { ...details, role: row.role } }, { users: [row], userSessionsEnded: [{ user: row.name }] });
    return summarize(row);
  };

  return {
    async list() {
      return (await store.listUsers()).map(summarize);
    },
    async get(name) {
      return summarize(await existing(name));
    },
    async add(u, actor) {
      const name = checkUserName(u.name);
      const role = checkRole(u.role);
      const email = checkEmail(u.email);
      if (role === 'staff' && !email) {
        throw new UserError('職員 (staff) にはメールアドレス (--email) が必要です: 自分宛ての隔離メールを見るため / a staff user needs --email: it is how their quarantined mail is found');
      }
      if (await store.getUser(name)) throw new UserError(`ユーザー ${name} はすでにいます / user ${name} already exists`);
      const passwordHash = await hashPassword(u.password);
      const t = now().toISOString();
      const row: UserRow = {
        name,
        displayName: (u.displayName ?? name).slice(0, 200),
        role,
        email,
        aliases: checkAliases(u.aliases ?? [], email),
        passwordHash,
        disabled: false,
        failedLogins: 0,
        lockedUntil: null,
        createdAt: t,
        updatedAt: t,
        source: 'local',
        totp: null,
      };
      await audit.append({ actor, action: 'user-changed', object: name, details: { change: 'created', role, email, ...(row.aliases.length > 0 ? { aliases: row.aliases } : {}) } }, { users: [row] });
      return summarize(row);
    },
    async setRole(name, role, actor) {
      const u = await existing(name);
      const to = checkRole(role);
      return change({ ...u, role: to }, actor, { change: 'role', fromRole: u.role });
    },
    async setEmail(name, email, actor) {
      const u = await existing(name);
      const to = checkEmail(email);
      return change({ ...u, email: to }, actor, { change: 'email', fromEmail: u.email, email: to });
    },
    async setAliases(name, aliases, actor) {
      const u = await existing(name);
      const to = checkAliases(aliases, u.email);
      return change({ ...u, aliases: to }, actor, { change: 'aliases', fromAliases: u.aliases, aliases: to });
    },
    async setPassword(name, password, actor) {
      const u = await existing(name);
      return change({ ...u, passwordHash: await hashPassword(password) }, actor, { change: 'password' });
    },
    async disable(name, actor) {
      const u = await existing(name);
      return change({ ...u, disabled: true }, actor, { change: 'disabled' });
    },
    async enable(name, actor) {
      const u = await existing(name);
      const row: UserRow = { ...u, disabled: false, failedLogins: 0, lockedUntil: null, updatedAt: now().toISOString() };
      // A success from the administrator's hand: every address's count and lock is cleared with it.
      await audit.append(
        { actor, action: 'user-changed', object: name, details: { change: 'enabled', role: u.role, wasLockedUntil: u.lockedUntil } },
        { users: [row], userSessionsEnded: [{ user: name }], addressLocksCleared: [name] },
      );
      return summarize(row);
    },
    async resetSecondFactor(name, actor) {
      const u = await existing(name);
      if (!u.totp) throw new UserError(`${name} には二要素認証が設定されていません / ${name} has no second factor to reset`);
      await audit.append({ actor, action: 'second-factor-reset', object: name, details: { role: u.role, enrolledAt: u.totp.enrolledAt } }, { totpReset: [name], userSessionsEnded: [{ user: name }] });
      return summarize({ ...u, totp: null });
    },
  };
}
