// A user changes their own password: the current one first (a guess like any
// other: it counts towards the locks), then the rules (length, not the user
// name, not the same). The user's other sessions end; this one stays.
import { countedFailure, inTurn, lockOf, uncountedFailure, type AuthDeps, type RequestContext } from './auth-deps.js';
import { UserError } from './errors.js';
import { checkPasswordRules } from './passwords.js';

export type PasswordChange =
  | { kind: 'changed' }
  | { kind: 'wrong-current' }
  /** The new password breaks a rule; `rule` names which. */
  | { kind: 'rejected'; rule: 'length' | 'contains-name' | 'same' | 'mismatch' }
  | { kind: 'directory-user' }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'busy' };

/** The rules a new password must keep, beyond its length (passwords.ts). */
export function passwordRuleBroken(name: string, next: string, current: string): 'length' | 'contains-name' | 'same' | null {
  try {
    checkPasswordRules(next);
  } catch (err) {
    if (err instanceof UserError) return 'length';
    throw err;
  }
  if (next === current) return 'same';
  if (name.length >= 3 && next.toLowerCase().includes(name.toLowerCase())) return 'contains-name';
  return null;
}

export async function changePassword(d: AuthDeps, name: string, keep: string, current: string, next: string, ctx: RequestContext): Promise<PasswordChange> {
  const wait = d.throttle.retryAfter(ctx.client);
  if (wait > 0) return { kind: 'throttled', retryAfterSeconds: wait };
  const out = await inTurn(d, name, ctx, async (user, addr): Promise<PasswordChange> => {
    const t = d.now();
    if (!user || user.disabled) return { kind: 'wrong-current' };
    if (user.source !== 'local') return { kind: 'directory-user' };
    const lock = lockOf(d, user, addr, t);
    if (lock) {
      await uncountedFailure(d, name, 'locked', ctx, t, { lock: lock.scope, step: 'password-change' });
      return { kind: 'wrong-current' };
    }
    let good: boolean;
    try {
      good = await d.passwords.verify(user.passwordHash, current);
    } catch (err) {
      if (err instanceof Error && err.name === 'PasswordQueueFullError') return { kind: 'busy' };
      throw err;
    }
    if (!good) {
      await countedFailure(d, user, addr, 'bad-password', ctx, t, { step: 'password-change' });
      return { kind: 'wrong-current' };
    }
    const rule = passwordRuleBroken(name, next, current);
    if (rule) return { kind: 'rejected', rule };
    const passwordHash = await d.passwords.hash(next);
    await d.audit.append(
      { actor: `console:${name}`, action: 'user-changed', object: name, details: { change: 'password', role: user.role, client: ctx.client, otherSessionsEnded: true }, time: t },
      { users: [{ ...user, passwordHash, updatedAt: t.toISOString() }], userSessionsEnded: [{ user: name, except: keep }] },
    );
    return { kind: 'changed' };
  });
  return out?.value ?? { kind: 'throttled', retryAfterSeconds: 1 };
}
