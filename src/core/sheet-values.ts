// A workbook's sheets cross as CSV beside its image-only PDF: the values the
// workbook was saved with, as the converter's sandbox exported them. What the
// sandbox sends is untrusted data like any CSV attachment: decoded, split by
// the parser, bounded here again (cells per sheet), and written by us
// (rowsForExcel: UTF-8 with BOM, CRLF, formula cells neutralised, links
// inert). Hidden sheets, rows and columns are stated in the notice.
import { parse } from 'csv-parse/sync';
import { rowsForExcel } from './csv.js';
import { finding, type Finding } from './findings.js';
import { neutraliseName, type SafeName } from './names.js';
import { take, type OutputBudget } from './output-budget.js';
import type { Policy } from './policy.js';
import type { UntrustedSheet } from './ports.js';
import { cleanText } from './text-clean.js';
import type { DeliveredPart } from './attachment-types.js';

const MAX_COLUMNS = 1024;
const MAX_SHEET_NAME = 60;

export interface SheetValues {
  parts: DeliveredPart[];
  findings: Finding[];
}

/** The rows of one sheet's untrusted CSV, cut to `maxCells`; null when the parser refuses it. */
function rowsOf(untrustedCsv: Uint8Array, maxCells: number): { rows: string[][]; cut: boolean } | null {
  const text = new TextDecoder('utf-8').decode(untrustedCsv);
  let rows: string[][];
  try {
    rows = parse(text, { delimiter: ',', relax_quotes: true, relax_column_count: true, skip_empty_lines: false, bom: true }) as string[][];
  } catch {
    return null;
  }
  const width = Math.min(
    MAX_COLUMNS,
    rows.reduce((w, r) => Math.max(w, r.length), 0),
  );
  const keep = Math.max(1, Math.floor(maxCells / Math.max(1, width)));
  const cut = rows.length > keep || rows.some((r) => r.length > width);
  return { rows: rows.slice(0, keep).map((r) => r.slice(0, width).map((cell) => cleanText(cell).text)), cut };
}

/** "見積_4月分.csv": the workbook's name without its extension, then the sheet's, neutralised as any name we deliver. */
function csvName(workbook: SafeName, untrustedSheet: string, index: number, taken: Set<string>): string {
  const stem = workbook.ext ? workbook.name.slice(0, -(workbook.ext.length + 1)) : workbook.name;
  const sheet = [...neutraliseName(untrustedSheet.replace(/[\\/.]/g, '_'), `sheet${index + 1}`).name].slice(0, MAX_SHEET_NAME).join('');
  let name = neutraliseName(`${stem}_${sheet}.csv`, `sheet${index + 1}.csv`).name;
  if (taken.has(name)) name = name.replace(/\.csv$/, `_${index + 1}.csv`);
  taken.add(name);
  return name;
}

/**
 * The CSVs of a workbook's sheets and what the notice says of them. `room`
 * is what the delivered message may still carry beside the PDF: a CSV that
 * does not fit is left out, and so are those after it.
 */
export function sheetValues(sheets: readonly UntrustedSheet[], workbook: SafeName, policy: Policy, room: OutputBudget): SheetValues {
  const parts: DeliveredPart[] = [];
  const taken = new Set<string>();
  let [neutralised, links, cut, leftOut, unreadable] = [0, 0, 0, 0, 0];
  for (const [i, sheet] of sheets.entries()) {
    if (sheet.leftOut === 'size') leftOut++;
    if (!sheet.untrustedCsv) continue;
    const read = rowsOf(sheet.untrustedCsv, policy.documents.sheetMaxCells);
    if (!read) {
      unreadable++;
      continue;
    }
    if (read.cut || sheet.truncated) cut++;
    const csv = rowsForExcel(read.rows);
    if (!take(room, csv.bytes.byteLength)) {
      leftOut++;
      continue;
    }
    neutralised += csv.neutralised;
    links += csv.links;
    parts.push({ filename: csvName(workbook, sheet.untrustedName, i, taken), contentType: 'text/csv; charset=utf-8', bytes: csv.bytes });
  }

  const findings: Finding[] = [];
  if (parts.length > 0) findings.push(finding('sheet-values-csv', { detail: `${parts.length} of ${sheets.length} sheets` }));
  const hiddenSheets = sheets.filter((s) => s.hidden).length;
  const hiddenRows = sheets.reduce((n, s) => n + s.hiddenRows, 0);
  const hiddenColumns = sheets.reduce((n, s) => n + s.hiddenColumns, 0);
  if (hiddenSheets + hiddenRows + hiddenColumns > 0) {
    const code = policy.documents.hiddenCells === 'omit' ? 'sheet-hidden-omitted' : 'sheet-hidden-included';
    findings.push(finding(code, { detail: `${hiddenSheets} sheets, ${hiddenRows} rows, ${hiddenColumns} columns` }));
  }
  if (cut > 0) findings.push(finding('sheet-values-truncated', { detail: `${cut} sheets over ${policy.documents.sheetMaxCells} cells` }));
  if (leftOut + unreadable > 0) findings.push(finding('sheet-values-left-out', { count: leftOut + unreadable, detail: `${leftOut} over the output limit, ${unreadable} unreadable` }));
  if (neutralised > 0) findings.push(finding('csv-formula-neutralised', { detail: `${neutralised} cells` }));
  if (links > 0) findings.push(finding('link-defanged', { detail: `${links}` }));
  return { parts, findings };
}
