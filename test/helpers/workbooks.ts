// Real workbooks for tests: a flat ODF spreadsheet (.fods) written here, made
// into xlsx, xls or ods by LibreOffice itself (on the host, its own profile),
// so that formulas carry the values they were saved with, and hidden sheets,
// rows and columns are what Excel files say.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { zip } from './bytes.js';

const run = promisify(execFile);

/** A cell: text, a number, or a formula (ODF syntax, "of:=...") with the value it was saved with. */
export type Cell = string | number | { formula: string; value: number } | null;
export interface Row {
  cells: Cell[];
  hidden?: boolean;
}
export interface Sheet {
  name: string;
  hidden?: boolean;
  /** Indexes (0-based) of hidden columns. */
  hiddenColumns?: number[];
  rows: Row[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function cell(c: Cell): string {
  if (c === null) return '<table:table-cell/>';
  if (typeof c === 'number') return `<table:table-cell office:value-type="float" office:value="${c}"><text:p>${c}</text:p></table:table-cell>`;
  if (typeof c === 'string') return `<table:table-cell office:value-type="string"><text:p>${esc(c)}</text:p></table:table-cell>`;
  return `<table:table-cell table:formula="${esc(c.formula)}" office:value-type="float" office:value="${c.value}"><text:p>${c.value}</text:p></table:table-cell>`;
}

export function fods(sheets: Sheet[]): string {
  const tables = sheets.map((s) => {
    const width = Math.max(1, ...s.rows.map((r) => r.cells.length));
    const cols = Array.from({ length: width }, (_, i) => (s.hiddenColumns?.includes(i) ? '<table:table-column table:visibility="collapse"/>' : '<table:table-column/>')).join('');
    const rows = s.rows.map((r) => `<table:table-row${r.hidden ? ' table:visibility="collapse"' : ''}>${r.cells.map(cell).join('')}</table:table-row>`).join('\n');
    return `<table:table table:name="${esc(s.name)}"${s.hidden ? ' table:style-name="hiddentab"' : ''}>${cols}\n${rows}</table:table>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:automatic-styles><style:style style:name="hiddentab" style:family="table"><style:table-properties table:display="false"/></style:style></office:automatic-styles>
<office:body><office:spreadsheet>
${tables.join('\n')}
</office:spreadsheet></office:body></office:document>
`;
}

const FILTERS = { xlsx: 'xlsx:Calc MS Excel 2007 XML', xls: 'xls:MS Excel 97', ods: 'ods:calc8' } as const;

/** Writes each workbook as .fods in `dir` and has one LibreOffice run make it `format`; returns the bytes by name. */
export async function makeWorkbooks(dir: string, format: keyof typeof FILTERS, books: Record<string, Sheet[]>): Promise<Record<string, Buffer>> {
  const names = Object.keys(books);
  for (const n of names) writeFileSync(path.join(dir, `${n}.fods`), fods(books[n]!));
  const profile = `file://${path.join(dir, `profile-${format}`)}`;
  await run('soffice', [`-env:UserInstallation=${profile}`, '--headless', '--convert-to', FILTERS[format], '--outdir', dir, ...names.map((n) => path.join(dir, `${n}.fods`))], { timeout: 120_000 });
  return Object.fromEntries(names.map((n) => [n, readFileSync(path.join(dir, `${n}.${format}`))]));
}

/**
 * The workbook with one of its parts changed (an xlsx is a zip): how a test
 * gives a formula a cached value LibreOffice would not save, e.g. the value of
 * a linked file it never opened.
 */
export async function patchPart(workbook: Buffer, part: string, edit: (xml: string) => string): Promise<Buffer> {
  const reader = new ZipReader(new Uint8ArrayReader(workbook));
  const entries: Array<[string, Uint8Array]> = [];
  for (const e of await reader.getEntries()) {
    if (e.directory || !e.getData) continue;
    const data = await e.getData(new Uint8ArrayWriter());
    entries.push([e.filename, e.filename === part ? Buffer.from(edit(Buffer.from(data).toString('utf8')), 'utf8') : data]);
  }
  await reader.close();
  if (!entries.some(([name]) => name === part)) throw new Error(`no ${part} in the workbook`);
  return zip(entries);
}
