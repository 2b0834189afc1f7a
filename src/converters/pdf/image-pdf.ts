// A new PDF from pixels alone: each page one JPEG (sharp) drawn over the whole
// page at the original size in points (pdf-lib). Nothing else goes in: no
// text, fonts, annotations, actions, outline or Info metadata. Pages are
// encoded as they arrive, at most ENCODING at a time (sharp works on libuv's
// threads, beside the rasterizer), so only a few pages' pixels are held.
import { concatTransformationMatrix, copyStringIntoBuffer, drawObject, PDFDict, PDFDocument, PDFName, PDFStream, popGraphicsState, pushGraphicsState } from 'pdf-lib';
import sharp from 'sharp';
import { ConversionError, type CheckedPage } from './untrusted-pages.js';

const ENCODING = 3;

interface Encoded {
  jpeg: Buffer;
  width: number;
  height: number;
  widthPt: number;
  heightPt: number;
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
    .then((jpeg) => ({ jpeg, width: page.width, height: page.height, widthPt: page.widthPt, heightPt: page.heightPt }))
    .finally(() => page.release());
  // Awaited later, in page order; until then a failure must not count as unhandled.
  done.catch(() => {});
  return done;
}

function addPage(doc: PDFDocument, encoded: Encoded): void {
  const { context } = doc;
  const image = context.register(
    new BulkStream(context.obj({ Type: 'XObject', Subtype: 'Image', Width: encoded.width, Height: encoded.height, ColorSpace: 'DeviceRGB', BitsPerComponent: 8, Filter: 'DCTDecode' }), encoded.jpeg),
  );
  const page = doc.addPage([encoded.widthPt, encoded.heightPt]);
  const name = page.node.newXObject('Image', image);
  page.pushOperators(pushGraphicsState(), concatTransformationMatrix(encoded.widthPt, 0, 0, encoded.heightPt, 0, 0), drawObject(name), popGraphicsState());
  // pdf-lib starts every page with empty Annots, Font and ExtGState entries: drop them.
  page.node.delete(PDFName.of('Annots'));
  const resources = page.node.Resources();
  if (resources instanceof PDFDict) for (const key of ['Font', 'ExtGState']) resources.delete(PDFName.of(key));
}

/**
 * The image-only PDF of `pages`. Stops with `output-too-large` once the
 * pages' JPEGs alone pass `maxBytes`: the PDF would not fit in the message.
 */
export async function buildImagePdf(pages: AsyncIterable<CheckedPage>, jpegQuality: number, maxBytes: number): Promise<{ pdf: Uint8Array; pages: number }> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const queue: Array<Promise<Encoded>> = [];
  let count = 0;
  let bytes = 0;
  const next = async (): Promise<void> => {
    const encoded = queue.shift();
    if (encoded) {
      const page = await encoded;
      bytes += page.jpeg.length;
      if (bytes > maxBytes) throw new ConversionError('output-too-large', `${count + 1} pages take more than the ${maxBytes} bytes the message may still carry`);
      addPage(doc, page);
    }
    count++;
  };
  for await (const page of pages) {
    queue.push(encode(page, jpegQuality));
    if (queue.length >= ENCODING) await next();
  }
  while (queue.length > 0) await next();
  // Object streams would deflate every small object with pako for a few bytes saved.
  return { pdf: await doc.save({ useObjectStreams: false }), pages: count };
}
