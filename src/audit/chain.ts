// The hash chain. Each record's hash covers the previous record's hash and
// the record's own fields exactly as they are stored (the text columns), so
// that any edit, deletion, insertion or reordering breaks a link:
//
//   hash = SHA-256( prevHash || JSON.stringify([seq, time, actor, action, object, details]) )
//
// JSON.stringify of an array of strings, numbers and null is one fixed text
// for given values, whatever the JavaScript engine.
import { hash } from 'node:crypto';
import { GENESIS_HASH } from '../store/chain-order.js';
import { auditActions, type AuditAction } from '../model/audit-actions.js';
import type { AuditEntry, AuditRecord, ChainHead } from '../store/types.js';

export { GENESIS_HASH };

/** An entry with its stored text fixed, not yet numbered or hashed. */
export interface PreparedEntry {
  time: string;
  actor: string;
  action: AuditAction;
  object: string | null;
  details: string;
}

export class AuditEntryError extends Error {
  override readonly name = 'AuditEntryError';
}

const actions = new Set<string>(auditActions);

/** Fixes the stored text of an entry; throws AuditEntryError when it cannot be stored as given. */
// What a text column keeps of actor and object: a lone surrogate becomes U+FFFD
// in SQLite's UTF-8 (so a record hashed over the escape never verified), and
// PostgreSQL text cannot hold NUL at all (the append failed). Both are written,
// hashed and stored as U+FFFD. details is JSON, where JSON.stringify escapes them.
const UNSTORABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;
const storable = (s: string): string => s.replace(UNSTORABLE, '\uFFFD');

export function prepareEntry(entry: AuditEntry, now: Date): PreparedEntry {
  if (!actions.has(entry.action)) throw new AuditEntryError(`unknown audit action ${JSON.stringify(entry.action)}: add it to auditActions in src/store/types.ts`);
  if (typeof entry.actor !== 'string' || entry.actor === '') throw new AuditEntryError(`audit entry ${entry.action} has no actor`);
  const time = entry.time ?? now;
  if (Number.isNaN(time.getTime())) throw new AuditEntryError(`audit entry ${entry.action} has an invalid time`);
  let details: string;
  try {
    details = JSON.stringify(entry.details ?? {});
  } catch (err) {
    throw new AuditEntryError(`audit entry ${entry.action}: details cannot be written as JSON (${(err as Error).message})`);
  }
  return { time: time.toISOString(), actor: storable(entry.actor), action: entry.action, object: entry.object == null ? null : storable(entry.object), details };
}

export const canonicalText = (r: Pick<AuditRecord, 'seq' | 'time' | 'actor' | 'action' | 'object' | 'details'>): string => JSON.stringify([r.seq, r.time, r.actor, r.action, r.object, r.details]);

export const recordHash = (prevHash: string, r: Pick<AuditRecord, 'seq' | 'time' | 'actor' | 'action' | 'object' | 'details'>): string =>
  // crypto.hash: one call, several times faster than createHash for short texts (verify hashes millions).
  hash('sha256', prevHash + canonicalText(r), 'hex');

/**
 * recordHash over a canonical text as the store rendered it
 * (Store.scanAuditIndexed): equal to the record's hash only if that text is
 * the one the log hashed, i.e. the stored values are the ones it wrote.
 */
export const renderedHash = (prevHash: string, canonical: string): string => hash('sha256', prevHash + canonical, 'hex');

/**
 * recordHash of the values a canonical text holds, numbered `seq` if given,
 * written as the log writes them (JSON.stringify): for a store whose JSON
 * says the same values another way. null when the text holds no record.
 */
export function valuesHash(prevHash: string, canonical: string, seq?: number): string | null {
  let values: unknown;
  try {
    values = JSON.parse(canonical);
  } catch {
    return null;
  }
  if (!Array.isArray(values) || values.length !== 6) return null;
  if (seq !== undefined) values[0] = seq;
  return hash('sha256', prevHash + JSON.stringify(values), 'hex');
}

/** Numbers and hashes prepared entries so that they continue `head`. */
export function chainPrepared(head: ChainHead, entries: readonly PreparedEntry[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = head;
  for (const e of entries) {
    const seq = prev.seq + 1;
    const base = { seq, time: e.time, actor: e.actor, action: e.action, object: e.object, details: e.details };
    const h = recordHash(prev.hash, base);
    out.push({ ...base, prevHash: prev.hash, hash: h });
    prev = { seq, hash: h };
  }
  return out;
}

/** The records that continue `head` with `entries` (time defaults to `now`). */
export function sealRecords(head: ChainHead, entries: readonly AuditEntry[], now: Date): AuditRecord[] {
  return chainPrepared(
    head,
    entries.map((e) => prepareEntry(e, now)),
  );
}
