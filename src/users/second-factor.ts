// The second step of a login (a TOTP code, or a recovery code), and enrolling
// a phone: at the first login of a user who must have one, or later from the
// account page.
//
// A code is a guess like a password: it goes through the same address budget
// and locks, and a wrong one counts. A code is accepted once: its time step
// must be later than the last one accepted (checked again by the store's
// compare-and-set, so two requests racing with one code cannot both win). A
// recovery code is spent by the same compare-and-set.
import { open, OpenError, seal } from '../keys/aead.js';
import type { SessionRow, UserRow } from '../model/users.js';
import { countedFailure, inTurn, isCredentialConflict, lockOf, openSession, sessionId, uncountedFailure, type AuthDeps, type LoginOutcome, type RequestContext } from './auth-deps.js';
import { checkTotpCode, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, openTotpSecret, otpauthUri, qrSvg, recoveryCodeHash, sealTotpSecret } from './totp.js';

/** The live session (any stage) a token opens, with its user. */
export async function liveSession(d: AuthDeps, token: string): Promise<{ session: SessionRow; user: UserRow } | null> {
  const session = await d.store.getSession(sessionId(token));
  const t = d.now().toISOString();
  if (!session || session.expiresAt <= t) return null;
  const user = await d.store.getUser(session.user);
  if (!user || user.disabled) return null;
  return { session, user };
}

export async function secondFactor(d: AuthDeps, token: string, code: string, ctx: RequestContext): Promise<LoginOutcome> {
  const t = d.now();
  const wait = d.throttle.retryAfter(ctx.client);
  if (wait > 0) return { kind: 'throttled', retryAfterSeconds: wait };
  const first = await liveSession(d, token);
  if (!first || first.session.stage !== 'second-factor') return { kind: 'expired' };
  const out = await inTurn(d, first.user.name, ctx, async (_user, addr): Promise<LoginOutcome> => {
    const live = await liveSession(d, token);
    if (!live || live.session.stage !== 'second-factor' || !live.user.totp) return { kind: 'expired' };
    const { user, session } = live;
    const totp = live.user.totp;
    const lock = lockOf(d, user, addr, t);
    if (lock) return uncountedFailure(d, user.name, 'locked', ctx, t, { lock: lock.scope, lockedUntil: lock.until, step: 'second-factor' });
    const recovery = normalizeRecoveryCode(code);
    if (recovery) {
      const left = await d.store.recoveryCodesLeft(user.name);
      try {
        return await openSession(
          d,
          user,
          ctx,
          t,
          { factors: ['password', 'recovery-code'], recoveryCodesLeft: Math.max(0, left - 1) },
          {
            recoveryCodesUsed: [{ name: user.name, codeHash: recoveryCodeHash(user.name, recovery), at: t.toISOString() }],
            sessionsEnded: [session.id],
          },
        );
      } catch (err) {
        if (!isCredentialConflict(err)) throw err;
        return countedFailure(d, user, addr, 'recovery-code-rejected', ctx, t);
      }
    }
    const check = await checkTotpCode(openTotpSecret(d.ring, user.name, totp), code, t, totp.lastStep);
    if (!check.ok) return countedFailure(d, user, addr, check.replayed ? 'code-replayed' : 'bad-code', ctx, t);
    try {
      return await openSession(d, user, ctx, t, { factors: ['password', 'totp'] }, { totpStepsUsed: [{ name: user.name, step: check.step }], sessionsEnded: [session.id] });
    } catch (err) {
      if (!isCredentialConflict(err)) throw err;
      return countedFailure(d, user, addr, 'code-replayed', ctx, t);
    }
  });
  return out?.value ?? { kind: 'throttled', retryAfterSeconds: 1 };
}

// --- enrolment ----------------------------------------------------------------

/** What the enrolment page shows, and the ticket its form sends back. */
export interface Enrolment {
  secret: string;
  uri: string;
  qrSvg: string;
  /** The secret sealed for this session for PENDING_MINUTES: the page carries it, the database does not until a code proves the phone has it. */
  ticket: string;
}

const TICKET_MINUTES = 15;
const ticketAad = (sessionKey: string, user: string): Buffer => Buffer.from(`mugaika/totp-enrol/v1\0${user}\0${sessionKey}`, 'utf8');

export async function startEnrolment(d: AuthDeps, session: SessionRow): Promise<Enrolment> {
  const secret = newTotpSecret();
  await d.ring.refresh();
  const key = d.ring.wrapping();
  const body = Buffer.from(JSON.stringify({ secret, until: d.now().getTime() + TICKET_MINUTES * 60_000 }), 'utf8');
  const ticket = `${key.id}.${seal(key.bytes, body, ticketAad(session.id, session.user)).toString('base64url')}`;
  const uri = otpauthUri(d.settings.totpIssuer, session.user, secret);
  return { secret, uri, qrSvg: await qrSvg(uri), ticket };
}

/** The secret a ticket carries, if it was made for this session and is still good. */
function openTicket(d: AuthDeps, session: SessionRow, ticket: string): string | null {
  const [keyId = '', sealed = ''] = ticket.split('.');
  const key = d.ring.find(keyId);
  if (!key) return null;
  try {
    const body = JSON.parse(open(key.bytes, Buffer.from(sealed, 'base64url'), ticketAad(session.id, session.user)).toString('utf8')) as { secret?: unknown; until?: unknown };
    return typeof body.secret === 'string' && typeof body.until === 'number' && body.until > d.now().getTime() ? body.secret : null;
  } catch (err) {
    if (err instanceof OpenError || err instanceof SyntaxError) return null;
    throw err;
  }
}

export type EnrolOutcome =
  | { kind: 'enrolled'; recoveryCodes: string[]; signedIn: (LoginOutcome & { kind: 'signed-in' }) | null }
  /** The page again, from the same ticket: the phone keeps what it scanned. */
  | { kind: 'bad-code'; enrolment: Enrolment }
  | { kind: 'expired' };

/** Enrols the phone whose code proves it holds the ticket's secret; a login waiting for it becomes a session. */
export async function finishEnrolment(d: AuthDeps, token: string, ticket: string, code: string, ctx: RequestContext): Promise<EnrolOutcome> {
  const t = d.now();
  const live = await liveSession(d, token);
  if (!live || live.session.stage === 'second-factor' || live.user.totp) return { kind: 'expired' };
  const { session, user } = live;
  const secret = openTicket(d, session, ticket);
  if (!secret) return { kind: 'expired' };
  const check = await checkTotpCode(secret, code, t, null);
  if (!check.ok) {
    await uncountedFailure(d, user.name, 'bad-code', ctx, t, { step: 'enrol' });
    const uri = otpauthUri(d.settings.totpIssuer, user.name, secret);
    return { kind: 'bad-code', enrolment: { secret, uri, qrSvg: await qrSvg(uri), ticket } };
  }
  const recoveryCodes = newRecoveryCodes();
  const sealed = await sealTotpSecret(d.ring, user.name, secret);
  const enrolled = {
    actor: `console:${user.name}`,
    action: 'second-factor-enrolled' as const,
    object: user.name,
    details: { client: ctx.client, method: 'totp', recoveryCodes: recoveryCodes.length, keyId: sealed.keyId },
    time: t,
  };
  const effects = {
    totpEnrolled: [
      { name: user.name, keyId: sealed.keyId, sealed: sealed.sealed, at: t.toISOString(), recoveryCodeHashes: recoveryCodes.map((c) => recoveryCodeHash(user.name, normalizeRecoveryCode(c)!)) },
    ],
    totpStepsUsed: [{ name: user.name, step: check.step }],
  };
  try {
    if (session.stage === 'enrol') {
      const signedIn = await openSession(d, user, ctx, t, { factors: ['password', 'totp'], enrolled: true }, { ...effects, sessionsEnded: [session.id] }, [enrolled]);
      return { kind: 'enrolled', recoveryCodes, signedIn };
    }
    await d.audit.append(enrolled, effects);
    return { kind: 'enrolled', recoveryCodes, signedIn: null };
  } catch (err) {
    if (isCredentialConflict(err)) return { kind: 'expired' };
    throw err;
  }
}
