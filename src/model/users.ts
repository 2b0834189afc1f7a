// The console's users: their roles, where an account comes from, and the
// user, session and sign-in records (kept by the store, src/store/, but
// words of the whole gateway: the console, the CLI and the sign-in steps).

/** The console's three kinds of user: 職員 (staff), 管理者 (admin), 監査者 (auditor). */
export const roles = ['staff', 'admin', 'auditor'] as const;
export type Role = (typeof roles)[number];

/** Where an account lives: in this database, or in the municipality's directory (LDAP / Active Directory). */
export const userSources = ['local', 'ldap'] as const;
export type UserSource = (typeof userSources)[number];

/** A user's TOTP secret, sealed (AES-256-GCM) under the master key `keyId`: a copy of the database alone does not give it. */
export interface SealedTotp {
  keyId: string;
  sealed: Buffer;
  enrolledAt: string;
  /** The time step of the last code accepted: a code is accepted only for a later step (no replay). */
  lastStep: number | null;
}

/** A console account. Passwords are kept only as argon2id hashes (PHC strings). */
export interface UserRow {
  /** The login name: lower-case letters, digits, `.`, `_`, `-`. */
  name: string;
  displayName: string;
  role: Role;
  /** The staff member's mail address: the quarantined mail addressed to it is theirs. */
  email: string | null;
  /** Other addresses of theirs (a shared desk mailbox, an old address), lower-case: their quarantined mail too. Set by an administrator. */
  aliases: readonly string[];
  passwordHash: string;
  disabled: boolean;
  /**
   * Failed logins in a row from addresses the account never logged in from
   * (lately); at the configured count the account locks for such addresses.
   */
  failedLogins: number;
  /** ISO time until which logins from such addresses are refused; null when not locked. */
  lockedUntil: string | null;
  createdAt: string;
  updatedAt: string;
  /** 'ldap': the directory holds the password (passwordHash is empty) and, at each login, the role, address and name. */
  source: UserSource;
  /** Null when the user has no second factor. Written only by the totp* effects, never by `users`. */
  totp: SealedTotp | null;
}

/** What a console session is good for: 'full' opens the console; the others only the next step of a login. */
export const sessionStages = ['full', 'second-factor', 'enrol'] as const;
export type SessionStage = (typeof sessionStages)[number];

/** A console session. The browser holds a random token; the database only its SHA-256 (`id`). */
export interface SessionRow {
  id: string;
  user: string;
  createdAt: string;
  /** The absolute end (web.sessionHours after login; minutes for a login half done). */
  expiresAt: string;
  /** Last request seen (at most a minute stale): the idle timeout counts from it. */
  lastSeenAt: string;
  stage: SessionStage;
  /** Client address at login, as the audit log has it, and the browser's User-Agent (shortened). */
  client: string;
  userAgent: string;
}

/** One user's record of one client address: failures in a row from it, its lock, its last success. */
export interface LoginAddressRow {
  user: string;
  address: string;
  failures: number;
  lockedUntil: string | null;
  lastFailureAt: string | null;
  lastSuccessAt: string | null;
}

/** One login's effect on its account's counters. */
export type LoginAttempt =
  /**
   * Clears the failures of this address and remembers it as one the account
   * logged in from. With `account` (a success from an address it had not
   * logged in from lately), also the account-wide count: a login from the
   * user's own desk does not undo what strangers' guesses counted.
   */
  | { name: string; address: string; at: string; succeeded: true; account: boolean }
  /**
   * A failure from `address`: one more for it; at `lockAt` in a row the
   * account locks for that address until `lockUntil`. With `account`, it also
   * counts against the account as a whole (an address it has not logged in
   * from lately): at `account.lockAt` the account locks for all such addresses.
   */
  | { name: string; address: string; at: string; succeeded: false; lockAt: number; lockUntil: string; account: { lockAt: number } | null };

/** A TOTP enrolment: the sealed secret and the hashes of the new recovery codes. */
export interface TotpEnrolment {
  name: string;
  keyId: string;
  sealed: Buffer;
  at: string;
  recoveryCodeHashes: readonly string[];
}
