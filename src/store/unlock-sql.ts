// Failed attempts to unlock a quarantined message's password-protected
// attachments, per item and user (the console's /items/:id/unlock): the SQL
// both adapters run, with their own placeholders. After `lockAfter` failures
// the user is locked out of that item until an administrator resets it; a
// success clears the count. Written only as effects of the attempt's audit record.
import type { Sql } from './rows.js';
import type { UnlockAttempt, UnlockState } from './types.js';

export interface UnlockDbRow {
  item_id: string;
  user_name: string;
  failures: number | string;
  locked_at: string | null;
  last_attempt_at: string;
}

export const toUnlockState = (r: UnlockDbRow): UnlockState => ({
  item: r.item_id,
  user: r.user_name,
  failures: Number(r.failures),
  lockedAt: r.locked_at,
  lastAttemptAt: r.last_attempt_at,
});

/** The statement one attempt's outcome runs. */
export function unlockAttemptSql(a: UnlockAttempt, ph: (i: number) => string): Sql {
  if (a.outcome === 'succeeded') return { text: `DELETE FROM unlock_attempts WHERE item_id = ${ph(1)} AND user_name = ${ph(2)}`, values: [a.item, a.user] };
  return {
    text: `INSERT INTO unlock_attempts (item_id, user_name, failures, locked_at, last_attempt_at)
      VALUES (${ph(1)}, ${ph(2)}, 1, CASE WHEN 1 >= ${ph(4)} THEN ${ph(3)} END, ${ph(3)})
      ON CONFLICT (item_id, user_name) DO UPDATE SET
        failures = unlock_attempts.failures + 1,
        locked_at = coalesce(unlock_attempts.locked_at, CASE WHEN unlock_attempts.failures + 1 >= ${ph(4)} THEN ${ph(3)} END),
        last_attempt_at = ${ph(3)}`,
    values: [a.item, a.user, a.at, a.lockAfter],
  };
}

export const unlockResetSql = (r: { item: string; user: string }, ph: (i: number) => string): Sql => ({
  text: `DELETE FROM unlock_attempts WHERE item_id = ${ph(1)} AND user_name = ${ph(2)}`,
  values: [r.item, r.user],
});

export const UNLOCK_STATE_SQL = (ph: (i: number) => string): string => `SELECT * FROM unlock_attempts WHERE item_id = ${ph(1)} AND user_name = ${ph(2)}`;
export const UNLOCK_LIST_SQL = (ph: (i: number) => string): string => `SELECT * FROM unlock_attempts WHERE item_id = ${ph(1)} ORDER BY user_name`;
