// Console sessions, and the sign-in service the console's routes use.
//
// The browser holds a random 256-bit token; the database keeps only its
// SHA-256, so a copy of the database opens no session. A session ends at
// logout; at its absolute end (web.sessionHours after login); after
// web.idleMinutes without a request; when its user is disabled, changed by an
// administrator, removed from the directory or its groups (checked at each
// request), or changes their own password (the others end); and when its user
// or an administrator ends it. Every opening and ending is one transaction
// with its audit record.
import type { SessionRow, UserRow } from '../model/users.js';
import { changePassword, type PasswordChange } from './account.js';
import { plusMinutes, sessionId, type AuthDeps, type LoginOutcome, type RequestContext, type SignInSettings } from './auth-deps.js';
import { summarize, type UserSummary } from './directory.js';
import { createFailureAudit, type FailureAuditSettings } from './failure-audit.js';
import { createFailureTiming } from './failure-timing.js';
import { passwordLogin } from './login.js';
import { finishEnrolment, liveSession, secondFactor, startEnrolment, type Enrolment, type EnrolOutcome } from './second-factor.js';
import { createLoginThrottle } from './throttle.js';

export type { LoginOutcome, RequestContext, SignInSettings } from './auth-deps.js';

export interface CurrentSession {
  user: UserSummary;
  /** The session's id (the token's SHA-256), to tell it among the user's others. */
  id: string;
  expiresAt: string;
}

export type Current = { kind: 'ok'; session: CurrentSession } | { kind: 'none' } | { kind: 'directory-unavailable' };

/** A session as its user or an administrator sees it. */
export type SessionView = Omit<SessionRow, 'stage'> & { idleUntil: string };

export interface ConsoleAuth {
  login(name: string, password: string, ctx: RequestContext): Promise<LoginOutcome>;
  /** The login half done that a token opens: its stage, or null. */
  pending(token: string): Promise<{ stage: 'second-factor' | 'enrol'; user: string } | null>;
  secondFactor(token: string, code: string, ctx: RequestContext): Promise<LoginOutcome>;
  /** A new secret for the session's user (a login waiting for enrolment, or a signed-in user without TOTP). */
  startEnrolment(token: string): Promise<Enrolment | null>;
  finishEnrolment(token: string, ticket: string, code: string, ctx: RequestContext): Promise<EnrolOutcome>;
  current(token: string, ctx: RequestContext): Promise<Current>;
  /** Ends the session; false when there was none. */
  logout(token: string, ctx: RequestContext): Promise<boolean>;
  /** Live sessions: the user's own, or (for an administrator asking with no user) everyone's. */
  sessions(of?: string): Promise<SessionView[]>;
  /** Ends a session of `user` (by id) as `by` asks: their own, or anyone's for an administrator. False when there was none. */
  endSession(by: CurrentSession, id: string, ctx: RequestContext): Promise<boolean>;
  changePassword(by: CurrentSession, current: string, next: string, ctx: RequestContext): Promise<PasswordChange>;
  /** A login post refused at the door (over the per-address request limit): counted with the failures, never let through. */
  refused(ctx: RequestContext, reason: string): Promise<void>;
  /** Writes the failures summarised so far. */
  close(): Promise<void>;
}

export interface ConsoleAuthOptions extends Omit<AuthDeps, 'throttle' | 'failures' | 'timing' | 'now'> {
  now?: () => Date;
  /** The least time a failed login takes to answer, ms (default 300). */
  failureFloorMs?: number;
  failureAudit?: FailureAuditSettings;
}

export function createConsoleAuth(o: ConsoleAuthOptions): ConsoleAuth {
  const now = o.now ?? (() => new Date());
  const settings: SignInSettings = o.settings;
  const d: AuthDeps = {
    ...o,
    now,
    throttle: createLoginThrottle({ addressFailures: settings.addressFailures, windowMinutes: settings.lockoutMinutes }, () => now().getTime()),
    failures: createFailureAudit(o.audit, o.failureAudit, now),
    timing: createFailureTiming({ floorMs: o.failureFloorMs ?? 300 }),
  };
  /** Directory answers for a user, kept directoryRecheckSeconds. */
  const checked = new Map<string, number>();

  const idleUntil = (s: SessionRow): string => plusMinutes(new Date(s.lastSeenAt), settings.idleMinutes);
  const live = (s: SessionRow, t: string): boolean => s.stage === 'full' && s.expiresAt > t && idleUntil(s) > t;

  /** A directory user's standing now; null when the session may go on. */
  const directoryCheck = async (user: UserRow, ctx: RequestContext): Promise<Current | null> => {
    if (!o.directory) return { kind: 'none' };
    const last = checked.get(user.name);
    if (last !== undefined && now().getTime() - last < settings.directoryRecheckSeconds * 1000) return null;
    const answer = await o.directory.lookup(user.name);
    if (answer.kind === 'unavailable') return { kind: 'directory-unavailable' };
    const t = now();
    if (answer.kind !== 'ok' || answer.profile.role !== user.role) {
      checked.delete(user.name);
      // Gone from the directory or its groups, or moved to another role: every session of the user ends now.
      const reason = answer.kind === 'ok' ? 'role-changed' : answer.kind === 'unknown' ? 'not-in-directory' : answer.kind;
      const effects = answer.kind === 'ok' ? { users: [{ ...user, role: answer.profile.role, email: answer.profile.email, updatedAt: t.toISOString() }] } : {};
      await d.audit.append(
        {
          actor: 'directory',
          action: 'session-ended',
          object: user.name,
          details: { reason, client: ctx.client, ...(answer.kind === 'ok' ? { fromRole: user.role, role: answer.profile.role } : {}) },
          time: t,
        },
        { ...effects, userSessionsEnded: [{ user: user.name }] },
      );
      return { kind: 'none' };
    }
    const p = answer.profile;
    if (p.email !== user.email || (p.displayName || user.name) !== user.displayName) {
      await d.audit.append(
        { actor: 'directory', action: 'user-changed', object: user.name, details: { change: 'profile', role: user.role, fromEmail: user.email, email: p.email }, time: t },
        { users: [{ ...user, email: p.email, displayName: p.displayName || user.name, updatedAt: t.toISOString() }] },
      );
    }
    checked.set(user.name, t.getTime());
    return null;
  };

  const auth: ConsoleAuth = {
    login: (name, password, ctx) => passwordLogin(d, name, password, ctx),
    async pending(token) {
      const l = await liveSession(d, token);
      return l && l.session.stage !== 'full' ? { stage: l.session.stage, user: l.user.name } : null;
    },
    secondFactor: (token, code, ctx) => secondFactor(d, token, code, ctx),
    async startEnrolment(token) {
      const l = await liveSession(d, token);
      if (!l || l.session.stage === 'second-factor' || l.user.totp) return null;
      if (l.session.stage === 'full' && !live(l.session, now().toISOString())) return null;
      return startEnrolment(d, l.session);
    },
    finishEnrolment: (token, ticket, code, ctx) => finishEnrolment(d, token, ticket, code, ctx),

    async current(token, ctx) {
      const found = await o.store.getSessionAndUser(sessionId(token));
      const t = now();
      if (!found || !live(found.session, t.toISOString())) return { kind: 'none' };
      const s = found.session;
      let user = found.user;
      if (user.disabled) return { kind: 'none' };
      if (user.source === 'ldap') {
        const refused = await directoryCheck(user, ctx);
        if (refused) return refused;
        user = (await o.store.getUser(s.user)) ?? user;
      }
      // Idleness counts from the last request, written at most once a minute.
      if (t.getTime() - Date.parse(s.lastSeenAt) > 60_000) await o.store.touchSession(s.id, t);
      return { kind: 'ok', session: { user: summarize(user), id: s.id, expiresAt: s.expiresAt } };
    },

    async logout(token, ctx) {
      const id = sessionId(token);
      const s = await o.store.getSession(id);
      if (!s) return false;
      await d.audit.append({ actor: `console:${s.user}`, action: 'logout', object: s.user, details: { client: ctx.client } }, { sessionsEnded: [id] });
      return true;
    },

    async sessions(of) {
      const t = now().toISOString();
      return (await o.store.listSessions(of)).filter((s) => live(s, t)).map(({ stage: _stage, ...rest }) => ({ ...rest, idleUntil: idleUntil({ ...rest, stage: 'full' }) }));
    },

    async endSession(by, id, ctx) {
      const s = await o.store.getSession(id);
      if (!s) return false;
      if (s.user !== by.user.name && by.user.role !== 'admin') return false;
      await d.audit.append(
        {
          actor: `console:${by.user.name}`,
          action: 'session-ended',
          object: s.user,
          details: { reason: s.user === by.user.name ? 'by-user' : 'by-admin', client: ctx.client, session: s.id.slice(0, 12), sessionClient: s.client },
        },
        { sessionsEnded: [id] },
      );
      return true;
    },

    changePassword: (by, current, next, ctx) => changePassword(d, by.user.name, by.id, current, next, ctx),

    refused: (ctx, reason) => d.failures.uncounted(ctx.client, { actor: 'console', action: 'login-failed', object: null, details: { reason, client: ctx.client } }),

    close: () => d.failures.close(),
  };
  return auth;
}
