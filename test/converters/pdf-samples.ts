// PDFs made for the PDF-path tests, from pdf-lib and mupdf (both trusted here:
// they only build inputs and inspect outputs in the test process).
import { existsSync, readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import * as mupdf from 'mupdf';
import { PDFDocument, PDFName, PDFString, rgb, StandardFonts } from 'pdf-lib';
import type { DocumentLimits } from '../../src/core/ports.js';

export const A4: [number, number] = [595.28, 841.89];
export const A4_LANDSCAPE: [number, number] = [841.89, 595.28];
export const LETTER: [number, number] = [612, 792];

export const limits = (over: Partial<DocumentLimits> = {}): DocumentLimits => ({
  maxPages: 200,
  dpi: 150,
  maxPixelsPerPage: 40_000_000,
  jpegQuality: 85,
  maxOutputBytes: 50 * 1024 * 1024,
  deadline: Date.now() + 30_000,
  textLayer: true,
  ...over,
});

const JAPANESE_FONT = ['/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf', '/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf'].find((f) => existsSync(f));

/** One A4 page of Japanese text in an embedded IPAex font (mupdf writes the font and its ToUnicode). */
export function japanesePdf(): Uint8Array {
  if (!JAPANESE_FONT) throw new Error('no IPAex font: apt-get install fonts-ipaexfont');
  const out = new mupdf.Buffer();
  const writer = new mupdf.DocumentWriter(out, 'pdf', '');
  const device = writer.beginPage([0, 0, A4[0], A4[1]]);
  const font = new mupdf.Font('IPAexGothic', readFileSync(JAPANESE_FONT));
  const lines = ['無害化通信テスト', '市役所 総務課 御中', '令和七年度 予算書'];
  lines.forEach((line, i) => {
    const text = new mupdf.Text();
    text.showString(font, [36, 0, 0, -36, 60, 120 + i * 60], line);
    device.fillText(text, mupdf.Matrix.identity, mupdf.ColorSpace.DeviceRGB, [0, 0, 0], 1);
  });
  device.close();
  writer.endPage();
  writer.close();
  return out.asUint8Array().slice();
}

/** Pages of Helvetica text, like a plain office document. */
export async function textPdf(pages: number, size: [number, number] = A4): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < pages; p++) {
    const page = doc.addPage(size);
    page.drawText(`Page ${p + 1}`, { x: 50, y: size[1] - 80, size: 28, font });
    for (let line = 0; line < 40; line++) {
      page.drawText(`Line ${line + 1}: The quick brown fox jumps over the lazy dog ${p * 40 + line}.`, { x: 50, y: size[1] - 120 - line * 16, size: 11, font });
    }
  }
  return doc.save();
}

/**
 * Three pages (A4, A4 landscape, Letter) plus the Japanese page, carrying
 * everything that must not survive: document JavaScript, an OpenAction, page
 * and field additional actions, URI and Launch links, a form field (AcroForm),
 * an attached file, a standard and an embedded font with text, and Info metadata.
 */
export async function activePdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setProducer('EvilProducer');
  doc.setCreator('EvilCreator');
  doc.setTitle('Secret title');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const ctx = doc.context;
  const js = (code: string) => ctx.register(ctx.obj({ Type: 'Action', S: 'JavaScript', JS: PDFString.of(code) }));

  for (const [i, size] of [A4, A4_LANDSCAPE, LETTER].entries()) {
    const page = doc.addPage(size);
    page.drawRectangle({ x: 40, y: 40, width: size[0] / 2, height: 120, color: rgb(0.1, 0.2, 0.7) });
    page.drawText(`Visible text on page ${i + 1}`, { x: 50, y: size[1] - 100, size: 30, font });
    const uri = ctx.register(ctx.obj({ Type: 'Annot', Subtype: 'Link', Rect: [50, 200, 300, 230], Border: [0, 0, 0], A: { S: 'URI', URI: PDFString.of('https://evil.example/phish') } }));
    const launch = ctx.register(ctx.obj({ Type: 'Annot', Subtype: 'Link', Rect: [50, 240, 300, 270], A: { S: 'Launch', F: PDFString.of('cmd.exe') } }));
    page.node.set(PDFName.of('Annots'), ctx.obj([uri, launch]));
    page.node.set(PDFName.of('AA'), ctx.obj({ O: js('app.alert("page open")') }));
  }
  const field = doc.getForm().createTextField('secret.field');
  field.setText('form value');
  field.addToPage(doc.getPage(0), { x: 50, y: 300, width: 200, height: 30 });
  await doc.attach(Buffer.from('MZ pretend executable'), 'invoice.exe', { mimeType: 'application/octet-stream', description: 'attached' });
  doc.catalog.set(PDFName.of('OpenAction'), js('app.launchURL("https://evil.example/")'));
  doc.catalog.set(PDFName.of('Names'), ctx.obj({ JavaScript: { Names: [PDFString.of('init'), js('this.exportDataObject({cName:"invoice.exe"})')] } }));
  const japanese = await PDFDocument.load(japanesePdf());
  const [copied] = await doc.copyPages(japanese, [0]);
  if (copied) doc.addPage(copied);
  // pdf-lib drops XFA when it touches the form on save: draw the field now, add XFA last.
  doc.getForm().updateFieldAppearances(font);
  doc.getForm().acroForm.dict.set(PDFName.of('XFA'), ctx.obj([PDFString.of('template'), ctx.register(ctx.stream('<xdp:xdp><script>app.alert(1)</script></xdp:xdp>'))]));
  return doc.save({ updateFieldAppearances: false });
}

/** `pdf` encrypted with AES-256 by mupdf; an empty user password opens without one. */
export function encryptedPdf(pdf: Uint8Array, userPassword: string): Uint8Array {
  const doc = new mupdf.PDFDocument(pdf);
  const opts = `encrypt=aes-256,user-password=${userPassword},owner-password=owner-secret`;
  return doc.saveToBuffer(opts).asUint8Array().slice();
}

/** One A4 page with a `side` x `side` RGB image of zeros: small on disk, side*side*3 bytes decoded. */
export async function imageBombPdf(side: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const ctx = doc.context;
  const raw = Buffer.alloc(side * side * 3, 0x80);
  const image = ctx.register(
    ctx.stream(deflateSync(raw, { level: 9 }), { Type: 'XObject', Subtype: 'Image', Width: side, Height: side, ColorSpace: 'DeviceRGB', BitsPerComponent: 8, Filter: 'FlateDecode' }),
  );
  const page = doc.addPage(A4);
  page.node.setXObject(PDFName.of('Bomb'), image);
  const content = ctx.register(ctx.flateStream(`q ${A4[0]} 0 0 ${A4[1]} 0 0 cm /Bomb Do Q`));
  page.node.set(PDFName.of('Contents'), content);
  return doc.save();
}

/** One A4 page whose content is `strokes` long strokes: slow to render, tiny compressed. */
export async function slowPdf(strokes: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const page = doc.addPage(A4);
  const ops: string[] = ['1 w'];
  for (let i = 0; i < strokes; i++) ops.push(`${i % 590} 0 m ${(i * 7) % 590} 840 l ${(i * 13) % 590} 3 l s`);
  page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.flateStream(ops.join('\n'))));
  return doc.save();
}

/** mupdf's view of a page's size in points (after rotation), as a viewer shows it. */
export function pageSizes(pdf: Uint8Array): Array<[number, number]> {
  const doc = new mupdf.PDFDocument(pdf);
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < doc.countPages(); i++) {
    const [x0, y0, x1, y1] = doc.loadPage(i).getBounds();
    sizes.push([x1 - x0, y1 - y0]);
  }
  return sizes;
}

/** A page rendered small and grey, for comparing how input and output look. */
export function thumbnail(pdf: Uint8Array, index: number, dpi = 24): { width: number; height: number; grey: Uint8Array } {
  const page = new mupdf.PDFDocument(pdf).loadPage(index);
  const pixmap = page.toPixmap(mupdf.Matrix.scale(dpi / 72, dpi / 72), mupdf.ColorSpace.DeviceGray, false, true);
  const width = pixmap.getWidth();
  const height = pixmap.getHeight();
  const stride = pixmap.getStride();
  const all = pixmap.getPixels();
  const grey = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) grey.set(all.subarray(y * stride, y * stride + width), y * width);
  return { width, height, grey };
}

/** Mean absolute difference of two same-sized thumbnails, 0..255. */
export function meanDifference(a: ReturnType<typeof thumbnail>, b: ReturnType<typeof thumbnail>): number {
  if (a.width !== b.width || a.height !== b.height) return 255;
  let sum = 0;
  for (let i = 0; i < a.grey.length; i++) sum += Math.abs((a.grey[i] ?? 0) - (b.grey[i] ?? 0));
  return sum / a.grey.length;
}

/**
 * Every object of a PDF as text, streams decompressed (JPEG data left out):
 * what an active-content scanner would see.
 */
export function objectsAsText(pdf: Uint8Array): string {
  const doc = new mupdf.PDFDocument(pdf);
  const parts: string[] = [doc.getTrailer().toString()];
  for (let num = 1; num < doc.countObjects(); num++) {
    const ref = doc.newIndirect(num);
    const obj = ref.resolve();
    parts.push(obj.toString());
    if (ref.isStream() && obj.get('Filter').toString() !== '/DCTDecode') parts.push(Buffer.from(ref.readStream().asUint8Array()).toString('latin1'));
  }
  return parts.join('\n');
}
