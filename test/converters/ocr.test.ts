// OCR of a rendered page with the real Tesseract (Japanese and English) in
// bubblewrap: a page image with a Japanese sentence gives its words with boxes
// in page pixels where the text is; a deadline already near kills it and the
// page stays without text. The words become text runs (ocr-runs.ts): a line
// cut at wide gaps, mapped to points, garbage left out. (The whole path, from
// a scanned PDF to our output's text, is in ocr-layer.test.ts.)
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bwrapHere } from '../helpers/isolation.js';
import { ocrPage, parseTsv } from '../../src/converters/ocr/tesseract.js';
import { ocrRuns } from '../../src/converters/ocr/ocr-runs.js';
import type { OcrWord } from '../../src/converters/ocr/types.js';

const WIDTH = 1200;
const HEIGHT = 300;

async function page(text: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}"><rect width="100%" height="100%" fill="white"/><text x="60" y="170" font-family="Noto Sans CJK JP" font-size="64" fill="black">${text}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

describe('OCR of a page without text', () => {
  it('finds the Japanese words where they are drawn, inside the sandbox', async () => {
    const png = await page('住民税のお知らせ 2026');
    const r = await ocrPage({ png, width: WIDTH, height: HEIGHT }, Date.now() + 60_000, { isolation: await bwrapHere() });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.words.map((w) => w.text).join('')).toContain('住民税');
    for (const w of r.words) {
      expect(w.y).toBeGreaterThan(80);
      expect(w.y + w.height).toBeLessThan(200);
      expect(w.x + w.width).toBeLessThanOrEqual(WIDTH);
    }
  }, 90_000);

  it('is killed on the deadline: the page stays without text, on time', async () => {
    const png = await page('住民税のお知らせ');
    const started = Date.now();
    const r = await ocrPage({ png, width: WIDTH, height: HEIGHT }, started + 50, { isolation: await bwrapHere() });
    expect(r).toMatchObject({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reads what it answers as untrusted: words clamped to the page, controls gone, junk skipped', () => {
    const tsv = [
      'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext',
      '5\t1\t1\t1\t1\t1\t-5\t10\t5000\t20\t96.5\t見\u0007積',
      '5\t1\t1\t1\t1\t2\tx\t10\t5\t5\t90\tbad',
      '4\t1\t1\t1\t1\t0\t0\t0\t9\t9\t-1\t',
    ].join('\n');
    expect(parseTsv(tsv, { width: 100, height: 100 })).toEqual([{ text: '見積', x: 0, y: 10, width: 100, height: 20, confidence: 96.5, line: 0 }]);
  });

  it('numbers the lines in the order Tesseract read them', () => {
    const row = (block: number, line: number, text: string): string => `5\t1\t${block}\t1\t${line}\t1\t10\t10\t10\t10\t90\t${text}`;
    expect(parseTsv([row(1, 1, 'a'), row(1, 1, 'b'), row(1, 2, 'c'), row(2, 1, 'd')].join('\n'), { width: 100, height: 100 }).map((w) => w.line)).toEqual([0, 0, 1, 2]);
  });
});

describe('OCR words as text runs', () => {
  // An A4 page at 150 dpi: 1240 x 1754 pixels for 595.28 x 841.89 points.
  const page = { width: 1240, height: 1754, widthPt: 595.28, heightPt: 841.89 };
  const word = (text: string, x: number, y: number, width: number, confidence = 95, line = 0, height = 40): OcrWord => ({ text, x, y, width, height, confidence, line });

  it('joins a line into one run over its words, in points from the bottom left, Japanese without spaces and English with', () => {
    const runs = ocrRuns([word('住民', 125, 170, 110), word('税', 240, 170, 20, 11), word('の', 278, 170, 30), word('Invoice', 125, 430, 112, 91, 1), word('4821', 257, 430, 80, 92, 1)], page);
    expect(runs.map((r) => r.text)).toEqual(['住民税の', 'Invoice 4821']);
    const [jp] = runs;
    const scale = 595.28 / 1240;
    expect(jp!.x).toBeCloseTo(125 * scale, 3);
    expect(jp!.width).toBeCloseTo((308 - 125) * scale, 3);
    // The box's bottom is 210 px from the top; the baseline a little above it.
    expect(jp!.y).toBeGreaterThan(841.89 - 210 * scale);
    expect(jp!.y).toBeLessThan(841.89 - 200 * scale);
    expect(jp!.size).toBeGreaterThan(40 * scale);
    expect(jp).toMatchObject({ dirX: 1, dirY: 0 });
  });

  it('keeps table cells apart: a gap wider than the line is tall starts a new run', () => {
    expect(ocrRuns([word('件名', 100, 100, 80), word('金額', 600, 100, 80)], page).map((r) => r.text)).toEqual(['件名', '金額']);
  });

  it('leaves out garbage: a line read without confidence, lone symbols, a box taller than a fifth of the page', () => {
    const runs = ocrRuns(
      [
        word('ZxQ', 100, 100, 80, 20, 0),
        word('lI1', 200, 100, 80, 35, 0),
        word('|', 100, 300, 5, 60, 1),
        word('—', 120, 300, 50, 70, 1),
        word('写真', 100, 500, 300, 90, 2, 600),
        word('会議', 100, 1400, 80, 93, 3),
        word('。', 180, 1400, 10, 93, 3),
      ],
      page,
    );
    expect(runs.map((r) => r.text)).toEqual(['会議。']);
  });
});
