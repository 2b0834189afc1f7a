// CSV crosses as CSV that Japanese Excel opens as it was (csvForExcel): the
// cells as the parser read them, written by us comma-separated, UTF-8 with a
// byte order mark (without it Excel reads Shift_JIS), CRLF. A cell that a
// spreadsheet would run as a formula (= + - @, and their full-width forms) is
// prefixed with an apostrophe (OWASP's CSV injection advice); plain numbers
// stay as they are. The separator of the input is whatever the file uses
// (comma, semicolon or TAB), and a formula after any other separator inside a
// cell is neutralised too: a spreadsheet set to that separator splits the cell
// there, and a formula after a semicolon ran. Links in cells are made inert
// like any text we deliver. A file the parser refuses is neutralised line by
// line as text (neutraliseCsv) and crosses as text/plain.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { defangText } from './defang.js';

const FORMULA_START = /^[\s]*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const PLAIN_NUMBER = /^[+-]?(\d[\d,]*)(\.\d+)?%?$/;

const isFormula = (cell: string): boolean => FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell.trim());

export type Separator = ',' | ';' | '\t';
const SEPARATORS: readonly Separator[] = [',', '\t', ';'];

/** How much of the file the separator is guessed from. */
const SAMPLE_CHARS = 64 * 1024;
const SAMPLE_RECORDS = 50;

/**
 * The separator that splits the first records most consistently: the one
 * with the most records having its most common (non-zero) count outside
 * quotes; then the one splitting into more fields; then comma, TAB,
 * semicolon. Excel's "sep=;" first line decides outright.
 */
export function detectSeparator(text: string): Separator {
  const sample = text.replace(/^\uFEFF/, '').slice(0, SAMPLE_CHARS);
  const declared = /^sep=(.)\r?(?:\n|$)/i.exec(sample)?.[1];
  if (declared === ',' || declared === ';' || declared === '\t') return declared;
  const perRecord: Array<Record<Separator, number>> = [];
  let current: Record<Separator, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const c of sample) {
    if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === ',' || c === ';' || c === '\t') current[c]++;
    else if (c === '\n') {
      perRecord.push(current);
      current = { ',': 0, ';': 0, '\t': 0 };
      if (perRecord.length >= SAMPLE_RECORDS) break;
    }
  }
  perRecord.push(current);
  let best: { sep: Separator; records: number; fields: number } = { sep: ',', records: 0, fields: 0 };
  for (const sep of SEPARATORS) {
    const tally = new Map<number, number>();
    for (const r of perRecord) if (r[sep] > 0) tally.set(r[sep], (tally.get(r[sep]) ?? 0) + 1);
    for (const [fields, records] of tally) {
      if (records > best.records || (records === best.records && fields > best.fields)) best = { sep, records, fields };
    }
  }
  return best.sep;
}

export interface NeutralisedCsv {
  text: string;
  neutralised: number;
  /** Links made inert (or found already inert) in the cells. */
  links: number;
  separator: Separator;
}

/** A raw field of a line the parser refused, up to its quotes: where its value starts and ends. */
function rawValue(field: string): { start: number; end: number } | null {
  let start = 0;
  while (start < field.length && /\s/.test(field[start] ?? '')) start++;
  if (field[start] !== '"') return null;
  let end = field.length;
  while (end > start + 1 && /\s/.test(field[end - 1] ?? '')) end--;
  if (end > start + 1 && field[end - 1] === '"') end--;
  return { start: start + 1, end };
}

const OTHER_SEPARATORS: Record<Separator, RegExp> = { ',': /[;\t]/g, ';': /[,\t]/g, '\t': /[,;]/g };

/**
 * A spreadsheet set to another separator splits this cell at it: a formula
 * that starts right after one (quoted or not) gets its apostrophe there too.
 */
function neutraliseInside(cell: string, separator: Separator): { cell: string; count: number } {
  const others = OTHER_SEPARATORS[separator];
  others.lastIndex = 0;
  let m = others.exec(cell);
  if (!m) return { cell, count: 0 };
  let out = cell.slice(0, m.index + 1);
  let count = 0;
  while (m) {
    const from = m.index + 1;
    m = others.exec(cell);
    const field = cell.slice(from, m ? m.index : cell.length);
    const lead = /^\s*"?/.exec(field)?.[0].length ?? 0;
    const value = field.slice(lead).replace(/"$/, '');
    if (isFormula(value)) {
      count++;
      out += `${field.slice(0, lead)}'${field.slice(lead)}`;
    } else out += field;
    if (m) out += m[0];
  }
  return { cell: out, count };
}

/** Neutralises cells one by one, counting what it did; `separator` is the one the output is written with. */
function cellFixer(separator: Separator): { fix: (cell: string) => string; neutralised: () => number; links: () => number } {
  let neutralised = 0;
  let links = 0;
  const fix = (cell: string): string => {
    const start = isFormula(cell);
    const inside = neutraliseInside(cell, separator);
    if (start || inside.count > 0) neutralised++;
    const d = defangText(inside.cell);
    links += d.count;
    return start ? `'${d.text}` : d.text;
  };
  return { fix, neutralised: () => neutralised, links: () => links };
}

// Excel's first-line separator directive. Left out of what we write: the
// output is comma-separated, and with the line there Excel ignores the BOM.
const SEP_LINE = /^\uFEFF?sep=.\r?(?:\n|$)/i;

export interface ExcelCsv {
  /** UTF-8 with a byte order mark, comma-separated, CRLF after every record. */
  bytes: Buffer;
  neutralised: number;
  links: number;
}

/**
 * The CSV as Japanese Excel opens it, or null when the parser refuses it (an
 * unclosed quote): then it crosses as text (neutraliseCsv). Every cell is one
 * the parser read and csv-stringify wrote back, neutralised for the comma the
 * output is written with (a formula after a semicolon or TAB inside a cell too).
 */
export function csvForExcel(text: string): ExcelCsv | null {
  const separator = detectSeparator(text);
  let rows: string[][];
  try {
    rows = parse(text.replace(SEP_LINE, ''), { delimiter: separator, relax_quotes: true, relax_column_count: true, skip_empty_lines: false, bom: true }) as string[][];
  } catch {
    return null;
  }
  return rowsForExcel(rows);
}

/** Cells already split (a workbook's sheet, csv-parse's records) written as csvForExcel writes them. */
export function rowsForExcel(rows: readonly (readonly string[])[]): ExcelCsv {
  const cells = cellFixer(',');
  // A line break in a cell must be quoted: csv-stringify quotes only the record delimiter (CRLF), and a
  // lone LF left bare would split the row for Excel.
  const out = stringify(
    rows.map((row) => row.map(cells.fix)),
    { delimiter: ',', record_delimiter: '\r\n', quoted_match: /[\r\n]/ },
  );
  return { bytes: Buffer.from(`\uFEFF${out}`, 'utf8'), neutralised: cells.neutralised(), links: cells.links() };
}

export function neutraliseCsv(text: string): NeutralisedCsv {
  const separator = detectSeparator(text);
  let { fix, neutralised, links } = cellFixer(separator);
  try {
    const rows = parse(text, { delimiter: separator, relax_quotes: true, relax_column_count: true, skip_empty_lines: false, bom: true }) as string[][];
    const out = stringify(
      rows.map((row) => row.map(fix)),
      { delimiter: separator, record_delimiter: '\n' },
    );
    return { text: out, neutralised: neutralised(), links: links(), separator };
  } catch {
    // Counted afresh: the cells fixed before the parser gave up are fixed again below.
    ({ fix, neutralised, links } = cellFixer(separator));
    // Not CSV a parser accepts (an unclosed quote anywhere): neutralise what
    // looks like a field start. A field here is raw CSV, so a quoted formula
    // ("=HYPERLINK(...)") is looked at inside its quotes and the apostrophe goes
    // after the opening quote; checking the raw field let it through.
    const fixRaw = (field: string): string => {
      const v = rawValue(field);
      if (!v) return fix(field);
      const value = field.slice(v.start, v.end);
      return `${field.slice(0, v.start)}${fix(value)}${field.slice(v.end)}`;
    };
    const out = text
      .split('\n')
      .map((line) => line.split(separator).map(fixRaw).join(separator))
      .join('\n');
    return { text: out, neutralised: neutralised(), links: links(), separator };
  }
}
