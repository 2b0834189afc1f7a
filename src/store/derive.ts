// The searchable columns of an audit record, derived from its details text.
// Both adapters fill their columns with this at insert, and `verifyAudit`
// recomputes it to check that nobody edited a column without the record.
import type { AuditDetails } from './types.js';

export interface AuditIndex {
  /** details.from, lower-cased; null when absent. */
  sender: string | null;
  /** details.to, lower-cased, without duplicates, sorted. */
  recipients: string[];
  verdict: string | null;
}

export const normalizeAddress = (a: string): string => a.trim().toLowerCase();

export function deriveIndex(details: AuditDetails): AuditIndex {
  const sender = typeof details.from === 'string' && details.from !== '' ? normalizeAddress(details.from) : null;
  const to = Array.isArray(details.to) ? details.to.filter((a): a is string => typeof a === 'string' && a !== '') : [];
  const recipients = [...new Set(to.map(normalizeAddress))].sort();
  const verdict = typeof details.verdict === 'string' ? details.verdict : null;
  return { sender, recipients, verdict };
}

/** Parses the stored details text; a record whose details are not a JSON object is indexed as empty. */
export function deriveIndexFromText(details: string): AuditIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    parsed = null;
  }
  return deriveIndex(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as AuditDetails) : {});
}
