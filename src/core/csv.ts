// CSV crosses as plain text, never as text/csv, and a cell that a spreadsheet
// would run as a formula (= + - @, and their full-width forms) is prefixed with
// an apostrophe (OWASP's CSV injection advice). Plain numbers stay as they are.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { defangText } from './defang.js';

const FORMULA_START = /^[\s]*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const PLAIN_NUMBER = /^[+-]?(\d[\d,]*)(\.\d+)?%?$/;

const isFormula = (cell: string): boolean => FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell.trim());

export interface NeutralisedCsv {
  text: string;
  neutralised: number;
  /** Links made inert (or found already inert) in the cells. */
  links: number;
}

export function neutraliseCsv(text: string): NeutralisedCsv {
  let neutralised = 0;
  let links = 0;
  const inert = (cell: string): string => {
    const d = defangText(cell);
    links += d.count;
    return d.text;
  };
  const fix = (cell: string): string => {
    if (!isFormula(cell)) return inert(cell);
    neutralised++;
    return `'${inert(cell)}`;
  };
  try {
    const rows = parse(text, { relax_quotes: true, relax_column_count: true, skip_empty_lines: false, bom: true }) as string[][];
    const out = stringify(rows.map((row) => row.map(fix)), { record_delimiter: '\n' });
    return { text: out, neutralised, links };
  } catch {
    // Not CSV a parser accepts (an unclosed quote anywhere): neutralise what
    // looks like a field start. A field here is raw CSV, so a quoted formula
    // ("=HYPERLINK(...)") is looked at inside its quotes and the apostrophe goes
    // after the opening quote; checking the raw field let it through.
    const fixRaw = (field: string): string => {
      const quoted = /^(\s*")(.*?)("?\s*)$/s.exec(field);
      if (!quoted || !isFormula(quoted[2] ?? '')) return fix(field);
      neutralised++;
      return `${quoted[1]}'${inert(quoted[2] ?? '')}${quoted[3]}`;
    };
    const out = text
      .split('\n')
      .map((line) => line.split(',').map(fixRaw).join(','))
      .join('\n');
    return { text: out, neutralised, links };
  }
}
