// OCR of a rendered page with the real Tesseract (Japanese and English) in
// bubblewrap: a page image with a Japanese sentence gives its words with boxes
// in page pixels where the text is; a deadline already near kills it and the
// page stays without text. (Not yet wired to the text layer of converted
// PDFs: this is the step the text layer will call for pages without text.)
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bwrapHere } from '../helpers/isolation.js';
import { ocrPage, parseTsv } from '../../src/converters/ocr/tesseract.js';

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
    expect(parseTsv(tsv, { width: 100, height: 100 })).toEqual([{ text: '見積', x: 0, y: 10, width: 100, height: 20, confidence: 96.5 }]);
  });
});
