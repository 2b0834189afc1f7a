// What the sign-in modules (login.ts, second-factor.ts, sessions.ts,
// account.ts) share: their settings and collaborators, the outcomes they
// return, and the small steps they all take (tokens, session rows, locks,
// failures and their audit records).
import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/log.js';
import { visible } from '../audit/visible.js';
import type { KeyRing } from '../keys/key-ring.js';
import type { AuditEffects, Store } from '../store/types.js';
import type { LoginAddressRow, SessionRow, SessionStage, UserRow } from '../model/users.js';
import { summarize, type UserSummary } from './directory.js';
import type { FailureAudit } from './failure-audit.js';
import type { FailureTiming } from './failure-timing.js';
import type { Directory } from './ldap.js';
import type { PasswordHasher } from './password-worker.js';
import { addressKey, type LoginThrottle } from './throttle.js';

export interface SignInSettings {
  sessionHours: number;
  idleMinutes: number;
  lockoutAttempts: number;
  lockoutMinutes: number;
  accountLockoutAttempts: number;
  trustedAddressDays: number;
  addressFailures: number;
  staffTotp: 'optional' | 'required';
  /** The issuer an authenticator app shows beside the account (e.g. "mugaika (mugaika.city.example.lg.jp)"). */
  totpIssuer: string;
  /** Password checks that may wait for the password thread. */
  passwordQueue: number;
  /** How long a directory user's membership is trusted between checks, s. */
  directoryRecheckSeconds: number;
}

/** Where a request came from: the client address (as the audit log records it) and the browser. */
export interface RequestContext {
  client: string;
  userAgent?: string;
}

export interface AuthDeps {
  store: Store;
  audit: Pick<AuditLog, 'append' | 'appendMany'>;
  settings: SignInSettings;
  now: () => Date;
  passwords: Pick<PasswordHasher, 'verify' | 'hash' | 'pending'>;
  throttle: LoginThrottle;
  failures: FailureAudit;
  timing: FailureTiming;
  /** The master keys that seal TOTP secrets. */
  ring: KeyRing;
  directory: Directory | null;
}

/** How a step of a login ended; the browser learns only the kind, and of failures nothing more. */
export type LoginOutcome =
  | { kind: 'signed-in'; token: string; user: UserSummary; expiresAt: string }
  | { kind: 'second-factor'; token: string }
  | { kind: 'enrol'; token: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'busy' }
  | { kind: 'directory-unavailable' }
  /** The login half done is gone (expired, or the account changed): start again. */
  | { kind: 'expired' };

/** A login that is not finished yet lives this long. */
export const PENDING_MINUTES = 10;

export const newToken = (): string => randomBytes(32).toString('base64url');
export const sessionId = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A typed name as the audit log may show it: hidden characters written out, at most 64 characters. */
export const shownName = (name: string): string => [...visible(name)].slice(0, 64).join('');

export const plusMinutes = (t: Date, minutes: number): string => new Date(t.getTime() + minutes * 60_000).toISOString();

export function sessionRow(token: string, user: string, stage: SessionStage, ctx: RequestContext, t: Date, expiresAt: string): SessionRow {
  return {
    id: sessionId(token),
    user,
    createdAt: t.toISOString(),
    expiresAt,
    lastSeenAt: t.toISOString(),
    stage,
    client: ctx.client,
    userAgent: visible(ctx.userAgent ?? '').slice(0, 200),
  };
}

/** Whether the account logged in from this address lately: the account-wide lock does not apply to it. */
export const trustedAddress = (d: AuthDeps, addr: LoginAddressRow | null, t: Date): boolean =>
  addr?.lastSuccessAt != null && addr.lastSuccessAt >= plusMinutes(t, -d.settings.trustedAddressDays * 24 * 60);

/**
 * Runs the check of one guess for `name` from ctx.client in its turn: one at a
 * time per name and client address, so that parallel guesses from one address
 * see the count the one before left (at most lockoutAttempts are checked); and,
 * from an address the account has not logged in from lately, also one at a
 * time per name, for the account-wide lock. The user's own addresses skip that
 * second queue, so a flood of guesses at their name from elsewhere does not
 * hold them up. `check` gets the rows as they are when its turn comes; the
 * answer is null (not run) when too many already wait.
 */
export async function inTurn<T>(d: AuthDeps, name: string, ctx: RequestContext, check: (user: UserRow | null, addr: LoginAddressRow | null) => Promise<T>): Promise<{ value: T } | null> {
  const rows = async (): Promise<[UserRow | null, LoginAddressRow | null]> => {
    const user = await d.store.getUser(name);
    return [user, user ? await d.store.getLoginAddress(name, ctx.client) : null];
  };
  const outer = await d.throttle.oneAtATime(`${name}\0${addressKey(ctx.client)}`, async () => {
    const [user, addr] = await rows();
    if (!user || trustedAddress(d, addr, d.now())) return { value: await check(user, addr) };
    return d.throttle.oneAtATime(`\0account\0${name}`, async () => ({ value: await check(...(await rows())) }));
  });
  return outer ?? null;
}

/** Which lock, if any, refuses this account at this address now. */
export function lockOf(d: AuthDeps, user: UserRow, addr: LoginAddressRow | null, t: Date): { scope: 'address' | 'account'; until: string } | null {
  const now = t.toISOString();
  if (addr?.lockedUntil && addr.lockedUntil > now) return { scope: 'address', until: addr.lockedUntil };
  if (user.lockedUntil && user.lockedUntil > now && !trustedAddress(d, addr, t)) return { scope: 'account', until: user.lockedUntil };
  return null;
}

/** A failure that counts towards this account's locks: its record and its count in one transaction. */
export async function countedFailure(
  d: AuthDeps,
  user: UserRow,
  addr: LoginAddressRow | null,
  reason: string,
  ctx: RequestContext,
  t: Date,
  extra: Record<string, unknown> = {},
): Promise<LoginOutcome> {
  const trusted = trustedAddress(d, addr, t);
  const failures = (addr?.failures ?? 0) + 1;
  const accountFailures = user.failedLogins + 1;
  await d.failures.counted(
    {
      actor: `console:${user.name}`,
      action: 'login-failed',
      object: user.name,
      details: {
        reason,
        client: ctx.client,
        failures,
        ...(failures >= d.settings.lockoutAttempts ? { lockedForAddress: true } : {}),
        ...(trusted ? {} : { accountFailures, ...(accountFailures >= d.settings.accountLockoutAttempts ? { lockedForNewAddresses: true } : {}) }),
        ...extra,
      },
      time: t,
    },
    {
      loginAttempts: [
        {
          name: user.name,
          address: ctx.client,
          at: t.toISOString(),
          succeeded: false,
          lockAt: d.settings.lockoutAttempts,
          lockUntil: plusMinutes(t, d.settings.lockoutMinutes),
          account: trusted ? null : { lockAt: d.settings.accountLockoutAttempts },
        },
      ],
    },
  );
  d.throttle.failed(ctx.client);
  return { kind: 'failed', reason };
}

/** A failure that changes no count (unknown name, locked, disabled...): recorded, or summarised under a flood. */
export async function uncountedFailure(d: AuthDeps, name: string, reason: string, ctx: RequestContext, t: Date, extra: Record<string, unknown> = {}, penalise = true): Promise<LoginOutcome> {
  const shown = shownName(name);
  await d.failures.uncounted(ctx.client, { actor: `console:${shown}`, action: 'login-failed', object: shown, details: { reason, client: ctx.client, ...extra }, time: t });
  if (penalise) d.throttle.failed(ctx.client);
  return { kind: 'failed', reason };
}

/** Opens a full session: its record (and any others given), its row and the success's effect on the counts, in one transaction. */
export async function openSession(
  d: AuthDeps,
  user: UserRow,
  ctx: RequestContext,
  t: Date,
  details: Record<string, unknown>,
  effects: AuditEffects = {},
  before: Parameters<AuthDeps['audit']['appendMany']>[0] = [],
): Promise<LoginOutcome & { kind: 'signed-in' }> {
  const token = newToken();
  const expiresAt = plusMinutes(t, d.settings.sessionHours * 60);
  const row = sessionRow(token, user.name, 'full', ctx, t, expiresAt);
  const fromNewAddress = !trustedAddress(d, await d.store.getLoginAddress(user.name, ctx.client), t);
  await d.audit.appendMany(
    [...before, { actor: `console:${user.name}`, action: 'login-succeeded', object: user.name, details: { client: ctx.client, role: user.role, source: user.source, expiresAt, ...details }, time: t }],
    {
      ...effects,
      loginAttempts: [{ name: user.name, address: ctx.client, at: t.toISOString(), succeeded: true, account: fromNewAddress }],
      sessionsOpened: [row],
    },
  );
  return { kind: 'signed-in', token, user: summarize({ ...user, failedLogins: 0, lockedUntil: null }), expiresAt };
}

/** Whether this user must give a second factor. */
export const needsSecondFactor = (d: AuthDeps, user: UserRow): boolean => user.totp !== null || user.role !== 'staff' || d.settings.staffTotp === 'required';

export const isCredentialConflict = (err: unknown): boolean => err instanceof Error && err.name === 'CredentialConflictError';
