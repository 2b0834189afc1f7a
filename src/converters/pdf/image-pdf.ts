// A new PDF from pixels alone: each page one JPEG (sharp) drawn over the whole
// page at the original size in points (pdf-lib), and, when asked, the page's
// visible text drawn invisibly over it (text-layer.ts). Nothing else goes in:
// no visible text, annotations, actions, outline or Info metadata. Pages are
// encoded as they arrive, at most ENCODING at a time (sharp works on libuv's
// threads, beside the rasterizer), so only a few pages' pixels are held.
// Pages without text of their own can be read by OCR (PageOcr): one at a
// time, from a greyscale PNG of our own pixels, their text drawn once all
// reads have ended, which the OCR's deadline bounds.
import { PDFDict, PDFDocument, PDFName, type PDFPage } from 'pdf-lib';
import sharp from 'sharp';
import type { OcrPage } from '../ocr/types.js';
import type { PageScale } from '../ocr/ocr-runs.js';
import type { TextRun } from './protocol.js';
import { appendContent, BulkStream, pdfNumber } from './raw-content.js';
import { drawTextLayer, embedLayerFont, type LayerFont } from './text-layer.js';
import { ConversionError, type CheckedPage } from './untrusted-pages.js';

const ENCODING = 3;

interface Encoded {
  jpeg: Buffer;
  width: number;
  height: number;
  widthPt: number;
  heightPt: number;
  text: TextRun[];
  textTruncated: boolean;
  /** The page in greyscale, for OCR: only for a page without text that OCR will read. */
  png?: Buffer;
}

/** OCR of pages without text. */
export interface PageOcr {
  /** Pages of one document read at most; the others stay without text. */
  maxPages: number;
  /** The runs read on a page image ([] when none), or null when it could not be read in time. Never rejects. */
  read(page: OcrPage & PageScale): Promise<TextRun[] | null>;
}

function encode(page: CheckedPage, quality: number, forOcr: boolean): Promise<Encoded> {
  const raw = { raw: { width: page.width, height: page.height, channels: 3 } } as const;
  // Huffman optimisation costs ~20% more time for ~5% smaller pages.
  const jpeg = sharp(page.rgb, raw).jpeg({ quality, optimiseCoding: false }).toBuffer();
  const png = forOcr ? sharp(page.rgb, raw).greyscale().png({ compressionLevel: 1 }).toBuffer() : Promise.resolve(undefined);
  const done = Promise.all([jpeg, png])
    .then(([jpegBytes, pngBytes]) => ({
      jpeg: jpegBytes,
      width: page.width,
      height: page.height,
      widthPt: page.widthPt,
      heightPt: page.heightPt,
      text: page.text,
      textTruncated: page.textTruncated,
      ...(pngBytes ? { png: pngBytes } : {}),
    }))
    .finally(() => page.release());
  // Awaited later, in page order; until then a failure must not count as unhandled.
  done.catch(() => {});
  return done;
}

function addPage(doc: PDFDocument, encoded: Encoded, layer: LayerFont | null): { page: PDFPage; withText: boolean } {
  const { context } = doc;
  const image = context.register(
    new BulkStream(context.obj({ Type: 'XObject', Subtype: 'Image', Width: encoded.width, Height: encoded.height, ColorSpace: 'DeviceRGB', BitsPerComponent: 8, Filter: 'DCTDecode' }), encoded.jpeg),
  );
  const page = doc.addPage([encoded.widthPt, encoded.heightPt]);
  const name = page.node.newXObject('Image', image);
  appendContent(page, `q\n${pdfNumber(encoded.widthPt)} 0 0 ${pdfNumber(encoded.heightPt)} 0 0 cm\n${name.toString()} Do\nQ\n`);
  return { page, withText: layer !== null && drawTextLayer(page, layer, encoded.text) > 0 };
}

/** pdf-lib starts every page with empty Annots, Font and ExtGState entries: drop them, once nothing more is drawn. */
function tidy(page: PDFPage, withText: boolean): void {
  page.node.delete(PDFName.of('Annots'));
  const resources = page.node.Resources();
  if (resources instanceof PDFDict) for (const key of withText ? ['ExtGState'] : ['Font', 'ExtGState']) resources.delete(PDFName.of(key));
}

/** What each run costs the output: a few bytes of content stream a character (a glyph id, a share of its run's operators). */
const textBytes = (runs: readonly TextRun[]): number => runs.reduce((n, r) => n + 40 + 4 * r.text.length, 0);

export interface ImagePdf {
  pdf: Uint8Array;
  pages: number;
  /** Some page got an invisible text layer. */
  textLayer: boolean;
  /** Pages whose text the rasterizer cut short. */
  textTruncatedPages: number;
  /** Pages without text of their own that got text from OCR. */
  ocrPages: number;
  /** Pages without text of their own that OCR did not read: past PageOcr.maxPages, out of time, failed. */
  ocrUnreadPages: number;
}

/**
 * The image-only PDF of `pages`, with their text drawn invisibly in
 * `textFont` (TrueType or OpenType bytes) unless it is null, and pages without
 * text read by `ocr` when given (it needs `textFont`). Stops with
 * `output-too-large` once the pages' JPEGs and text alone pass `maxBytes`: the
 * PDF would not fit in the message.
 */
export async function buildImagePdf(pages: AsyncIterable<CheckedPage>, jpegQuality: number, maxBytes: number, textFont: Uint8Array | null = null, ocr: PageOcr | null = null): Promise<ImagePdf> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const queue: Array<Promise<Encoded>> = [];
  const added: Array<{ page: PDFPage; withText: boolean }> = [];
  const reading: Array<{ at: number; runs: Promise<TextRun[] | null> }> = [];
  // One OCR at a time: the rasterizer and the JPEGs have the other cores.
  let ocrTurn: Promise<unknown> = Promise.resolve();
  let count = 0;
  let bytes = 0;
  let layer: LayerFont | null = null;
  let textLayer = false;
  let textTruncatedPages = 0;
  let ocrAsked = 0;
  let ocrUnreadPages = 0;
  let ocrPages = 0;
  const wantsOcr = (page: CheckedPage): boolean => {
    if (!ocr || !textFont || page.text.length > 0 || page.textTruncated) return false;
    if (ocrAsked >= ocr.maxPages) {
      ocrUnreadPages++;
      return false;
    }
    ocrAsked++;
    return true;
  };
  const next = async (): Promise<void> => {
    const encoded = queue.shift();
    if (encoded) {
      const page = await encoded;
      bytes += page.jpeg.length + textBytes(page.text);
      if (bytes > maxBytes) throw new ConversionError('output-too-large', `${count + 1} pages take more than the ${maxBytes} bytes the message may still carry`);
      if (textFont && !layer && page.text.length > 0) layer = await embedLayerFont(doc, textFont);
      const done = addPage(doc, page, layer);
      added.push(done);
      if (done.withText) textLayer = true;
      if (page.textTruncated) textTruncatedPages++;
      const { png } = page;
      if (ocr && png) {
        const runs = ocrTurn.then(() => ocr.read({ png, width: page.width, height: page.height, widthPt: page.widthPt, heightPt: page.heightPt }));
        ocrTurn = runs.catch(() => {});
        reading.push({ at: added.length - 1, runs });
      }
    }
    count++;
  };
  for await (const page of pages) {
    queue.push(encode(page, jpegQuality, wantsOcr(page)));
    if (queue.length >= ENCODING) await next();
  }
  while (queue.length > 0) await next();
  for (const { at, runs: pending } of reading) {
    const runs = await pending.catch(() => null);
    if (runs === null) ocrUnreadPages++;
    // Text that would not fit in what the message may carry is left out: the page stays an image.
    if (!runs || runs.length === 0 || bytes + textBytes(runs) > maxBytes) continue;
    bytes += textBytes(runs);
    layer ??= await embedLayerFont(doc, textFont!);
    const target = added[at]!;
    if (drawTextLayer(target.page, layer, runs) > 0) {
      target.withText = textLayer = true;
      ocrPages++;
    }
  }
  for (const { page, withText } of added) tidy(page, withText);
  // Object streams would deflate every small object with pako for a few bytes saved.
  return { pdf: await doc.save({ useObjectStreams: false }), pages: count, textLayer, textTruncatedPages, ocrPages, ocrUnreadPages };
}
