// The invisible text layer on real PDFs with Japanese text: an independent
// tool (poppler's pdftotext) must find the sentences the page shows, at their
// places, and none of the text planted where the page does not show it; the
// only font is the one embedded (subsetted) for text drawn in render mode 3.
import { poppler, squeezed } from '../helpers/poppler.js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as mupdf from 'mupdf';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentConverter } from '../../src/converters/documents.js';
import type { DocumentResult } from '../../src/core/ports.js';
import { bwrapHere } from '../helpers/isolation.js';
import { activePdf, japanesePdf, limits, objectsAsText } from './pdf-samples.js';
import { bogusToUnicodePdf, crowdedPdf, HIDDEN, JAPANESE_FONT, plantedPdf, VISIBLE, VISIBLE_RED, VISIBLE_SMALL } from './pdf-text-samples.js';

const isolation = await bwrapHere();
const converter = createDocumentConverter({ pdf: { isolation } });
const work = mkdtempSync(path.join(tmpdir(), 'mugaika-text-layer-'));
afterAll(async () => {
  await converter.close();
  rmSync(work, { recursive: true, force: true });
});

const pop = (tool: 'pdffonts' | 'pdftotext', pdf: Uint8Array, ...args: string[]): string => poppler(work, tool, pdf, ...args);

function expectOk(result: DocumentResult): Extract<DocumentResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a PDF, got ${result.reason}: ${result.detail}`);
  return result;
}

/** The content streams of every page, decompressed. */
function pageContents(pdf: Uint8Array): string[] {
  const doc = new mupdf.PDFDocument(pdf);
  const out: string[] = [];
  for (let i = 0; i < doc.countPages(); i++) {
    const contents = doc.findPage(i).get('Contents');
    const streams = contents.isArray() ? Array.from({ length: contents.length }, (_, j) => contents.get(j)) : [contents];
    out.push(streams.map((s) => Buffer.from(s.readStream().asUint8Array()).toString('latin1')).join('\n'));
  }
  return out;
}

/**
 * What the output may hold besides page images: text drawn only in render
 * mode 3, in one embedded font; no other text operator, annotation, action or script.
 */
function expectOnlyInvisibleText(output: Uint8Array): void {
  const objects = objectsAsText(output);
  for (const token of ['/JavaScript', '/JS', '/OpenAction', '/AA', '/Launch', '/EmbeddedFile', '/URI', '/AcroForm', '/XFA', '/Annots', '/Producer', '/Creator', '/Type3']) {
    expect(objects, `output has no ${token}`).not.toContain(token);
  }
  for (const content of pageContents(output)) {
    // Each page: its image over the whole page, then at most one text block.
    expect(content.trim()).toMatch(/^q\n([\d.\s-]+ cm\n)+\/Image-\d+ Do\nQ(\s+q\nBT\n3 Tr\n[\s\S]*\nET\nQ)?$/);
    const blocks = content.match(/BT\n[\s\S]*?\nET/g) ?? [];
    expect(blocks.length).toBeLessThanOrEqual(1);
    for (const block of blocks) {
      expect(block.match(/ Tr$/gm)).toEqual([' Tr']);
      expect(block).not.toMatch(/\b(Do|BI|re|m|l|c|f|S|sh|gs|d0|d1)$/m);
    }
    expect(content.replace(/BT\n[\s\S]*?\nET/g, '')).not.toMatch(/\b(Tj|TJ|Tf|Tr)$/m);
  }
  const fonts = pop('pdffonts', output).trim().split('\n').slice(2);
  expect(fonts.length).toBeLessThanOrEqual(1);
  for (const row of fonts) expect(row).toMatch(/CID TrueType\s+Identity-H\s+yes/);
}

describe('the text layer', () => {
  it('carries the sentences a page shows, where it shows them, in Japanese and English', async () => {
    const input = await plantedPdf();
    const result = expectOk(await converter.toImagePdf(input, 'pdf', limits()));
    expect(result.textLayer).toBe(true);
    const text = squeezed(pop('pdftotext', result.pdf));
    for (const sentence of [...VISIBLE, VISIBLE_SMALL, VISIBLE_RED]) expect(text).toContain(squeezed(sentence));
    expectOnlyInvisibleText(result.pdf);

    // Selection boxes: each visible word where the original has it, within a point.
    const words = (pdf: Uint8Array): Map<string, number[]> => {
      const boxes = new Map<string, number[]>();
      for (const m of pop('pdftotext', pdf, '-bbox').matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)<\/word>/g)) {
        boxes.set(m[5]!, [m[1], m[2], m[3], m[4]].map(Number));
      }
      return boxes;
    };
    const before = words(input);
    const after = words(result.pdf);
    for (const word of [VISIBLE[0]!, VISIBLE[1]!, 'Tender', '2026-0415', 'Friday.', VISIBLE_RED]) {
      const [a, b] = [before.get(word), after.get(word)];
      expect(a, `input has the word ${word}`).toBeDefined();
      expect(b, `output has the word ${word}`).toBeDefined();
      expect(Math.abs(a![0]! - b![0]!), `${word} starts where it did`).toBeLessThan(1);
      expect(Math.abs(a![2]! - b![2]!), `${word} ends where it did`).toBeLessThan(1.5);
      expect(Math.abs((a![1]! + a![3]!) / 2 - (b![1]! + b![3]!) / 2), `${word} sits on its line`).toBeLessThan(3);
    }
  });

  it('leaves out text the page does not show: white on white, off the page, under an image or a shape, of no size, invisible, clipped, in a hidden layer', async () => {
    const input = await plantedPdf();
    // The planted text is really there for a text extractor that does not look at the pixels.
    const doc = new mupdf.PDFDocument(input);
    const everything = squeezed(doc.loadPage(0).toStructuredText('').asText());
    for (const hidden of [HIDDEN.whiteOnWhite, HIDDEN.underImage, HIDDEN.underShape, HIDDEN.invisibleMode]) expect(everything).toContain(hidden);

    const output = expectOk(await converter.toImagePdf(input, 'pdf', limits())).pdf;
    const text = squeezed(pop('pdftotext', output));
    for (const [kind, hidden] of Object.entries(HIDDEN)) {
      expect(text, `${kind} is left out`).not.toContain(hidden.slice(-4));
      expect(text, `${kind} is left out`).not.toContain(hidden.slice(0, 4));
    }
  });

  it('embeds only the glyphs it uses', async () => {
    const output = expectOk(await converter.toImagePdf(japanesePdf(), 'pdf', limits())).pdf;
    expect(squeezed(pop('pdftotext', output))).toContain('令和七年度予算書');
    const doc = new mupdf.PDFDocument(output);
    let fontFile = 0;
    for (let num = 1; num < doc.countObjects(); num++) {
      const obj = doc.newIndirect(num).resolve();
      if (obj.isDictionary() && obj.get('FontFile2').isStream()) fontFile = obj.get('FontFile2').readStream().getLength();
    }
    expect(fontFile).toBeGreaterThan(0);
    expect(fontFile).toBeLessThan(statSync(JAPANESE_FONT!).size / 20);
  });

  it('is off when the policy says so: no font, no text', async () => {
    const result = expectOk(await converter.toImagePdf(await plantedPdf(), 'pdf', limits({ textLayer: false })));
    expect(result.textLayer).toBe(false);
    expect(pop('pdftotext', result.pdf).trim()).toBe('');
    expect(pop('pdffonts', result.pdf).trim().split('\n').slice(2)).toEqual([]);
  });

  it('without its font, converts the document without a text layer and says so once in the log', async () => {
    const lines: string[] = [];
    const fontless = createDocumentConverter({ pdf: { isolation, warm: 0, textFontPaths: [path.join(work, 'no-such-font.ttf')], log: (line) => lines.push(line) } });
    try {
      for (let i = 0; i < 2; i++) {
        const result = expectOk(await fontless.toImagePdf(japanesePdf(), 'pdf', limits()));
        expect(result.textLayer).toBe(false);
        expect(pop('pdftotext', result.pdf).trim()).toBe('');
      }
      expect(lines).toEqual([expect.stringContaining('no font for the text layer')]);
    } finally {
      await fontless.close();
    }
  });

  it('keeps the active-content checks: scripts, actions, links, forms, attachments and metadata stay out', async () => {
    const output = expectOk(await converter.toImagePdf(await activePdf(), 'pdf', limits())).pdf;
    expectOnlyInvisibleText(output);
    const text = squeezed(pop('pdftotext', output));
    expect(text).toContain('Visibletextonpage2');
    expect(text).toContain('無害化通信テスト');
  });

  it('bounds a page of 110,000 characters: converted, its text cut short and said so', async () => {
    const started = Date.now();
    const result = expectOk(await converter.toImagePdf(await crowdedPdf(110_000), 'pdf', limits()));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.textTruncatedPages).toBe(1);
    expect(result.pages).toBe(1);
    expectOnlyInvisibleText(result.pdf);
  });

  it('takes a font with a lying ToUnicode map without controls, bidi overrides or a crash', async () => {
    const input = await bogusToUnicodePdf();
    expect(pop('pdftotext', input)).toMatch(/\u202e/);
    const result = expectOk(await converter.toImagePdf(input, 'pdf', limits()));
    expect(pop('pdftotext', result.pdf)).not.toMatch(/[\u0000-\u0008\u000b\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
    expectOnlyInvisibleText(result.pdf);
  });

  it('comes with Office documents too: their PDF goes through the same rasterizer', async () => {
    const office = createDocumentConverter({ pdf: { isolation, warm: 0 }, office: async () => ({ ok: true, pdf: await plantedPdf() }) });
    try {
      const result = expectOk(await office.toImagePdf(Buffer.from('docx bytes'), 'docx', limits()));
      expect(result.textLayer).toBe(true);
      const text = squeezed(pop('pdftotext', result.pdf));
      expect(text).toContain(squeezed(VISIBLE[1]!));
      expect(text).not.toContain(HIDDEN.whiteOnWhite.slice(-4));
    } finally {
      await office.close();
    }
  });
});
