// The wording table of docs/notice.md: every finding's sentence in the notice,
// in Japanese and English, from src/core/labels.ts. `npx tsx
// scripts/notice-wording.ts` rewrites the table in docs/notice.md;
// test/core/notice-wording.test.ts fails when the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { findingCodes } from '../src/core/findings.js';
import { labelsFor } from '../src/core/labels.js';

export const DOC = 'docs/notice.md';
const BEGIN = '<!-- wording table: made by scripts/notice-wording.ts -->';
const END = '<!-- end of wording table -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The table, one row per finding code. */
export function wordingTable(): string {
  const ja = labelsFor('ja');
  const en = labelsFor('en');
  const rows = findingCodes.map((code) => {
    const about = (l: typeof ja, lead: string, page: string): string => {
      const own = l.findingInAttachment[code];
      const unlock = (l.findingUnlockable as Partial<Record<string, string>>)[code];
      return cell([l.finding[code], ...(own ? [`${lead}${own}`] : []), ...(unlock ? [`${page}${unlock}`] : [])].join('<br>'));
    };
    return `| \`${code}\` | ${about(ja, '（添付ファイルについて）', '（web.publicUrl があり、メールに直接添付された zip・PDF のとき）')} | ${about(en, '(about an attachment) ', '(with web.publicUrl, a zip or PDF attached to the mail itself) ')} |`;
  });
  return [BEGIN, '| 検出コード / code | 日本語 | English |', '|---|---|---|', ...rows, END].join('\n');
}

/** docs/notice.md with its table replaced by the current one. */
export function withTable(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC} has no wording table markers`);
  return doc.slice(0, start) + wordingTable() + doc.slice(end + END.length);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(DOC, withTable(readFileSync(DOC, 'utf8')));
  console.log(`${DOC}: ${findingCodes.length} findings`);
}
