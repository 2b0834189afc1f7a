// Search results and exports of the audit log.
//
// CSV is for Excel in a Japanese office: UTF-8 with a byte-order mark (Excel
// otherwise reads it as Shift_JIS), Japanese headers by default, CRLF, times
// in JST as Excel reads a date and time (2026/04/01 10:00:00). Cells
// that Excel would run as a formula (=, +, -, @, tab, CR first) get a leading
// apostrophe: details come from mail senders, and a cell like
// =HYPERLINK(...) must stay text.
// JSON lines carry the record as stored, with details parsed (ISO 8601 times).
// A terminal gets JST too.
//
// What a person reads (CSV, the terminal) shows characters that hide or
// reorder text (U+202E in a login name someone typed) written out as <U+202E>
// (visible.ts); JSON lines escape them as \u202e, which parses to the same text.
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import { jstTableOf as jstTime } from '../core/jst.js';
import type { AuditFilter, AuditRecord, Store } from '../store/types.js';
import { visible } from './visible.js';

export const exportFormats = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof exportFormats)[number];
export type HeaderLanguage = 'ja' | 'en';

const HEADERS: Record<HeaderLanguage, string[]> = {
  ja: ['連番', '日時', '操作者', '操作', '対象', '差出人', '宛先', '判定', '詳細', 'ハッシュ'],
  en: ['seq', 'time (JST)', 'actor', 'action', 'object', 'from', 'to', 'verdict', 'details', 'hash'],
};

const BOM = '\uFEFF';

/** Records matching `filter`, page by page in seq order; `filter.limit` caps the total. */
export async function* auditPages(store: Store, filter: AuditFilter, pageSize = 5000): AsyncGenerator<AuditRecord[]> {
  let after = filter.afterSeq ?? 0;
  let left = filter.limit ?? Number.POSITIVE_INFINITY;
  while (left > 0) {
    const page = await store.searchAudit({ ...filter, afterSeq: after, limit: Math.min(pageSize, left) });
    if (page.length === 0) return;
    yield page;
    left -= page.length;
    after = (page[page.length - 1] as AuditRecord).seq;
    if (page.length < Math.min(pageSize, left + page.length)) return;
  }
}

interface Parsed {
  from: string;
  to: string;
  verdict: string;
  details: unknown;
}

function parseDetails(text: string): Parsed {
  let d: Record<string, unknown> = {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) d = v as Record<string, unknown>;
  } catch {
    // Shown as stored in the details column.
  }
  return {
    from: typeof d.from === 'string' ? d.from : '',
    to: Array.isArray(d.to) ? d.to.filter((x) => typeof x === 'string').join('; ') : '',
    verdict: typeof d.verdict === 'string' ? d.verdict : '',
    details: d,
  };
}

/** Keeps Excel from reading a cell as a formula. */
export const excelSafe = (cell: string): string => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell);

export const csvRow = (r: AuditRecord): string[] => {
  const p = parseDetails(r.details);
  return [String(r.seq), jstTime(r.time), ...[r.actor, r.action, r.object ?? '', p.from, p.to, p.verdict, r.details].map((cell) => excelSafe(visible(cell))), r.hash];
};

/** Hidden and reordering characters as JSON escapes: the same text once parsed, plain to see before. */
const escapeHidden = (json: string): string =>
  json.replace(/[\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\u00ad\u061c\ufff9-\ufffb]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export const jsonLine = (r: AuditRecord): string => {
  let details: unknown = r.details;
  try {
    details = JSON.parse(r.details);
  } catch {
    // Kept as the stored text.
  }
  return `${escapeHidden(JSON.stringify({ seq: r.seq, time: r.time, actor: r.actor, action: r.action, object: r.object, details, prevHash: r.prevHash, hash: r.hash }))}\n`;
};

/** One line for a terminal. */
export function textLine(r: AuditRecord): string {
  const p = parseDetails(r.details);
  const who = p.from || p.to ? `  ${p.from || '-'} -> ${p.to || '-'}` : '';
  return `${String(r.seq).padStart(7)}  ${jstTime(r.time)}  ${visible(r.actor).padEnd(10)} ${r.action.padEnd(18)} ${visible(r.object ?? '-')}${visible(who)}${p.verdict ? `  ${visible(p.verdict)}` : ''}\n`;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * The export of the matching records, piece by piece (the header, then a page
 * of records at a time): a reader that stops pulling stops the reading, so
 * a download that is cancelled reads no further, and memory stays flat.
 */
export async function* exportChunks(store: Store, filter: AuditFilter, format: ExportFormat, opts: { headers?: HeaderLanguage; pageSize?: number } = {}): AsyncGenerator<string> {
  if (format === 'csv') yield BOM + stringify([HEADERS[opts.headers ?? 'ja']], { record_delimiter: 'windows' });
  for await (const page of auditPages(store, filter, opts.pageSize)) {
    yield format === 'csv' ? stringify(page.map(csvRow), { record_delimiter: 'windows' }) : page.map(jsonLine).join('');
  }
}

/** Writes the matching records to `out`; resolves with how many. */
export async function exportAudit(store: Store, filter: AuditFilter, format: ExportFormat, out: NodeJS.WritableStream, opts: { headers?: HeaderLanguage } = {}): Promise<number> {
  let n = 0;
  if (format === 'csv') await write(out, BOM + stringify([HEADERS[opts.headers ?? 'ja']], { record_delimiter: 'windows' }));
  for await (const page of auditPages(store, filter)) {
    await write(out, format === 'csv' ? stringify(page.map(csvRow), { record_delimiter: 'windows' }) : page.map(jsonLine).join(''));
    n += page.length;
  }
  return n;
}
