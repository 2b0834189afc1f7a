// The PDF path end to end on real PDFs: a sandboxed mupdf process renders,
// the parent rebuilds an image-only PDF. Active content, text and fonts must
// be gone; page count and sizes kept; the pages must look like the input.
// (The invisible text layer, on by default, is checked in pdf-text-layer.test.ts.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentConverter } from '../../src/converters/documents.js';
import type { DocumentResult } from '../../src/core/ports.js';
import { bwrapHere } from '../helpers/isolation.js';
import { activePdf, encryptedPdf, japanesePdf, limits, meanDifference, objectsAsText, pageSizes, textPdf, thumbnail } from './pdf-samples.js';

const isolation = await bwrapHere();
const converter = createDocumentConverter({ pdf: { isolation } });
const work = mkdtempSync(path.join(tmpdir(), 'mugaika-pdf-test-'));
afterAll(async () => {
  await converter.close();
  rmSync(work, { recursive: true, force: true });
});

const FORBIDDEN = ['/JavaScript', '/JS', '/OpenAction', '/AA', '/Launch', '/EmbeddedFile', '/URI', '/AcroForm', '/XFA', '/Font', '/Annots', '/Producer', '/Creator', 'BT'];

function poppler(tool: 'pdffonts' | 'pdftotext' | 'pdfinfo', pdf: Uint8Array): string {
  const file = path.join(work, `${tool}-${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync(tool, tool === 'pdftotext' ? [file, '-'] : [file], { encoding: 'utf8' });
}

const fontRows = (pdf: Uint8Array): string[] => poppler('pdffonts', pdf).trim().split('\n').slice(2);

function expectOk(result: DocumentResult): Uint8Array {
  if (!result.ok) throw new Error(`expected a PDF, got ${result.reason}: ${result.detail}`);
  return result.pdf;
}

function expectLooksLike(input: Uint8Array, output: Uint8Array): void {
  for (let i = 0; i < pageSizes(input).length; i++) {
    const before = thumbnail(input, i);
    const after = thumbnail(output, i);
    expect(
      before.grey.some((v) => v < 128),
      `page ${i + 1} of the input has dark pixels`,
    ).toBe(true);
    expect(meanDifference(before, after), `page ${i + 1} looks like the input`).toBeLessThan(6);
  }
}

describe('PDF -> pixels -> PDF', () => {
  it('drops scripts, actions, links, forms, attachments, fonts, text and metadata, and keeps pages and looks', async () => {
    const input = await activePdf();
    const inputText = objectsAsText(input);
    for (const token of FORBIDDEN) expect(inputText, `the sample carries ${token}`).toContain(token);
    expect(fontRows(input).length).toBeGreaterThanOrEqual(2);
    expect(poppler('pdftotext', input)).toContain('Visible text on page 2');

    // Without the text layer (policy documents.textLayer: false); with it: pdf-text-layer.test.ts.
    const result = await converter.toImagePdf(input, 'pdf', limits({ textLayer: false }));
    const output = expectOk(result);
    expect(result.ok && result.pages).toBe(4);

    expect(pageSizes(output)).toEqual(pageSizes(input));
    const outputText = objectsAsText(output);
    for (const token of FORBIDDEN) expect(outputText, `output has no ${token}`).not.toContain(token);
    expect(fontRows(output)).toEqual([]);
    expect(poppler('pdftotext', output).trim()).toBe('');
    expect(poppler('pdfinfo', output)).not.toMatch(/^(Producer|Creator|Title|CreationDate):/m);
    // Each page's content only draws its one image over the whole page.
    const contents = outputText.match(/^q\n[\s\S]*?\nQ$/gm) ?? [];
    expect(contents).toHaveLength(4);
    for (const c of contents) expect(c).toMatch(/^q\n([\d.\s-]+ cm\n)+\/Image-\d+ Do\nQ$/);
    expectLooksLike(input, output);
  });

  it('renders Japanese text in an embedded CJK font as pixels', async () => {
    const input = japanesePdf();
    expect(poppler('pdftotext', input)).toContain('無害化通信テスト');
    const output = expectOk(await converter.toImagePdf(input, 'pdf', limits({ textLayer: false })));
    expect(poppler('pdftotext', output).trim()).toBe('');
    expect(fontRows(output)).toEqual([]);
    expectLooksLike(input, output);
  });

  it('refuses a PDF that needs a user password, and opens one whose user password is empty', async () => {
    const plain = await textPdf(2);
    const locked = await converter.toImagePdf(encryptedPdf(plain, 'secret'), 'pdf', limits());
    expect(locked).toMatchObject({ ok: false, reason: 'encrypted' });

    const open = encryptedPdf(plain, '');
    expect(objectsAsText(plain)).not.toContain('/Encrypt');
    const output = expectOk(await converter.toImagePdf(open, 'pdf', limits()));
    expect(pageSizes(output)).toEqual(pageSizes(plain));
    expect(objectsAsText(output)).not.toContain('/Encrypt');
    expectLooksLike(plain, output);
  });

  it('refuses more pages than the limit, and pages too large in points or pixels, before rendering', async () => {
    expect(await converter.toImagePdf(await textPdf(5), 'pdf', limits({ maxPages: 4 }))).toMatchObject({ ok: false, reason: 'too-many-pages', detail: '5 pages > 4' });
    expect(await converter.toImagePdf(await textPdf(1, [20_000, 600]), 'pdf', limits())).toMatchObject({ ok: false, reason: 'page-too-large' });
    const big = await converter.toImagePdf(await textPdf(1, [14_400, 14_400]), 'pdf', limits({ maxPixelsPerPage: 40_000_000 }));
    expect(big).toMatchObject({ ok: false, reason: 'page-too-large', detail: expect.stringContaining('30000x30000 pixels') });
  });

  it('stops once the pages would not fit in what the message may still carry', async () => {
    const input = await textPdf(5);
    const whole = expectOk(await converter.toImagePdf(input, 'pdf', limits()));
    const cut = await converter.toImagePdf(input, 'pdf', limits({ maxOutputBytes: Math.floor(whole.length / 2) }));
    expect(cut).toMatchObject({ ok: false, reason: 'output-too-large' });
  });

  it('fails broken input cleanly and the next document is fine', async () => {
    const good = await textPdf(3);
    const polyglot = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]), Buffer.from(good)]);
    const cases: Array<[string, Uint8Array]> = [
      ['zero bytes', new Uint8Array(0)],
      ['garbage', Buffer.from('This is not a PDF at all, just some text.\n'.repeat(50))],
      ['truncated', good.subarray(0, Math.floor(good.length / 3))],
      ['a ZIP', Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00' + 'x'.repeat(100), 'latin1')],
    ];
    for (const [name, bytes] of cases) {
      const result = await converter.toImagePdf(bytes, 'pdf', limits());
      expect(result.ok, name).toBe(false);
      expect(['undecodable', 'converter-failed'], name).toContain(result.ok ? 'ok' : result.reason);
    }
    // A JPEG header in front of a PDF: mupdf finds the PDF; what comes out is pixels only.
    const fromPolyglot = expectOk(await converter.toImagePdf(polyglot, 'pdf', limits({ textLayer: false })));
    expect(pageSizes(fromPolyglot)).toEqual(pageSizes(good));
    expect(fontRows(fromPolyglot)).toEqual([]);

    expect(pageSizes(expectOk(await converter.toImagePdf(good, 'pdf', limits())))).toHaveLength(3);
  });
});

describe('Office formats', () => {
  it('fail closed without an Office converter', async () => {
    const result = await converter.toImagePdf(Buffer.from('PK\x03\x04'), 'docx', limits());
    expect(result).toMatchObject({ ok: false, reason: 'converter-failed', detail: expect.stringContaining('no Office converter is configured') });
  });

  it('go Office -> PDF -> pixels, and an Office failure keeps its reason', async () => {
    const seen: string[] = [];
    const office = createDocumentConverter({
      pdf: { isolation, warm: 0 },
      office: async (bytes, format) => {
        seen.push(format);
        if (bytes.length === 0) return { ok: false, reason: 'encrypted', detail: 'the document is protected by a password' };
        return { ok: true, pdf: await activePdf() };
      },
    });
    try {
      const output = expectOk(await office.toImagePdf(Buffer.from('docx bytes'), 'docx', limits()));
      expect(pageSizes(output)).toHaveLength(4);
      expect(objectsAsText(output)).not.toContain('/JavaScript');
      expect(await office.toImagePdf(new Uint8Array(0), 'xlsx', limits())).toMatchObject({ ok: false, reason: 'encrypted', detail: 'xlsx -> PDF: the document is protected by a password' });
      expect(seen).toEqual(['docx', 'xlsx']);
    } finally {
      await office.close();
    }
  });
});
