// Each converter under each isolation this machine has (bubblewrap, and none
// as a policy with documents.allowUnsandboxed gets it where bubblewrap cannot
// run), as Dangerzone's provider tests do; and the one decision that picks
// it: bwrap when bubblewrap works, otherwise none (allowed) or unavailable,
// under which nothing is started and every document fails closed.
import { afterAll, describe, expect, it } from 'vitest';
import { decideIsolation, type Isolation } from '../../src/converters/isolation.js';
import { createOfficeConverter } from '../../src/converters/office/office-converter.js';
import { createPdfConverter } from '../../src/converters/pdf/pdf-converter.js';
import { documentConverterFor } from '../../src/converters/wiring.js';
import { isolationsHere } from '../helpers/isolation.js';
import { limits, pageSizes, textPdf } from './pdf-samples.js';

const RTF = Buffer.from('{\\rtf1\\ansi{\\fonttbl\\f0\\fswiss Helvetica;}\\f0\\pard Isolation test: one page of text.\\par}', 'latin1');
const isPdf = (b: Uint8Array): boolean => Buffer.from(b.subarray(0, 5)).toString('latin1') === '%PDF-';
const closing: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.allSettled(closing.map((close) => close()));
});

describe('decideIsolation', () => {
  it('is bubblewrap where bubblewrap can start a sandbox', async () => {
    expect(await decideIsolation({ allowUnsandboxed: false })).toEqual({ mode: 'bwrap', bwrap: 'bwrap' });
    expect(await decideIsolation({ allowUnsandboxed: true })).toEqual({ mode: 'bwrap', bwrap: 'bwrap' });
  });

  it('without a working bubblewrap: none when the policy allows it, else unavailable, saying why', async () => {
    expect(await decideIsolation({ allowUnsandboxed: true, bwrap: '/nonexistent/bwrap' })).toEqual({ mode: 'none' });
    const strict = await decideIsolation({ allowUnsandboxed: false, bwrap: '/nonexistent/bwrap' });
    expect(strict).toMatchObject({ mode: 'unavailable', why: expect.stringMatching(/bubblewrap \(bwrap\) cannot start a sandbox here/) });
  });
});

describe.each(await isolationsHere())('under isolation %s', (name, isolation) => {
  it('the PDF converter renders a PDF into an image-only PDF', async () => {
    const pdf = createPdfConverter({ isolation, warm: 0, tag: `isolation-${name}` });
    closing.push(() => pdf.close());
    const r = await pdf.toImagePdf(await textPdf(2), limits());
    expect(r, r.ok ? '' : r.detail).toMatchObject({ ok: true, pages: 2 });
    if (r.ok) expect(pageSizes(r.pdf)).toHaveLength(2);
  });

  it('the Office converter turns a document into a PDF', async () => {
    const office = createOfficeConverter({ isolation, warmSlots: 1 });
    closing.push(() => office.close());
    expect(office.isolation).toBe(name);
    const r = await office.convert(RTF, 'rtf', Date.now() + 120_000);
    expect(r, r.ok ? '' : r.detail).toMatchObject({ ok: true });
    if (r.ok) expect(isPdf(r.pdf)).toBe(true);
  }, 180_000);

  it('the document converter a worker uses takes an Office document to pixels', async () => {
    const docs = documentConverterFor(isolation, { warmPdf: 0, warmOffice: 1 });
    closing.push(() => docs.close());
    const r = await docs.toImagePdf(RTF, 'rtf', limits({ deadline: Date.now() + 120_000 }));
    expect(r, r.ok ? '' : r.detail).toMatchObject({ ok: true, pages: 1 });
  }, 180_000);
});

describe('under isolation unavailable', () => {
  const isolation: Isolation = { mode: 'unavailable', why: 'bubblewrap (bwrap) cannot start a sandbox here: test' };

  it('every converter fails closed with no-sandbox and says what to do', async () => {
    const pdf = createPdfConverter({ isolation, warm: 2 });
    expect(await pdf.toImagePdf(await textPdf(1), limits())).toMatchObject({ ok: false, reason: 'no-sandbox', detail: expect.stringMatching(/cannot start a sandbox here: test; install bubblewrap/) });
    expect(await pdf.warm()).toBe(false);
    const office = createOfficeConverter({ isolation });
    expect(office.isolation).toBe('unavailable');
    expect(await office.convert(RTF, 'rtf', Date.now() + 60_000)).toMatchObject({ ok: false, reason: 'no-sandbox', detail: expect.stringMatching(/allowUnsandboxed/) });
    const docs = documentConverterFor(isolation);
    expect(await docs.toImagePdf(RTF, 'rtf', limits())).toMatchObject({ ok: false, reason: 'no-sandbox' });
    expect(await docs.toImagePdf(await textPdf(1), 'pdf', limits())).toMatchObject({ ok: false, reason: 'no-sandbox' });
    await Promise.all([pdf.close(), office.close(), docs.close()]);
  });
});
