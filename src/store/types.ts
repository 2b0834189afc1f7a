// The storage port: what the quarantine vault and the audit log need from a
// database. Two adapters implement it (SQLite embedded, PostgreSQL shared by
// several gateways) and one contract test suite runs against both.
//
// The adapters store and fetch; they hold no policy. Hash chaining, signing,
// encryption and the release workflow live above them (src/audit,
// src/quarantine) and are the same whichever database is underneath.

import type { AuditAction } from '../model/audit-actions.js';
import type { ItemState } from '../model/item-states.js';
import type { LoginAddressRow, LoginAttempt, SessionRow, TotpEnrolment, UserRow } from '../model/users.js';

/** What a caller appends. `details` may carry `from`, `to` and `verdict`: they become searchable. */
export interface AuditEntry {
  actor: string;
  action: AuditAction;
  /** What the action is about: a queue id, a quarantine id, a user name; null when nothing. */
  object: string | null;
  details: AuditDetails;
  /** Defaults to the time of the append. */
  time?: Date;
}

export interface AuditDetails {
  from?: string | null;
  to?: readonly string[];
  verdict?: string;
  [key: string]: unknown;
}

/**
 * A stored record, exactly as hashed. `time` is an ISO-8601 UTC string
 * (Date#toISOString, so text order is time order) and `details` the JSON text
 * as written: both are stored as text so that every database returns the very
 * bytes that were hashed.
 */
export interface AuditRecord {
  seq: number;
  time: string;
  actor: string;
  action: AuditAction;
  object: string | null;
  details: string;
  prevHash: string;
  hash: string;
}

/**
 * A stored record as `verifyAudit` reads it, by position (reading millions of
 * records, it builds no object per record): its seq; its canonical text
 * (`canonicalText` in src/audit/chain.ts, what its hash covers after
 * prevHash) as the store renders it, a JSON text that parses to exactly the
 * stored [seq, time, actor, action, object, details] (SQLite renders it
 * itself); details; prevHash; hash; then the search columns as the database
 * holds them (verify checks them against details, see src/store/derive.ts),
 * recipients as a JSON array text. A tampered database may hold other types
 * than these (a BLOB where text belongs): compare, do not assume.
 */
export type IndexedAuditRow = [seq: number, canonical: string, details: string, prevHash: string, hash: string, sender: string | null, verdict: string | null, recipients: string];

/** The last record of the chain; seq 0 and the genesis hash when the log is empty. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export interface VerdictCounts {
  messages: number;
  verdicts: Map<string, number>;
  findings: Map<string, number>;
}

export interface AuditFilter {
  /** Inclusive lower and exclusive upper bound on `time`. */
  since?: Date;
  until?: Date;
  sender?: string;
  /** Matches records whose `to` contains this address. */
  recipient?: string;
  verdict?: string;
  actions?: readonly AuditAction[];
  actor?: string;
  objects?: readonly string[];
  /** Records with seq greater than this (paging). */
  afterSeq?: number;
  /** Records with seq less than this (an export fixed at the head it started from). */
  beforeSeq?: number;
  /**
   * The order, and what `limit` keeps: by seq (the default), or by time then
   * seq, newest first ('newest') or oldest first ('oldest'): the auditor's
   * pages, which a time range walks in one index, whatever else is searched.
   */
  order?: 'seq' | 'newest' | 'oldest';
  /** Keyset paging in (time, seq) order: records before this key, or after it. */
  beforeKey?: AuditKey;
  afterKey?: AuditKey;
  limit?: number;
}

/** A record's place in (time, seq) order. */
export interface AuditKey {
  time: string;
  seq: number;
}

/** A signed statement "the record at `seq` has hash `hash`", made by a key kept outside the database. */
export interface Checkpoint {
  seq: number;
  hash: string;
  time: string;
  /** Fingerprint of the Ed25519 public key that signed. */
  keyId: string;
  /** Base64 Ed25519 signature over the checkpoint's canonical text. */
  signature: string;
}

/**
 * One quarantined original as the database keeps it. Nothing here is
 * plaintext message content: the subject, the header addresses and the
 * original's bytes are sealed with the item's data key, which is itself
 * wrapped by the master key `keyId` names.
 */
export interface ItemRow {
  id: string;
  /** The gateway (host name) that put it there. */
  gateway: string;
  receivedAt: string;
  envelopeFrom: string | null;
  /** Who it was for: the envelope recipients, or the header To/Cc for `mugaika sanitize`. */
  recipients: string[];
  size: number;
  findings: string[];
  state: ItemState;
  stateChangedAt: string;
  stateChangedBy: string;
  keyId: string;
  wrappedKey: Buffer;
  sealedMeta: Buffer;
}

export interface ItemFilter {
  states?: readonly ItemState[];
  recipient?: string;
  /** Addressed to any of these (a staff member's address and aliases); none matches nothing. */
  recipientAny?: readonly string[];
  sender?: string;
  receivedBefore?: Date;
  receivedSince?: Date;
  /** Newest first (default: oldest first). */
  newestFirst?: boolean;
  limit?: number;
}

export interface StateChange {
  id: string;
  /** The change happens only if the item is in one of these states (compare-and-set). */
  from: readonly ItemState[];
  to: ItemState;
  at: Date;
  by: string;
}

/**
 * Rows that change together with the records that tell of them, in one
 * transaction: the quarantine of an item, a user change, a login or logout is
 * never on disk without its audit record, nor the record without it.
 */
export interface AuditEffects {
  /** Quarantined items to insert. */
  items?: readonly ItemRow[];
  /**
   * Workflow steps (compare-and-set). One whose item is not in an allowed
   * state fails the whole append with a StateConflictError: the step and its
   * record are both written, or neither.
   */
  stateChanges?: readonly StateChange[];
  /** Users to insert, or replace by name (creation and an admin's changes). */
  users?: readonly UserRow[];
  /** Login outcomes, counted in place so that concurrent attempts and an admin's change are not lost. */
  loginAttempts?: readonly LoginAttempt[];
  /** Console sessions to open. */
  sessionsOpened?: readonly SessionRow[];
  /** Console sessions (ids) to end. */
  sessionsEnded?: readonly string[];
  /** Every session of `user` ends, but `except` (the one asking, e.g. for a password change). */
  userSessionsEnded?: readonly { user: string; except?: string }[];
  /** Every address's failure count and lock of these users cleared (`mugaika user enable`). */
  addressLocksCleared?: readonly string[];
  /** TOTP enrolments; one for a user already enrolled fails the append with a CredentialConflictError. */
  totpEnrolled?: readonly TotpEnrolment[];
  /** TOTP removed (`mugaika user reset-2fa`), with the user's recovery codes. */
  totpReset?: readonly string[];
  /** Codes accepted: each step must be later than the user's last (else CredentialConflictError: a replay). */
  totpStepsUsed?: readonly { name: string; step: number }[];
  /** Recovery codes spent: each must exist unused (else CredentialConflictError). */
  recoveryCodesUsed?: readonly { name: string; codeHash: string; at: string }[];
  /** Attempts to unlock an item's password-protected attachments, counted in place per item and user. */
  unlockAttempts?: readonly UnlockAttempt[];
  /** An administrator lifts a user's unlock lock on an item (and its count). */
  unlockResets?: readonly { item: string; user: string }[];
}

/** One attempt at an item's password: a failure counts (and locks at `lockAfter`), a success clears the count. */
export interface UnlockAttempt {
  item: string;
  user: string;
  outcome: 'failed' | 'succeeded';
  at: string;
  lockAfter: number;
}

/** A user's failed attempts at one item; locked when lockedAt is set. */
export interface UnlockState {
  item: string;
  user: string;
  failures: number;
  lockedAt: string | null;
  lastAttemptAt: string;
}

/** An append's state change found its item in another state (or absent): nothing was written. */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
  constructor(readonly itemId: string) {
    super(`quarantine item ${itemId} is no longer in the state this step needs; nothing was written / 隔離メッセージ ${itemId} の状態が変わっていたため、記録しませんでした`);
  }
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  // --- audit log -----------------------------------------------------------
  /**
   * Appends records in one durable transaction while holding the chain's
   * write lock (no other process or thread can append meanwhile): `build` gets
   * the current head and returns the records to insert, which must continue
   * it (seq head.seq+1, +2, ...). Resolves once they are committed to disk.
   * `effects` are written in the same transaction: a quarantined item and the
   * record of its quarantine become durable together, with one commit.
   */
  appendAudit(build: (head: ChainHead) => AuditRecord[], effects?: AuditEffects): Promise<AuditRecord[]>;
  head(): Promise<ChainHead>;
  /** Records in seq order with seq > afterSeq, at most `limit`. */
  readAudit(afterSeq: number, limit: number): Promise<AuditRecord[]>;
  /**
   * The records verify checks (IndexedAuditRow), one row at a time: calls
   * `visit` with each record in seq order with seq > afterSeq, at most
   * `limit`, and stops early when it returns false. Resolves to the
   * number of rows given to `visit`, which must not call the store (SQLite
   * is busy reading while it runs).
   */
  scanAuditIndexed(afterSeq: number, limit: number, visit: (row: IndexedAuditRow) => boolean): Promise<number>;
  /** Records matching every given filter, in seq order (or by time, `filter.order`). */
  searchAudit(filter: AuditFilter): Promise<AuditRecord[]>;
  /**
   * The relay's verdicts in [since, until), counted where the records are:
   * how many, by verdict (details.verdict; '?' where it is missing) and by
   * finding (each code of details.findings once per record). What the
   * monthly report tells of mail, without reading a month of records.
   */
  countVerdicts(range: { since: Date; until: Date }): Promise<VerdictCounts>;
  /**
   * First contact: those of `recipients` to whom nothing from the envelope
   * sender `sender` was delivered (audit action 'delivered') at or after
   * `since`, in the order given. Addresses compare case-insensitively.
   */
  firstContacts(sender: string, recipients: readonly string[], since: Date): Promise<string[]>;
  addCheckpoint(c: Checkpoint): Promise<void>;
  /**
   * Checkpoints in seq (then key id) order; with a range, only those with
   * afterSeq < seq <= untilSeq (a bound left out is no bound).
   */
  checkpoints(range?: { afterSeq?: number; untilSeq?: number }): Promise<Checkpoint[]>;
  /** The highest seq at or below `seq` that has a checkpoint; 0 when none has. */
  lastCheckpointSeq(atOrBefore: number): Promise<number>;

  // --- quarantine ----------------------------------------------------------
  insertItem(row: ItemRow): Promise<void>;
  getItem(id: string): Promise<ItemRow | null>;
  listItems(filter: ItemFilter): Promise<ItemRow[]>;
  /** Applies the change if the item is in an allowed state; false when it is not (or absent). */
  changeState(change: StateChange): Promise<boolean>;
  /** A user's failed unlock attempts at an item; null when there are none. */
  getUnlockState(item: string, user: string): Promise<UnlockState | null>;
  /** Every user's failed unlock attempts at an item, by user name. */
  listUnlockStates(item: string): Promise<UnlockState[]>;
  /** Replaces wrapped data keys (key rotation), all in one transaction. */
  rewrapKeys(rows: readonly { id: string; keyId: string; wrappedKey: Buffer }[]): Promise<void>;
  /** Ids and key ids of items whose key is wrapped by a key other than `keyId`. */
  itemsNotUnder(keyId: string, limit: number): Promise<{ id: string; keyId: string; wrappedKey: Buffer }[]>;

  // --- console users and sessions (written only through appendAudit's effects) ---
  getUser(name: string): Promise<UserRow | null>;
  /** Every user, by name. */
  listUsers(): Promise<UserRow[]>;
  /** The session with this id, if it exists (expired or not). */
  getSession(id: string): Promise<SessionRow | null>;
  /** The session with this id and its user, in one read (what the console checks on every request); null when either is absent. */
  getSessionAndUser(id: string): Promise<{ session: SessionRow; user: UserRow } | null>;
  /** Sessions (every stage, expired or not) of one user, or of everyone, oldest first. */
  listSessions(user?: string): Promise<SessionRow[]>;
  /**
   * Moves a session's last-seen time forward. The one write to these tables
   * without an audit record: it changes no right, only when idleness counts from.
   */
  touchSession(id: string, at: Date): Promise<void>;
  /** Removes sessions that expired before `now`, or were last seen before `idleBefore`; returns how many. */
  deleteExpiredSessions(now: Date, idleBefore?: Date): Promise<number>;
  /** The user's record of this client address, if any. */
  getLoginAddress(user: string, address: string): Promise<LoginAddressRow | null>;
  /** Forgets addresses with no lock in force and no success or failure since `before`; returns how many. */
  deleteStaleLoginAddresses(before: Date): Promise<number>;
  /** Unused recovery codes of the user. */
  recoveryCodesLeft(user: string): Promise<number>;
  /** Users whose TOTP secret is sealed under a key other than `keyId` (key rotation). */
  totpNotUnder(keyId: string, limit: number): Promise<{ name: string; keyId: string; sealed: Buffer }[]>;
  /** Replaces sealed TOTP secrets (key rotation), each only if still under `fromKeyId`; returns how many were replaced. */
  resealTotp(rows: readonly { name: string; fromKeyId: string; keyId: string; sealed: Buffer }[]): Promise<number>;

  /**
   * Sealed originals, when the store keeps blobs itself (PostgreSQL shared by
   * several gateways); null when blobs live on the local disk.
   */
  readonly blobs: BlobStore | null;

  close(): Promise<void>;
}

/** Where sealed originals are kept: files under the data dir, or the database. */
export interface BlobStore {
  /** Durable when it resolves. */
  put(id: string, sealed: Buffer): Promise<void>;
  /** null when there is no such blob. */
  get(id: string): Promise<Buffer | null>;
  delete(id: string): Promise<void>;
}

/** A one-time credential was already used (a TOTP step, a recovery code) or a second enrolment raced the first: nothing was written. */
export class CredentialConflictError extends Error {
  override readonly name = 'CredentialConflictError';
  constructor(
    readonly user: string,
    readonly what: 'totp-step' | 'recovery-code' | 'totp-enrolled',
  ) {
    super(`${what} of ${user} was already used or changed; nothing was written / ${user} の認証コードはすでに使われています。記録しませんでした`);
  }
}
