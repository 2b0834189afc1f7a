// An HTML table becomes rows of text in aligned columns, as a clerk would
// type it, with East Asian characters counted as two columns (text-width.ts):
//
//   場所         見本町3丁目の交差点（郵便局の前）
//   大きさ       直径30cmくらい、深さ5cmくらい
//
// A table wider than a line becomes one cell per line (with a header row,
// "見出し: 値"), and a table that holds tables (how newsletters lay out
// their pages) is no data table: its cells are blocks, one after another.
// Every step is linear in the cells: spans are capped, and no square grid is
// built (html-to-text's own table printer transposes one).
import type { DomNode, FormatCallback } from 'html-to-text';
import { textWidth } from './text-width.js';

/** Columns a row of aligned cells may take; wider tables are one cell per line. */
export const MAX_TABLE_WIDTH = 80;
const COLUMN_GAP = 3;
const MAX_COLUMNS = 30;
const MAX_COLSPAN = MAX_COLUMNS;
const MAX_ROWSPAN = 1000;

interface Cell {
  colspan: number;
  rowspan: number;
  text: string;
}

type Builder = Parameters<FormatCallback>[2];

const span = (node: DomNode, name: string, max: number): number => {
  const v = Number.parseInt((node as DomNode & { attribs?: Record<string, string> }).attribs?.[name] ?? '', 10);
  return Number.isFinite(v) && v > 1 ? Math.min(v, max) : 1;
};

/** Whether a table holds another table, without walking past the first one found. */
function holdsTable(table: DomNode): boolean {
  const stack = [...(table.children ?? [])];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type !== 'tag') continue;
    if (n.name === 'table') return true;
    if (n.children) stack.push(...n.children);
  }
  return false;
}

const lines = (text: string): string[] => text.split('\n').map((l) => l.trimEnd());

interface Placed {
  cell: Cell;
  header: boolean;
  col: number;
  lines: string[];
}

/** Where each cell sits: the first column free of cells spanning down from rows above. */
function place(rows: readonly Cell[][], headers: readonly boolean[][]): { rows: Placed[][]; columns: number } | null {
  const carry: number[] = [];
  const out: Placed[][] = [];
  let columns = 0;
  for (const [r, cells] of rows.entries()) {
    const blocked = carry.map((n) => n > 0);
    const row: Placed[] = [];
    let col = 0;
    for (const [i, cell] of cells.entries()) {
      while (blocked[col]) col++;
      if (col + cell.colspan > MAX_COLUMNS) return null;
      row.push({ cell, header: headers[r]?.[i] ?? false, col, lines: lines(cell.text) });
      for (let c = col; c < col + cell.colspan; c++) carry[c] = cell.rowspan;
      col += cell.colspan;
    }
    columns = Math.max(columns, col, carry.length);
    for (let c = 0; c < carry.length; c++) if ((carry[c] ?? 0) > 0) carry[c]!--;
    out.push(row);
  }
  return { rows: out, columns };
}

/** Column widths, or null when the table is wider than a line. */
function widths(rows: readonly Placed[][], columns: number): number[] | null {
  const w = Array.from({ length: columns }, () => 0);
  // A loop, not Math.max(...): a cell may hold more lines than a call takes arguments.
  const widest = (p: Placed): number => p.lines.reduce((m, l) => Math.max(m, textWidth(l)), 0);
  for (const row of rows) for (const p of row) if (p.cell.colspan === 1) w[p.col] = Math.max(w[p.col]!, widest(p));
  // A spanning cell widens the last column it spans, if the ones it spans are too narrow together.
  for (const row of rows) {
    for (const p of row) {
      if (p.cell.colspan === 1) continue;
      const last = p.col + p.cell.colspan - 1;
      let have = COLUMN_GAP * (p.cell.colspan - 1);
      for (let c = p.col; c <= last; c++) have += w[c]!;
      if (widest(p) > have) w[last]! += widest(p) - have;
    }
  }
  const total = w.reduce((a, b) => a + b, 0) + COLUMN_GAP * Math.max(0, columns - 1);
  return total > MAX_TABLE_WIDTH ? null : w;
}

const pad = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - textWidth(s)));

function aligned(rows: readonly Placed[][], w: readonly number[]): string {
  const out: string[] = [];
  const gap = ' '.repeat(COLUMN_GAP);
  for (const row of rows) {
    if (row.length === 0) continue;
    const height = row.reduce((m, p) => Math.max(m, p.lines.length), 0);
    const at = new Map(row.map((p) => [p.col, p]));
    for (let i = 0; i < height; i++) {
      const parts: string[] = [];
      for (let c = 0; c < w.length;) {
        const p = at.get(c);
        const n = p ? p.cell.colspan : 1;
        let width = COLUMN_GAP * (n - 1);
        for (let k = c; k < c + n; k++) width += w[k] ?? 0;
        parts.push(pad(p?.lines[i] ?? '', width));
        c += n;
      }
      out.push(parts.join(gap).trimEnd());
    }
  }
  return out.join('\n');
}

/** One cell per line, rows apart; "見出し: 値" when the first row is all header cells. */
function oneCellPerLine(rows: readonly Placed[][]): string {
  const first = rows[0] ?? [];
  const named = first.length > 1 && first.every((p) => p.header && p.cell.colspan === 1);
  const names = new Map(first.map((p) => [p.col, p.lines.join(' ').trim()]));
  const blocks: string[] = [];
  for (const row of named ? rows.slice(1) : rows) {
    const cells = row.filter((p) => p.cell.text.trim() !== '');
    if (cells.length === 0) continue;
    blocks.push(cells.map((p) => (named && names.get(p.col) ? `${names.get(p.col)}: ${p.cell.text.trim()}` : p.cell.text.trim())).join('\n'));
  }
  return blocks.join('\n\n');
}

function render(rows: readonly Cell[][], headers: readonly boolean[][]): string {
  const placed = place(rows, headers);
  if (!placed) return oneCellPerLine(rows.map((r, i) => r.map((cell, j) => ({ cell, header: headers[i]?.[j] ?? false, col: j, lines: lines(cell.text) }))));
  const w = widths(placed.rows, placed.columns);
  return w ? aligned(placed.rows, w) : oneCellPerLine(placed.rows);
}

export const dataTable: FormatCallback = (elem, walk, builder) => {
  if (holdsTable(elem)) {
    builder.openBlock({ leadingLineBreaks: 1 });
    walk(elem.children, builder);
    builder.closeBlock({ trailingLineBreaks: 1 });
    return;
  }
  for (const caption of elem.children.filter((n) => n.type === 'tag' && n.name === 'caption')) {
    builder.openBlock({ leadingLineBreaks: 2 });
    walk(caption.children, builder);
    builder.closeBlock({ trailingLineBreaks: 1 });
  }
  const headers: boolean[][] = [];
  const cell = (node: DomNode, b: Builder): void => {
    b.openTableCell();
    walk(node.children, b);
    b.closeTableCell({ colspan: span(node, 'colspan', MAX_COLSPAN), rowspan: span(node, 'rowspan', MAX_ROWSPAN) });
  };
  const walkTable = (node: DomNode): void => {
    if (node.type !== 'tag') return;
    if (node.name === 'thead' || node.name === 'tbody' || node.name === 'tfoot') {
      node.children.forEach(walkTable);
      return;
    }
    if (node.name !== 'tr') return;
    builder.openTableRow();
    const row: boolean[] = [];
    for (const child of node.children) {
      if (child.type !== 'tag' || (child.name !== 'td' && child.name !== 'th')) continue;
      cell(child, builder);
      row.push(child.name === 'th');
    }
    builder.closeTableRow();
    headers.push(row);
  };
  builder.openTable();
  elem.children.forEach(walkTable);
  builder.closeTable({ tableToString: (rows) => render(rows as Cell[][], headers), leadingLineBreaks: 2, trailingLineBreaks: 2 });
};
