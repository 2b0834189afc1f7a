// The LibreOffice converter on real documents with real LibreOffice: the ten
// Office formats made by LibreOffice itself (test/fixtures/office/make-inputs.py,
// one LibreOffice run), a password-protected odt, a document whose macro
// runs on open, one that links an image from a local web server, garbage.
// Japanese text must come out in an embedded CJK font, and its rendering must
// match the committed reference image.
//
// Regenerate the reference image (after checking the PDF by eye):
//   UPDATE_OFFICE_REFERENCE=1 npx vitest run test/converters/office.test.ts
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/run.js';
import { bwrapHere } from '../helpers/isolation.js';
import { decideIsolation } from '../../src/converters/isolation.js';
import { createOfficeConverter } from '../../src/converters/office/office-converter.js';
import { OFFICE_FORMATS, type OfficeConverter, type OfficeFormat, type OfficeResult } from '../../src/converters/office/types.js';

const run = promisify(execFile);
const JAPANESE = '令和6年度 住民税のお知らせ ①㈱髙橋';
const REFERENCE = path.resolve('test/fixtures/office/sample-docx.page1.png');
const REFERENCE_DPI = 60;
const minute = () => Date.now() + 60_000;

let dir: string;
let server: Server;
let requests = 0;
let marker: string;
let sandboxed: OfficeConverter;
let unsandboxed: OfficeConverter;
let armed: { macroArmed: boolean; linkFetched: boolean };
const results = new Map<OfficeFormat, OfficeResult>();

const input = (name: string): Buffer => readFileSync(path.join(dir, name));

/** Processes (anywhere on this machine) started by one converter. */
function processesOf(tag: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(tag)) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

async function pdfText(pdf: Uint8Array): Promise<string> {
  const file = path.join(dir, `text-${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(file, pdf);
  return (await run('pdftotext', [file, '-'])).stdout;
}

beforeAll(async () => {
  dir = tempDir('mugaika-office-');
  marker = path.join(dir, 'macro-ran.txt');
  server = createServer((_req, res) => {
    requests++;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // Start the pools first: they warm up while the inputs are made.
  const isolation = await bwrapHere();
  sandboxed = createOfficeConverter({ isolation, warmSlots: 2 });
  unsandboxed = createOfficeConverter({ isolation: await decideIsolation({ allowUnsandboxed: true, bwrap: '/nonexistent/bwrap' }), warmSlots: 1 });
  const made = await run('/usr/bin/python3', ['test/fixtures/office/make-inputs.py', dir, path.join(dir, 'fixture-profile'), String(port), marker]);
  armed = { ...(JSON.parse(made.stdout) as { macroArmed: boolean }), linkFetched: requests > 0 };
  requests = 0;
}, 120_000);

afterAll(async () => {
  await Promise.all([sandboxed?.close(), unsandboxed?.close()]);
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the LibreOffice sandbox', () => {
  it('is bubblewrap here; without it the converter fails closed unless running unsandboxed is allowed', async () => {
    expect(sandboxed.isolation).toBe('bwrap');
    expect(unsandboxed.isolation).toBe('none');
    const strict = createOfficeConverter({ isolation: await decideIsolation({ allowUnsandboxed: false, bwrap: '/nonexistent/bwrap' }) });
    expect(strict.isolation).toBe('unavailable');
    const r = await strict.convert(input('sample.docx'), 'docx', minute());
    expect(r).toMatchObject({ ok: false, reason: 'no-sandbox' });
    expect(r.ok ? '' : r.detail).toMatch(/bubblewrap/);
    await strict.close();
  });

  it('converts each of the ten formats to a PDF that keeps the Japanese text', async () => {
    const queue = [...OFFICE_FORMATS];
    const worker = async (): Promise<void> => {
      for (let f = queue.shift(); f; f = queue.shift()) results.set(f, await sandboxed.convert(input(`sample.${f}`), f, minute()));
    };
    await Promise.all([worker(), worker()]);
    for (const f of OFFICE_FORMATS) {
      const r = results.get(f);
      expect(r, f).toMatchObject({ ok: true });
      if (!r?.ok) continue;
      expect(Buffer.from(r.pdf.subarray(0, 5)).toString('latin1'), f).toBe('%PDF-');
      expect((await pdfText(r.pdf)).replace(/\s+/g, ''), f).toContain('住民税のお知らせ①㈱髙橋');
    }
  }, 180_000);

  it('renders Japanese in an embedded CJK font, like the reference image (no tofu)', async () => {
    const r = results.get('docx');
    if (!r?.ok) throw new Error('the docx conversion failed: see the previous test');
    const pdf = path.join(dir, 'japanese.pdf');
    writeFileSync(pdf, r.pdf);
    const fonts = (await run('pdffonts', [pdf])).stdout;
    expect(fonts).toMatch(/^\S*(NotoSansCJK|NotoSerifCJK|IPAex)\S*\s.*\syes\s/m);
    expect((await run('pdftotext', [pdf, '-'])).stdout.replace(/\s+/g, '')).toContain(JAPANESE.replace(/\s+/g, ''));

    await run('pdftoppm', ['-r', String(REFERENCE_DPI), '-gray', '-png', '-singlefile', pdf, path.join(dir, 'page')]);
    const page = path.join(dir, 'page.png');
    if (process.env.UPDATE_OFFICE_REFERENCE) writeFileSync(REFERENCE, readFileSync(page));
    const [got, want] = await Promise.all([page, REFERENCE].map((f) => sharp(f).greyscale().raw().toBuffer({ resolveWithObject: true })));
    expect([got!.info.width, got!.info.height]).toEqual([want!.info.width, want!.info.height]);
    // Compare where the reference has ink (the text line, plus a margin): a
    // box in place of a glyph, or a glyph from a different font, changes many
    // of those pixels.
    const width = want!.info.width;
    let [top, left, bottom, right] = [Infinity, Infinity, -1, -1];
    want!.data.forEach((v, i) => {
      if (v >= 160) return;
      const [x, y] = [i % width, Math.floor(i / width)];
      [top, left, bottom, right] = [Math.min(top, y), Math.min(left, x), Math.max(bottom, y), Math.max(right, x)];
    });
    expect((right - left) * (bottom - top)).toBeGreaterThan(500); // the reference shows a line of text
    let differing = 0;
    let total = 0;
    for (let y = Math.max(0, top - 4); y <= bottom + 4; y++) {
      for (let x = Math.max(0, left - 4); x <= Math.min(width - 1, right + 4); x++) {
        total++;
        if (Math.abs(got!.data[y * width + x]! - want!.data[y * width + x]!) > 64) differing++;
      }
    }
    expect(differing / total).toBeLessThan(0.02);
  });

  it('answers encrypted for a password-protected document', async () => {
    expect(await sandboxed.convert(input('encrypted.odt'), 'odt', minute())).toMatchObject({ ok: false, reason: 'encrypted' });
  });

  it('answers undecodable for garbage, and the next document converts', async () => {
    const garbage = Buffer.from('PK\x03\x04 this is not a real document '.repeat(50), 'latin1');
    expect(await sandboxed.convert(garbage, 'docx', minute())).toMatchObject({ ok: false, reason: 'undecodable' });
    expect(await sandboxed.convert(Buffer.from('{\\rtf1 broken'), 'xls', minute())).toMatchObject({ ok: false, reason: 'undecodable' });
    expect(await sandboxed.convert(input('sample.rtf'), 'rtf', minute())).toMatchObject({ ok: true });
  });

  it('kills the sandbox on the deadline, and the next document converts', async () => {
    expect(await sandboxed.convert(input('sample.pptx'), 'pptx', Date.now() + 50)).toMatchObject({ ok: false, reason: 'timeout' });
    expect(await sandboxed.convert(input('sample.odt'), 'odt', Date.now() - 1)).toMatchObject({ ok: false, reason: 'timeout' });
    expect(await sandboxed.convert(input('sample.odt'), 'odt', minute())).toMatchObject({ ok: true });
  });

  it('fails as converter-failed when LibreOffice cannot live within its memory cap', async () => {
    const tight = createOfficeConverter({ isolation: await bwrapHere(), memoryCapMb: 48 });
    try {
      const r = await tight.convert(input('sample.docx'), 'docx', minute());
      expect(r).toMatchObject({ ok: false, reason: 'converter-failed' });
    } finally {
      await tight.close();
    }
    expect(processesOf(tight.tag)).toBe(0);
  });
});

describe('hostile documents (also checked without the sandbox, so that LibreOffice settings alone hold)', () => {
  it('the fixtures are armed: with careless settings the macro runs and the image is fetched', () => {
    expect(armed).toEqual({ macroArmed: true, linkFetched: true });
  });

  it.each([['sandboxed'], ['unsandboxed']] as const)('never runs a macro bound to document open (%s)', async (which) => {
    const converter = which === 'sandboxed' ? sandboxed : unsandboxed;
    const r = await converter.convert(input('macro.odt'), 'odt', minute());
    expect(r).toMatchObject({ ok: true });
    expect(existsSync(marker)).toBe(false);
  });

  it.each([['sandboxed'], ['unsandboxed']] as const)('never fetches a linked image (%s)', async (which) => {
    const converter = which === 'sandboxed' ? sandboxed : unsandboxed;
    const r = await converter.convert(input('linked-image.odt'), 'odt', minute());
    expect(r).toMatchObject({ ok: true });
    expect(requests).toBe(0);
  });
});

describe('shutdown', () => {
  it('close() leaves no LibreOffice process behind', async () => {
    expect(processesOf(sandboxed.tag)).toBeGreaterThan(0); // the warm slots
    await Promise.all([sandboxed.close(), unsandboxed.close()]);
    expect(processesOf(sandboxed.tag)).toBe(0);
    expect(processesOf(unsandboxed.tag)).toBe(0);
    const r = await sandboxed.convert(input('sample.docx'), 'docx', minute());
    expect(r).toMatchObject({ ok: false, reason: 'converter-failed' });
  });
});
