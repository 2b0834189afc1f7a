// The first step of a console login: the name and password.
//
// In order: the client address's failure budget (refused with 429 before the
// name is read); the password thread's queue (refused with 503, whatever the
// name); then, one attempt per name at a time, the account's locks (the one
// for this address, and the one for addresses it never logged in from) and
// only then the password: argon2id on the password thread for a local
// account, a bind for a directory user. At most lockoutAttempts guesses per
// account and address are ever checked, however many arrive at once (inTurn).
//
// Every failure is answered after the same time (failure-timing.ts) and with
// the same page; why it failed is the audit log's to tell.
import type { LoginAddressRow, UserRow } from '../model/users.js';
import {
  countedFailure,
  inTurn,
  lockOf,
  needsSecondFactor,
  newToken,
  openSession,
  PENDING_MINUTES,
  plusMinutes,
  sessionRow,
  uncountedFailure,
  type AuthDeps,
  type LoginOutcome,
  type RequestContext,
} from './auth-deps.js';
import { checkUserName } from './directory.js';
import type { DirectoryProfile } from './ldap.js';

const isName = (name: string): boolean => {
  try {
    checkUserName(name);
    return true;
  } catch {
    return false;
  }
};

export async function passwordLogin(d: AuthDeps, rawName: string, password: string, ctx: RequestContext): Promise<LoginOutcome> {
  const started = performance.now();
  const t = d.now();
  const wait = d.throttle.retryAfter(ctx.client);
  if (wait > 0) {
    await uncountedFailure(d, rawName, 'throttled', ctx, t, { retryAfterSeconds: wait }, false);
    return { kind: 'throttled', retryAfterSeconds: wait };
  }
  if (d.passwords.pending >= d.settings.passwordQueue) {
    await uncountedFailure(d, rawName, 'busy', ctx, t, {}, false);
    return { kind: 'busy' };
  }
  const name = rawName.trim().toLowerCase();
  if (!isName(name)) {
    const out = await uncountedFailure(d, rawName, 'unknown-user', ctx, t);
    await d.timing.pad(started);
    return out;
  }
  const out = await inTurn(d, name, ctx, (user, addr) => checkPassword(d, name, password, ctx, started, user, addr));
  if (out) return out.value;
  await uncountedFailure(d, name, 'throttled', ctx, t, { waiting: 'too many attempts for this name at once' }, false);
  return { kind: 'throttled', retryAfterSeconds: 1 };
}

async function checkPassword(d: AuthDeps, name: string, password: string, ctx: RequestContext, started: number, user: UserRow | null, addr: LoginAddressRow | null): Promise<LoginOutcome> {
  const t = d.now();
  // Again, now that this attempt's turn has come: the ones before it may have used the budget up.
  const wait = d.throttle.retryAfter(ctx.client);
  if (wait > 0) {
    await uncountedFailure(d, name, 'throttled', ctx, t, { retryAfterSeconds: wait }, false);
    return { kind: 'throttled', retryAfterSeconds: wait };
  }
  const failSlowly = async (outcome: Promise<LoginOutcome>): Promise<LoginOutcome> => {
    const o = await outcome;
    await d.timing.pad(started);
    return o;
  };

  const viaDirectory = user === null ? d.directory !== null : user.source === 'ldap';
  if (!user && !viaDirectory) return failSlowly(uncountedFailure(d, name, 'unknown-user', ctx, t));
  if (user?.source === 'ldap' && !d.directory) return failSlowly(uncountedFailure(d, name, 'directory-not-configured', ctx, t));
  if (user) {
    const lock = lockOf(d, user, addr, t);
    if (lock) return failSlowly(uncountedFailure(d, name, 'locked', ctx, t, { lock: lock.scope, lockedUntil: lock.until }));
    if (user.disabled) return failSlowly(uncountedFailure(d, name, 'disabled', ctx, t));
  }

  const checkStarted = performance.now();
  if (!viaDirectory) {
    let good: boolean;
    try {
      good = await d.passwords.verify(user!.passwordHash, password);
    } catch (err) {
      if (err instanceof Error && err.name === 'PasswordQueueFullError') {
        await uncountedFailure(d, name, 'busy', ctx, t, {}, false);
        return { kind: 'busy' };
      }
      throw err;
    }
    d.timing.sample(performance.now() - checkStarted);
    if (!good) return failSlowly(countedFailure(d, user!, addr, 'bad-password', ctx, t));
    return passwordAccepted(d, user!, ctx, t, {});
  }

  const answer = await d.directory!.authenticate(name, password);
  d.timing.sample(performance.now() - checkStarted);
  switch (answer.kind) {
    case 'unavailable':
      await uncountedFailure(d, name, 'directory-unavailable', ctx, t, { error: answer.error }, false);
      return { kind: 'directory-unavailable' };
    case 'unknown':
      return failSlowly(uncountedFailure(d, name, user ? 'not-in-directory' : 'unknown-user', ctx, t, { directory: true }));
    case 'bad-password':
      return failSlowly(user ? countedFailure(d, user, addr, 'bad-password', ctx, t, { directory: true }) : uncountedFailure(d, name, 'bad-password', ctx, t, { directory: true }));
    case 'no-group':
      return failSlowly(uncountedFailure(d, name, 'not-in-group', ctx, t, { directory: true }));
    case 'conflicting-groups':
      return failSlowly(uncountedFailure(d, name, 'conflicting-groups', ctx, t, { directory: true, roles: answer.roles }));
    case 'ok': {
      const { row, changes } = fromDirectory(user, name, answer.profile, t);
      return passwordAccepted(d, row, ctx, t, changes);
    }
  }
}

/**
 * A directory user's row as the directory has it now: created at the first
 * login, refreshed at each. `changes` says what changed (for the audit record);
 * a change of role ends the user's other sessions.
 */
function fromDirectory(user: UserRow | null, name: string, p: DirectoryProfile, t: Date): { row: UserRow; changes: Record<string, unknown> } {
  const at = t.toISOString();
  if (!user) {
    return {
      row: {
        name,
        displayName: p.displayName || name,
        role: p.role,
        email: p.email,
        aliases: [],
        passwordHash: '',
        disabled: false,
        failedLogins: 0,
        lockedUntil: null,
        createdAt: at,
        updatedAt: at,
        source: 'ldap',
        totp: null,
      },
      changes: { created: true },
    };
  }
  const changes: Record<string, unknown> = {};
  if (user.role !== p.role) changes.fromRole = user.role;
  if (user.email !== p.email) changes.fromEmail = user.email;
  if (user.displayName !== (p.displayName || name)) changes.fromDisplayName = user.displayName;
  const changed = Object.keys(changes).length > 0;
  return { row: { ...user, role: p.role, email: p.email, displayName: p.displayName || name, updatedAt: changed ? at : user.updatedAt }, changes };
}

/** The password was right: a session, or the step that opens one (a code, or enrolling a phone first). */
async function passwordAccepted(d: AuthDeps, user: UserRow, ctx: RequestContext, t: Date, directoryChanges: Record<string, unknown>): Promise<LoginOutcome> {
  const fromDirectory = user.source === 'ldap';
  const effects = fromDirectory ? { users: [user], ...('fromRole' in directoryChanges ? { userSessionsEnded: [{ user: user.name }] } : {}) } : {};
  const directory = fromDirectory ? { directory: directoryChanges } : {};
  if (!needsSecondFactor(d, user)) return openSession(d, user, ctx, t, { factors: ['password'], ...directory }, effects);
  const stage = user.totp ? 'second-factor' : 'enrol';
  const token = newToken();
  await d.audit.append(
    { actor: `console:${user.name}`, action: 'login-password-accepted', object: user.name, details: { client: ctx.client, next: stage === 'enrol' ? 'enrol-totp' : 'totp', ...directory }, time: t },
    { ...effects, sessionsOpened: [sessionRow(token, user.name, stage, ctx, t, plusMinutes(t, PENDING_MINUTES))] },
  );
  return { kind: stage, token };
}
