// A scanned-like PDF for the OCR tests: Japanese and English sentences drawn
// with pdf-lib and IPAex Gothic, rendered to a PNG by poppler's pdftoppm, and
// that PNG put alone on a page of a new PDF: the page shows the sentences but
// has no text of its own, as a scanner's output without OCR.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fontkit from '@pdf-lib/fontkit';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { A4 } from './pdf-samples.js';
import { JAPANESE_FONT } from './pdf-text-samples.js';

/** What the scanned page shows, each sentence on a line of its own. */
export const SCANNED_JA = ['住民税の納税通知書について', '納付期限は六月三十日です。'];
export const SCANNED_EN = ['Invoice number 4821 is due on Monday.'];

/** `pages` A4 pages whose only content is a picture of the sentences (rendered at `dpi`). */
export async function scannedPdf(pages = 1, dpi = 150): Promise<Uint8Array> {
  if (!JAPANESE_FONT) throw new Error('no IPAex font: apt-get install fonts-ipaexfont');
  const typed = await PDFDocument.create();
  typed.registerFontkit(fontkit);
  const jp = await typed.embedFont(readFileSync(JAPANESE_FONT), { subset: true });
  const helvetica = await typed.embedFont(StandardFonts.Helvetica);
  const page = typed.addPage(A4);
  SCANNED_JA.forEach((line, i) => page.drawText(line, { x: 60, y: A4[1] - 100 - i * 50, size: 22, font: jp }));
  SCANNED_EN.forEach((line, i) => page.drawText(line, { x: 60, y: A4[1] - 220 - i * 50, size: 18, font: helvetica }));

  const work = mkdtempSync(path.join(tmpdir(), 'mugaika-scan-'));
  try {
    writeFileSync(path.join(work, 'typed.pdf'), await typed.save());
    execFileSync('pdftoppm', ['-r', String(dpi), '-png', '-singlefile', path.join(work, 'typed.pdf'), path.join(work, 'scan')]);
    const scanned = await PDFDocument.create();
    const image = await scanned.embedPng(readFileSync(path.join(work, 'scan.png')));
    for (let i = 0; i < pages; i++) scanned.addPage(A4).drawImage(image, { x: 0, y: 0, width: A4[0], height: A4[1] });
    return await scanned.save();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
