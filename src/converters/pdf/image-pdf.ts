// A new PDF from pixels alone: each page one JPEG (sharp) drawn over the whole
// page at the original size in points (pdf-lib), and, when asked, the page's
// visible text drawn invisibly over it (text-layer.ts). Nothing else goes in:
// no visible text, annotations, actions, outline or Info metadata. Pages are
// encoded as they arrive, at most ENCODING at a time (sharp works on libuv's
// threads, beside the rasterizer), so only a few pages' pixels are held.
import { concatTransformationMatrix, copyStringIntoBuffer, drawObject, PDFDict, PDFDocument, PDFName, PDFStream, popGraphicsState, pushGraphicsState } from 'pdf-lib';
import sharp from 'sharp';
import type { TextRun } from './protocol.js';
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
}

/**
 * A pdf-lib stream of bytes already encoded (here a JPEG, /DCTDecode) whose
 * contents are copied into the output in one go: pdf-lib's PDFRawStream
 * copies them byte by byte, which made saving a 200-page document take most
 * of a second. Same bytes, same layout.
 */
class BulkStream extends PDFStream {
  constructor(
    dict: PDFDict,
    private readonly contents: Uint8Array,
  ) {
    super(dict);
  }

  override clone(): BulkStream {
    return new BulkStream(this.dict.clone(), this.contents.slice());
  }

  override getContents(): Uint8Array {
    return this.contents;
  }

  override getContentsSize(): number {
    return this.contents.length;
  }

  override getContentsString(): string {
    return Buffer.from(this.contents).toString('latin1');
  }

  override copyBytesInto(buffer: Uint8Array, offset: number): number {
    this.updateDict();
    const start = offset;
    offset += this.dict.copyBytesInto(buffer, offset);
    offset += copyStringIntoBuffer('\nstream\n', buffer, offset);
    buffer.set(this.contents, offset);
    offset += this.contents.length;
    offset += copyStringIntoBuffer('\nendstream', buffer, offset);
    return offset - start;
  }
}

function encode(page: CheckedPage, quality: number): Promise<Encoded> {
  const done = sharp(page.rgb, { raw: { width: page.width, height: page.height, channels: 3 } })
    // Huffman optimisation costs ~20% more time for ~5% smaller pages.
    .jpeg({ quality, optimiseCoding: false })
    .toBuffer()
    .then((jpeg) => ({ jpeg, width: page.width, height: page.height, widthPt: page.widthPt, heightPt: page.heightPt, text: page.text, textTruncated: page.textTruncated }))
    .finally(() => page.release());
  // Awaited later, in page order; until then a failure must not count as unhandled.
  done.catch(() => {});
  return done;
}

function addPage(doc: PDFDocument, encoded: Encoded, layer: LayerFont | null): boolean {
  const { context } = doc;
  const image = context.register(
    new BulkStream(context.obj({ Type: 'XObject', Subtype: 'Image', Width: encoded.width, Height: encoded.height, ColorSpace: 'DeviceRGB', BitsPerComponent: 8, Filter: 'DCTDecode' }), encoded.jpeg),
  );
  const page = doc.addPage([encoded.widthPt, encoded.heightPt]);
  const name = page.node.newXObject('Image', image);
  page.pushOperators(pushGraphicsState(), concatTransformationMatrix(encoded.widthPt, 0, 0, encoded.heightPt, 0, 0), drawObject(name), popGraphicsState());
  const withText = layer !== null && drawTextLayer(page, layer, encoded.text) > 0;
  // pdf-lib starts every page with empty Annots, Font and ExtGState entries: drop them.
  page.node.delete(PDFName.of('Annots'));
  const resources = page.node.Resources();
  if (resources instanceof PDFDict) for (const key of withText ? ['ExtGState'] : ['Font', 'ExtGState']) resources.delete(PDFName.of(key));
  return withText;
}

export interface ImagePdf {
  pdf: Uint8Array;
  pages: number;
  /** Some page got an invisible text layer. */
  textLayer: boolean;
  /** Pages whose text the rasterizer cut short. */
  textTruncatedPages: number;
}

/**
 * The image-only PDF of `pages`, with their text drawn invisibly in
 * `textFont` (TrueType or OpenType bytes) unless it is null. Stops with
 * `output-too-large` once the pages' JPEGs and text alone pass `maxBytes`: the
 * PDF would not fit in the message.
 */
export async function buildImagePdf(pages: AsyncIterable<CheckedPage>, jpegQuality: number, maxBytes: number, textFont: Uint8Array | null = null): Promise<ImagePdf> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const queue: Array<Promise<Encoded>> = [];
  let count = 0;
  let bytes = 0;
  let layer: LayerFont | null = null;
  let textLayer = false;
  let textTruncatedPages = 0;
  const next = async (): Promise<void> => {
    const encoded = queue.shift();
    if (encoded) {
      const page = await encoded;
      // Each character costs a few bytes of content stream (a glyph id, a share of its run's operators).
      bytes += page.jpeg.length + page.text.reduce((n, r) => n + 40 + 4 * r.text.length, 0);
      if (bytes > maxBytes) throw new ConversionError('output-too-large', `${count + 1} pages take more than the ${maxBytes} bytes the message may still carry`);
      if (textFont && !layer && page.text.length > 0) layer = await embedLayerFont(doc, textFont);
      if (addPage(doc, page, layer)) textLayer = true;
      if (page.textTruncated) textTruncatedPages++;
    }
    count++;
  };
  for await (const page of pages) {
    queue.push(encode(page, jpegQuality));
    if (queue.length >= ENCODING) await next();
  }
  while (queue.length > 0) await next();
  // Object streams would deflate every small object with pako for a few bytes saved.
  return { pdf: await doc.save({ useObjectStreams: false }), pages: count, textLayer, textTruncatedPages };
}
