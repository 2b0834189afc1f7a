// OCR wired into the PDF path: a scanned-like page (a picture of Japanese and
// English sentences, no text of its own) converted with OCR on carries the
// sentences in its invisible text layer, where the picture shows them, as an
// independent tool (poppler's pdftotext) reads it; with OCR off it has no
// text; with too little time the PDF still comes out, on time, without text.
import { poppler, squeezed } from '../helpers/poppler.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentConverter } from '../../src/converters/documents.js';
import type { DocumentResult } from '../../src/core/ports.js';
import { bwrapHere } from '../helpers/isolation.js';
import { A4, limits } from './pdf-samples.js';
import { SCANNED_EN, SCANNED_JA, scannedPdf } from './ocr-samples.js';

const isolation = await bwrapHere();
const converter = createDocumentConverter({ pdf: { isolation } });
const work = mkdtempSync(path.join(tmpdir(), 'mugaika-ocr-layer-'));
let scanned: Uint8Array;
beforeAll(async () => {
  scanned = await scannedPdf();
  await converter.toImagePdf(scanned, 'pdf', limits());
}, 60_000);
afterAll(async () => {
  await converter.close();
  rmSync(work, { recursive: true, force: true });
});

const pop = (tool: 'pdffonts' | 'pdftotext', pdf: Uint8Array, ...args: string[]): string => poppler(work, tool, pdf, ...args);

function expectOk(result: DocumentResult): Extract<DocumentResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a PDF, got ${result.reason}: ${result.detail}`);
  return result;
}

describe('OCR of pages without text', () => {
  it('the sample has no text of its own', () => {
    expect(pop('pdftotext', scanned).trim()).toBe('');
  });

  it('with OCR on: the sentences the scan shows can be found, where it shows them, in one embedded font', async () => {
    const result = expectOk(await converter.toImagePdf(scanned, 'pdf', limits({ ocr: { maxPages: 10 }, deadline: Date.now() + 60_000 })));
    expect(result).toMatchObject({ textLayer: true, ocrPages: 1 });
    expect(result.ocrUnreadPages).toBeUndefined();
    const text = squeezed(pop('pdftotext', result.pdf));
    for (const sentence of [...SCANNED_JA, ...SCANNED_EN]) expect(text).toContain(squeezed(sentence));
    const fonts = pop('pdffonts', result.pdf).trim().split('\n').slice(2);
    expect(fonts).toHaveLength(1);
    expect(fonts[0]).toMatch(/CID TrueType\s+Identity-H\s+yes/);
    // 'Invoice' was drawn at x = 60 pt, its baseline 220 pt below the top, 18 pt high.
    const invoice = /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">Invoice<\/word>/.exec(pop('pdftotext', result.pdf, '-bbox'));
    expect(invoice).not.toBeNull();
    const [xMin, yMin, , yMax] = invoice!.slice(1, 5).map(Number) as [number, number, number, number];
    expect(Math.abs(xMin - 60)).toBeLessThan(3);
    expect(yMin).toBeGreaterThan(220 - 18 - 6);
    expect(yMax).toBeLessThan(220 + 8);
    expect(A4[1]).toBeGreaterThan(yMax);
  }, 90_000);

  it('with OCR off (the default): no text, no font', async () => {
    const result = expectOk(await converter.toImagePdf(scanned, 'pdf', limits()));
    expect(result.textLayer).toBe(false);
    expect(result.ocrPages).toBeUndefined();
    expect(pop('pdftotext', result.pdf).trim()).toBe('');
    expect(pop('pdffonts', result.pdf).trim().split('\n').slice(2)).toEqual([]);
  }, 60_000);

  it('without the text layer, no OCR either', async () => {
    const result = expectOk(await converter.toImagePdf(scanned, 'pdf', limits({ textLayer: false, ocr: { maxPages: 10 } })));
    expect(result.textLayer).toBe(false);
    expect(pop('pdftotext', result.pdf).trim()).toBe('');
  }, 60_000);

  it('with too little time for OCR: the PDF still comes out before the deadline, without text, and says the page was not read', async () => {
    // OCR must stop 5 s before the deadline: the page has time to be rendered (on a busy machine), not to be read.
    const hurried = createDocumentConverter({ pdf: { isolation, warm: 1, ocrMarginMs: 5000 } });
    try {
      const deadline = Date.now() + 5300;
      const result = expectOk(await hurried.toImagePdf(scanned, 'pdf', limits({ ocr: { maxPages: 10 }, deadline })));
      expect(Date.now()).toBeLessThanOrEqual(deadline + 100);
      expect(result.pages).toBe(1);
      expect(result).toMatchObject({ textLayer: false, ocrUnreadPages: 1 });
      expect(pop('pdftotext', result.pdf).trim()).toBe('');
    } finally {
      await hurried.close();
    }
  }, 60_000);

  it('reads at most ocr.maxPages pages of a document and counts the others as unread', async () => {
    const result = expectOk(await converter.toImagePdf(await scannedPdf(3), 'pdf', limits({ ocr: { maxPages: 1 }, deadline: Date.now() + 60_000 })));
    expect(result).toMatchObject({ pages: 3, textLayer: true, ocrPages: 1, ocrUnreadPages: 2 });
    const pages = pop('pdftotext', result.pdf).split('\f');
    expect(squeezed(pages[0]!)).toContain(squeezed(SCANNED_EN[0]!));
    expect(pages.slice(1).join('').trim()).toBe('');
  }, 90_000);
});
