// A workbook crosses as its image-only PDF and, beside it, each sheet's values
// as CSV: real workbooks made by LibreOffice (test/helpers/workbooks.ts), sent
// through sanitize() with the real Office converter (LibreOffice in
// bubblewrap). The CSVs carry the values the workbook was saved with (a
// formula's cached result, never a linked file's), UTF-8 with BOM, formula
// cells neutralised, hidden sheets, rows and columns left out unless the
// policy includes them, and a sheet over the cell cap cut, all said in the notice.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDocuments, realDocuments } from '../helpers/documents.js';
import { harness, policyWith, run, tempDir, withAttachments, type Harness, type Outcome } from '../helpers/run.js';
import { makeWorkbooks, patchPart, type Sheet } from '../helpers/workbooks.js';
import type { PolicyInput } from '../../src/core/policy.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

let dir: string;
let h: Harness;
let books: Record<string, Buffer>;
let linked: string;

const estimate = (): Sheet[] => [
  {
    name: '見積',
    hiddenColumns: [1],
    rows: [
      { cells: ['品名', '秘密列', '金額'] },
      { cells: ['机（髙橋㈱）', 'x', 1234000] },
      { cells: ['隠し行', null, 5], hidden: true },
      { cells: ['合計', null, { formula: 'of:=SUM([.C2:.C3])', value: 1234005 }] },
      { cells: ["=cmd|' /C calc'!A0", null, null] },
      { cells: ['他のファイル', null, { formula: `of:=['file://${linked}'#$Sheet1.A1]`, value: 42 }] },
    ],
  },
  { name: 'メモ', rows: [{ cells: ['令和6年度 住民税のお知らせ ①'] }] },
  { name: '隠しシート', hidden: true, rows: [{ cells: ['秘密のシート'] }] },
];

const large = (): Sheet[] => [{ name: '名簿', rows: Array.from({ length: 2000 }, (_, i) => ({ cells: [`行${i + 1}`, i + 1] })) }];

const send = (name: string, bytes: Buffer, policy: PolicyInput = {}): Promise<Outcome> =>
  run(withAttachments('見積書を送ります。', [{ type: XLSX, filename: name, body: bytes }]), policyWith({ documents: { dpi: 36 }, ...policy }), h);

const csvs = (o: Outcome): Map<string, Buffer> => new Map((o.mail?.attachments ?? []).filter((a) => a.contentType === 'text/csv').map((a) => [a.filename ?? '', a.content]));
const text = (b: Buffer | undefined): string => (b ? b.subarray(3).toString('utf8') : '');

beforeAll(async () => {
  dir = tempDir('mugaika-sheets-');
  linked = path.join(dir, 'other.ods');
  h = await harness({ documents: realDocuments() });
  books = await makeWorkbooks(dir, 'xlsx', { estimate: estimate(), large: large() });
  // As Excel saves it: the formula on the linked file with the value it had then (42; LibreOffice,
  // not opening the link, saved #N/A). The file is there now with 99: following the link, or
  // recalculating, would show 99 (or #N/A in the sandbox, which cannot see it).
  books.estimate = await patchPart(books.estimate!, 'xl/worksheets/sheet1.xml', (xml) => xml.replace(/ t="e">(<f[^>]*>\[1\]Sheet1!A1<\/f>)<v>#N\/A<\/v>/, '>$1<v>42</v>'));
  writeFileSync(linked, (await makeWorkbooks(dir, 'ods', { other: [{ name: 'Sheet1', rows: [{ cells: [99] }] }] })).other!);
}, 180_000);

afterAll(async () => {
  await closeDocuments();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a workbook's values as CSV", () => {
  it('crosses beside the PDF: saved values, UTF-8 with BOM, formulas neutralised, hidden parts left out and said', async () => {
    const o = await send('見積.xlsx', books.estimate!);
    const files = (o.mail?.attachments ?? []).map((a) => a.filename);
    expect(files).toEqual(['見積.xlsx.pdf', '見積_見積.csv', '見積_メモ.csv']);
    const values = csvs(o);
    const sheet = values.get('見積_見積.csv')!;
    expect(sheet.subarray(0, 3).equals(BOM)).toBe(true);
    const rows = text(sheet).split('\r\n');
    expect(rows.slice(0, 2)).toEqual(['品名,金額', '机（髙橋㈱）,1234000']);
    // The total the workbook saved (it counts the hidden row), the formula cell made text, the linked value as cached.
    expect(rows).toContain('合計,1234005');
    expect(rows).toContain("'=cmd|' /C calc'!A0,");
    expect(rows).toContain('他のファイル,42');
    expect(text(sheet)).not.toMatch(/秘密|隠し行|99/);
    expect(text(values.get('見積_メモ.csv'))).toBe('令和6年度 住民税のお知らせ ①\r\n');
    expect([...values.values()].some((b) => b.toString('utf8').includes('秘密のシート'))).toBe(false);

    const notice = o.mail?.text ?? '';
    expect(notice).toContain('「見積.xlsx.pdf」（画像化した PDF）と「見積_見積.csv」「見積_メモ.csv」（表の値の CSV）として添付しました。');
    expect(notice).toContain('表の値を、保存されていた計算結果のまま CSV ファイルにしました');
    expect(notice).toContain('非表示のシート・行・列がありました。CSV には含めていません');
    expect(notice).toContain("数式として動くおそれのあるセルは、先頭に ' を付けて文字にしました。");
    expect(o.result.findings.find((f) => f.code === 'sheet-hidden-omitted')?.detail).toBe('1 sheets, 1 rows, 1 columns');
  }, 120_000);

  it('includes hidden sheets, rows and columns when the policy says so, and says that', async () => {
    const o = await send('見積.xlsx', books.estimate!, { documents: { dpi: 36, hiddenCells: 'include' } });
    const values = csvs(o);
    expect([...values.keys()]).toEqual(['見積_見積.csv', '見積_メモ.csv', '見積_隠しシート.csv']);
    expect(text(values.get('見積_見積.csv')).split('\r\n').slice(0, 3)).toEqual(['品名,秘密列,金額', '机（髙橋㈱）,x,1234000', '隠し行,,5']);
    expect(text(values.get('見積_隠しシート.csv'))).toBe('秘密のシート\r\n');
    expect(o.mail?.text).toContain('非表示のシート・行・列がありました。CSV には含めています');
  }, 120_000);

  it('is not made when the policy turns it off', async () => {
    const o = await send('見積.xlsx', books.estimate!, { documents: { dpi: 36, sheetValuesCsv: false } });
    expect((o.mail?.attachments ?? []).map((a) => a.filename)).toEqual(['見積.xlsx.pdf']);
    expect(o.codes.filter((c) => c.startsWith('sheet-'))).toEqual([]);
  }, 120_000);

  it('cuts a sheet over the cell cap and says so', async () => {
    const o = await send('名簿.xlsx', books.large!, { documents: { dpi: 36, sheetMaxCells: 1000 } });
    const rows = text(csvs(o).get('名簿_名簿.csv')).split('\r\n');
    expect(rows.slice(0, 2)).toEqual(['行1,1', '行2,2']);
    expect(rows.filter(Boolean)).toHaveLength(500);
    expect(o.mail?.text).toContain('セルの数が上限を超えたシートは、CSV に途中までの行を入れました');
  }, 180_000);
});
