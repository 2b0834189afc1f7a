// What a workbook's sandbox answers after its PDF is untrusted: counts and
// lengths are checked against what was asked for, and anything that is not
// exactly what convert.py writes costs the values, never the PDF.
import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../../src/converters/office/answer.js';
import type { SheetValuesRequest } from '../../src/core/ports.js';

const asked: SheetValuesRequest = { maxCellsPerSheet: 1000, maxBytes: 1000, hidden: 'omit' };
const pdf = Buffer.from('%PDF-1.7\n%%EOF\n');
const sheet = (head: string, name: string, csv: string): Buffer =>
  Buffer.concat([Buffer.from(`SHEET ${head} ${Buffer.byteLength(name)} ${Buffer.byteLength(csv)}\n`), Buffer.from(name), Buffer.from(csv)]);
const answer = (...rest: Buffer[]): Buffer => Buffer.concat([Buffer.from(`OK ${pdf.length}\n`), pdf, ...rest]);

describe("a workbook's sheets after the PDF", () => {
  it('are read as sent: names, CSV bytes, hidden parts, cut, left out', () => {
    const r = parseAnswer(answer(Buffer.from('SHEETS 2\n'), sheet('0 0 2 1 1', '見積', '品名,金額\n'), sheet('1 1 0 0 0', '隠し', '')), asked);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Buffer.from(r.pdf).equals(pdf)).toBe(true);
    expect(r.sheets?.map((s) => ({ ...s, untrustedCsv: s.untrustedCsv && Buffer.from(s.untrustedCsv).toString() }))).toEqual([
      { untrustedName: '見積', hidden: false, untrustedCsv: '品名,金額\n', leftOut: null, hiddenRows: 2, hiddenColumns: 1, truncated: true },
      { untrustedName: '隠し', hidden: true, untrustedCsv: null, leftOut: 'hidden', hiddenRows: 0, hiddenColumns: 0, truncated: false },
    ]);
  });

  it('cost only the values when they lie about lengths, go past what was asked, or trail garbage', () => {
    const bad = [
      answer(Buffer.from('SHEETS 2\n'), sheet('0 0 0 0 0', 'a', 'x\n')), // one sheet short
      answer(Buffer.from('SHEETS 1\n'), sheet('0 0 0 0 0', 'a', 'x'.repeat(1001))), // past maxBytes
      answer(Buffer.from('SHEETS 1\n'), sheet('0 0 0 0 0', 'a', 'x\n'), Buffer.from('more')), // trailing bytes
      answer(Buffer.from('SHEETS 1\n'), sheet('1 1 0 0 0', 'a', 'x\n')), // left out, yet values
      answer(Buffer.from('SHEETS 1\n'), sheet('0 3 0 0 0', 'a', 'x\n')), // unknown reason
      answer(Buffer.from('SHEETS 999\n')),
      answer(Buffer.from('garbage')),
    ];
    for (const b of bad) expect(parseAnswer(b, asked)).toMatchObject({ ok: true, sheets: [] });
  });

  it('refuse anything after the PDF when no values were asked for', () => {
    expect(parseAnswer(answer(Buffer.from('SHEETS 0\n')))).toMatchObject({ ok: false, reason: 'converter-failed' });
    expect(parseAnswer(answer())).toMatchObject({ ok: true });
  });
});
