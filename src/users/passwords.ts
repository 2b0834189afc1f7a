// Password hashing for console accounts: argon2id (@node-rs/argon2, its
// defaults: 19 MiB, 2 passes, as OWASP recommends), stored as PHC strings.
import { hash, verify } from '@node-rs/argon2';
import { UserError } from './errors.js';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

/** Throws a UserError naming the rule a password breaks. */
export function checkPasswordRules(password: string): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw new UserError(`パスワードは ${MIN_PASSWORD_LENGTH} 文字以上にしてください / a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (length > MAX_PASSWORD_LENGTH) throw new UserError(`パスワードが長すぎます (${MAX_PASSWORD_LENGTH} 文字まで) / a password may have at most ${MAX_PASSWORD_LENGTH} characters`);
}

export async function hashPassword(password: string): Promise<string> {
  checkPasswordRules(password);
  return hash(password);
}

/** False for a wrong password and for a hash that is not an argon2 PHC string. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH * 4) return false;
  return verify(passwordHash, password).catch(() => false);
}

let dummy: Promise<string> | null = null;
/**
 * A hash to verify against when the user does not exist, so that a login for an
 * unknown name takes as long as one with a wrong password (no user enumeration by timing).
 */
export function dummyHash(): Promise<string> {
  dummy ??= hash('mugaika: no such user, never a password');
  return dummy;
}
