// Console logins and sessions. The browser holds a random 256-bit token; the
// database keeps only its SHA-256, so a copy of the database opens no session.
// A login (either way) and a logout are each one transaction with their audit
// record. A session ends at logout, at its expiry, when the user is disabled,
// and when an administrator changes the user (role, password, address).
import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/log.js';
import type { SessionRow, Store } from '../store/types.js';
import { summarize, type UserSummary } from './directory.js';
import { dummyHash, verifyPassword } from './passwords.js';

export interface ConsoleAuthSettings {
  sessionHours: number;
  lockoutAttempts: number;
  lockoutMinutes: number;
}

/** Where a request came from, for the audit log. */
export interface RequestContext {
  client: string;
}

export type LoginFailure = 'unknown-user' | 'bad-password' | 'disabled' | 'locked';

export type LoginOutcome =
  | { ok: true; token: string; user: UserSummary; expiresAt: string }
  | { ok: false; reason: LoginFailure };

export interface CurrentSession {
  user: UserSummary;
  expiresAt: string;
}

export interface ConsoleAuth {
  login(name: string, password: string, ctx: RequestContext): Promise<LoginOutcome>;
  /** The session's user, or null when the token opens no live session. */
  current(token: string): Promise<CurrentSession | null>;
  /** Ends the session; false when there was none. */
  logout(token: string, ctx: RequestContext): Promise<boolean>;
}

const sessionId = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** An attempted name as the audit log may show it: no control characters, at most 64 characters. */
const shown = (name: string): string => [...name.replace(/\p{Cc}/gu, '?')].slice(0, 64).join('');

export function createConsoleAuth(
  store: Store,
  audit: Pick<AuditLog, 'append'>,
  settings: ConsoleAuthSettings,
  now: () => Date = () => new Date(),
): ConsoleAuth {
  const failed = async (name: string, reason: LoginFailure, ctx: RequestContext, extra: Record<string, unknown> = {}, counted = false): Promise<LoginOutcome> => {
    const t = now();
    const lockUntil = new Date(t.getTime() + settings.lockoutMinutes * 60_000).toISOString();
    await audit.append(
      { actor: `console:${shown(name)}`, action: 'login-failed', object: shown(name), details: { reason, client: ctx.client, ...extra }, time: t },
      counted ? { loginAttempts: [{ name, succeeded: false, lockAt: settings.lockoutAttempts, lockUntil }] } : undefined,
    );
    return { ok: false, reason };
  };

  return {
    async login(rawName, password, ctx) {
      const name = rawName.trim().toLowerCase();
      const user = name.length > 0 && name.length <= 64 ? await store.getUser(name) : null;
      if (!user) {
        // As long as a wrong password takes: the answer's timing does not tell which names exist.
        await verifyPassword(await dummyHash(), password);
        return failed(rawName, 'unknown-user', ctx);
      }
      const t = now();
      if (user.lockedUntil !== null && user.lockedUntil > t.toISOString()) {
        // Not checked, and not counted: a locked account is no password oracle, and attempts do not prolong the lock.
        return failed(name, 'locked', ctx, { lockedUntil: user.lockedUntil });
      }
      const good = await verifyPassword(user.passwordHash, password);
      if (user.disabled) return failed(name, 'disabled', ctx);
      if (!good) {
        const count = user.failedLogins + 1;
        return failed(name, 'bad-password', ctx, { failedLogins: count, locked: count >= settings.lockoutAttempts }, true);
      }
      const token = randomBytes(32).toString('base64url');
      const session: SessionRow = {
        id: sessionId(token),
        user: name,
        createdAt: t.toISOString(),
        expiresAt: new Date(t.getTime() + settings.sessionHours * 3_600_000).toISOString(),
      };
      await audit.append(
        { actor: `console:${name}`, action: 'login-succeeded', object: name, details: { client: ctx.client, role: user.role, expiresAt: session.expiresAt }, time: t },
        { loginAttempts: [{ name, succeeded: true }], sessionsOpened: [session] },
      );
      return { ok: true, token, user: summarize({ ...user, failedLogins: 0, lockedUntil: null }), expiresAt: session.expiresAt };
    },

    async current(token) {
      const s = await store.getSession(sessionId(token));
      if (!s || s.expiresAt <= now().toISOString()) return null;
      const user = await store.getUser(s.user);
      if (!user || user.disabled || user.updatedAt > s.createdAt) return null;
      return { user: summarize(user), expiresAt: s.expiresAt };
    },

    async logout(token, ctx) {
      const id = sessionId(token);
      const s = await store.getSession(id);
      if (!s) return false;
      await audit.append({ actor: `console:${s.user}`, action: 'logout', object: s.user, details: { client: ctx.client } }, { sessionsEnded: [id] });
      return true;
    },
  };
}
