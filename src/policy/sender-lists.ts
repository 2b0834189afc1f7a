// The policy's allow and exclusion lists (senders.allow, senders.exclude) as a
// CSV an administrator edits in Excel: exported, and imported back into the
// policy file. An import replaces both lists, rewrites only that part of the
// YAML (its comments and everything else stay as they were), is checked row by
// row first and against the whole policy schema after, and is written whole or
// not at all, after its audit record (who, why, the policy's fingerprint
// before and after).
import { promises as fs } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { parseDocument, YAMLMap } from 'yaml';
import { policySchema, type Policy } from '../core/policy.js';
import { parseSenderPattern, type SenderEntry } from '../core/sender-policy.js';
import { writeDurably } from '../durable/files.js';
import { EXIT, OperatorError } from '../model/operator-error.js';
import type { AuditEntry } from '../store/types.js';
import { policyFingerprint } from '../relay/lifecycle.js';
import { readSettingsFile, SettingsError, validateDocument } from '../settings/yaml-file.js';

const KIND = ['ポリシーファイル', 'policy file'] as const;
const HEADER = ['list', 'sender', 'note'] as const;
const LISTS = ['allow', 'exclude'] as const;
type ListName = (typeof LISTS)[number];
/** Errors listed before the rest are only counted. */
const SHOWN_ERRORS = 20;

/** One mistake in a CSV: its line (null: the whole file), in Japanese and in English, without the file's name. */
export interface CsvProblem {
  line: number | null;
  ja: string;
  en: string;
}

export class SenderCsvError extends OperatorError {
  override readonly name = 'SenderCsvError';
  /** The mistakes one by one (the console shows them in the reader's language); empty for a file that changed meanwhile. */
  readonly problems: readonly CsvProblem[];
  constructor(message: string, problems: readonly CsvProblem[] = []) {
    super(message, EXIT.usage);
    this.problems = problems;
  }
}

export interface SenderLists {
  allow: SenderEntry[];
  exclude: SenderEntry[];
}

/** The CSV of both lists: UTF-8 with a byte order mark (Excel reads it as UTF-8), CRLF, a header line. */
export function senderListsCsv(policy: Policy): Buffer {
  const rows = LISTS.flatMap((list) => policy.senders[list].map((e) => [list, e.sender, e.note]));
  return Buffer.from(stringify([[...HEADER], ...rows], { bom: true, record_delimiter: '\r\n' }), 'utf8');
}

/** Reads the CSV, row by row; every mistake is reported with its line number, in Japanese first. */
export function parseSenderCsv(bytes: Uint8Array, source: string): SenderLists {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SenderCsvError(`${source} は UTF-8 ではありません。Excel では「CSV UTF-8（コンマ区切り）」で保存してください。/ ${source} is not UTF-8: save it as "CSV UTF-8 (Comma delimited)".`, [
      { line: null, ja: 'UTF-8 ではありません。Excel では「CSV UTF-8（コンマ区切り）」で保存してください。', en: 'not UTF-8: save it as "CSV UTF-8 (Comma delimited)"' },
    ]);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new SenderCsvError(`${source}${line ? ` の ${line} 行目` : ''}を CSV として読めません。/ ${source}${line ? ` line ${line}` : ''} is not valid CSV: ${(err as Error).message}`, [
      { line: line ?? null, ja: 'CSV として読めません（「"」の対応などを確認してください）。', en: `not valid CSV: ${(err as Error).message}` },
    ]);
  }
  const [head, ...rows] = records;
  const header = head?.record.map((c) => c.trim().toLowerCase()) ?? [];
  if (header.length < 2 || header[0] !== 'list' || header[1] !== 'sender' || (header.length > 2 && header[2] !== 'note') || header.length > 3) {
    throw new SenderCsvError(`${source} の 1 行目は見出し「list,sender,note」にしてください。/ line 1 of ${source} must be the header "list,sender,note".`, [
      { line: 1, ja: '見出し「list,sender,note」にしてください。', en: 'must be the header "list,sender,note"' },
    ]);
  }
  const errors: CsvProblem[] = [];
  const lists: SenderLists = { allow: [], exclude: [] };
  const seen = new Map<string, { list: ListName; line: number }>();
  for (const { record, info } of rows) {
    const line = info.lines;
    const [list = '', sender = '', note = '', ...extra] = record.map((c) => c.trim());
    const bad = (ja: string, en: string): void => void errors.push({ line, ja, en });
    if (extra.some((c) => c !== '')) bad('列が多すぎます（list, sender, note の 3 列です）。', 'too many columns (list, sender, note)');
    else if (!(LISTS as readonly string[]).includes(list))
      bad(`list は allow（許可）か exclude（除外）です: ${JSON.stringify(list.slice(0, 40))}`, `list must be allow or exclude: ${JSON.stringify(list.slice(0, 40))}`);
    else if (!parseSenderPattern(sender))
      bad(
        `sender はメールアドレス（name@example.jp）かドメイン（example.jp）です: ${JSON.stringify(sender.slice(0, 80))}`,
        `sender must be an address or a domain: ${JSON.stringify(sender.slice(0, 80))}`,
      );
    else if (note.length > 200) bad('note は 200 文字までです。', 'note is at most 200 characters');
    else {
      const value = sender.toLowerCase();
      const earlier = seen.get(value);
      if (earlier) {
        bad(
          earlier.list === list ? `${value} は ${earlier.line} 行目と重複しています。` : `${value} は ${earlier.line} 行目で ${earlier.list} にも入っています。どちらか一方にしてください。`,
          earlier.list === list ? `${value} repeats line ${earlier.line}` : `${value} is also in ${earlier.list} on line ${earlier.line}: keep one`,
        );
      } else {
        seen.set(value, { list: list as ListName, line });
        lists[list as ListName].push({ sender: value, note });
      }
    }
  }
  if (errors.length > 0) {
    const more = errors.length > SHOWN_ERRORS ? `\n  ほか ${errors.length - SHOWN_ERRORS} 件 / and ${errors.length - SHOWN_ERRORS} more` : '';
    const shown = errors.slice(0, SHOWN_ERRORS).map((e) => `  ${e.line} 行目: ${e.ja} / line ${e.line}: ${e.en}`);
    throw new SenderCsvError(`${source} に誤りがあるため、ポリシーは変更していません。/ ${source} has errors; the policy was not changed.\n${shown.join('\n')}${more}`, errors);
  }
  return lists;
}

export interface PolicyChange {
  before: string;
  after: string;
  allow: number;
  exclude: number;
}

/** Reads and checks the policy file as it is now. */
export const readPolicyFile = (file: string): Promise<Policy> => readSettingsFile(policySchema, file, KIND);

/**
 * Replaces senders.allow and senders.exclude in the policy file. `record` is
 * called with the fingerprints once the new file is known to be valid, before
 * it is written: when it throws, nothing is written.
 */
export async function importSenderLists(file: string, lists: SenderLists, record: (change: PolicyChange) => Promise<void>): Promise<PolicyChange> {
  const before = policyFingerprint(await readPolicyFile(file));
  const text = await fs.readFile(file, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new SettingsError(`${KIND[0]} ${file} は YAML として読めません。/ The ${KIND[1]} ${file} is not valid YAML: ${doc.errors[0]!.message}`);
  // An empty file (or only comments): the lists become its first section.
  if (!(doc.contents instanceof YAMLMap)) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  const entries = (l: SenderEntry[]) => l.map((e) => (e.note ? { sender: e.sender, note: e.note } : { sender: e.sender }));
  doc.setIn(['senders', 'allow'], doc.createNode(entries(lists.allow)));
  doc.setIn(['senders', 'exclude'], doc.createNode(entries(lists.exclude)));
  const out = doc.toString();
  const after = policyFingerprint(validateDocument(policySchema, doc.toJS(), file, KIND));
  const change = { before, after, allow: lists.allow.length, exclude: lists.exclude.length };
  // Someone else changed the file meanwhile: start again from theirs.
  if ((await fs.readFile(file, 'utf8')) !== text)
    throw new SenderCsvError(`${file} が読み込み中に変更されました。もう一度実行してください。/ ${file} changed while it was being imported: run the import again.`);
  await record(change);
  const { mode } = await fs.stat(file);
  await writeDurably(file, Buffer.from(out, 'utf8'), mode & 0o777);
  return change;
}

/** Who replaces the lists, and why: what the audit record says besides the fingerprints. */
export interface ImportRequest {
  /** `cli:…` or the person given with --actor; `console:<name>` from the console. */
  actor: string;
  reason: string;
  /** Where the CSV came from (a file's name, or the console's form). */
  source: string;
  /** The console's client address. */
  client?: string;
}

/**
 * The import both the CLI and the console make: recorded as `policy-changed`
 * (who, why, the fingerprints before and after, how many in each list) before
 * the file is written; when the record cannot be written, neither is the file.
 */
export async function importSenderListsAudited(file: string, lists: SenderLists, audit: { append(entry: AuditEntry): Promise<unknown> }, r: ImportRequest): Promise<PolicyChange> {
  const actor = r.actor.trim();
  const reason = r.reason.trim();
  if (!actor || !reason) throw new SenderCsvError('変更する人と理由は省略できません。/ who makes the change, and why, must be given.');
  return importSenderLists(file, lists, async (c) => {
    await audit.append({
      actor,
      action: 'policy-changed',
      object: file,
      details: { section: 'senders', reason, before: c.before, after: c.after, allow: c.allow, exclude: c.exclude, source: r.source, ...(r.client ? { client: r.client } : {}) },
    });
  });
}
