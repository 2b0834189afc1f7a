// CSV crosses as plain text, never as text/csv, and a cell that a spreadsheet
// would run as a formula (= + - @, and their full-width forms) is prefixed with
// an apostrophe (OWASP's CSV injection advice). Plain numbers stay as they are.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[\s]*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const PLAIN_NUMBER = /^[+-]?(\d[\d,]*)(\.\d+)?%?$/;

const isFormula = (cell: string): boolean => FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell.trim());

export interface NeutralisedCsv {
  text: string;
  neutralised: number;
}

export function neutraliseCsv(text: string): NeutralisedCsv {
  let neutralised = 0;
  const fix = (cell: string): string => {
    if (!isFormula(cell)) return cell;
    neutralised++;
    return `'${cell}`;
  };
  try {
    const rows = parse(text, { relax_quotes: true, relax_column_count: true, skip_empty_lines: false, bom: true }) as string[][];
    const out = stringify(rows.map((row) => row.map(fix)), { record_delimiter: '\n' });
    return { text: out, neutralised };
  } catch {
    // Not CSV a parser accepts: neutralise what looks like a field start.
    const out = text
      .split('\n')
      .map((line) => line.split(',').map(fix).join(','))
      .join('\n');
    return { text: out, neutralised };
  }
}
