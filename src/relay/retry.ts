// When to try a deferred delivery again, and when to give up: pure arithmetic.

export interface RetryPolicy {
  retryBaseSeconds: number;
  maxAgeHours: number;
}

const MAX_BACKOFF_SECONDS = 3600;

/** Delay before attempt number `attempts + 1`: doubling from the base, at most an hour, ±10 % jitter. */
export function backoffMs(attempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.retryBaseSeconds * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_SECONDS);
  return Math.round(exp * 1000 * (0.9 + 0.2 * random()));
}

/** True once a message has waited longer than the policy allows. */
export function expired(receivedAt: Date, now: Date, policy: RetryPolicy): boolean {
  return now.getTime() - receivedAt.getTime() > policy.maxAgeHours * 3600 * 1000;
}
