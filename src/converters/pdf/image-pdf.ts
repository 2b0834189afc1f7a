// A new PDF from pixels alone: each page one JPEG (sharp) drawn over the whole
// page at the original size in points (pdf-lib). Nothing else goes in: no
// text, fonts, annotations, actions, outline or Info metadata. Pages are
// encoded as they arrive, at most ENCODING at a time (sharp works on libuv's
// threads, beside the rasterizer), so only a few pages' pixels are held.
import { PDFDict, PDFDocument, PDFName } from 'pdf-lib';
import sharp from 'sharp';
import type { CheckedPage } from './untrusted-pages.js';

const ENCODING = 2;

interface Encoded {
  jpeg: Buffer;
  widthPt: number;
  heightPt: number;
}

function encode(page: CheckedPage, quality: number): Promise<Encoded> {
  const done = sharp(page.rgb, { raw: { width: page.width, height: page.height, channels: 3 } })
    // Huffman optimisation costs ~20% more time for ~5% smaller pages.
    .jpeg({ quality, optimiseCoding: false })
    .toBuffer()
    .then((jpeg) => ({ jpeg, widthPt: page.widthPt, heightPt: page.heightPt }));
  // Awaited later, in page order; until then a failure must not count as unhandled.
  done.catch(() => {});
  return done;
}

async function addPage(doc: PDFDocument, encoded: Encoded): Promise<void> {
  const image = await doc.embedJpg(encoded.jpeg);
  const page = doc.addPage([encoded.widthPt, encoded.heightPt]);
  page.drawImage(image, { x: 0, y: 0, width: encoded.widthPt, height: encoded.heightPt });
  // pdf-lib starts every page with empty Annots, Font and ExtGState entries: drop them.
  page.node.delete(PDFName.of('Annots'));
  const resources = page.node.Resources();
  if (resources instanceof PDFDict) for (const key of ['Font', 'ExtGState']) resources.delete(PDFName.of(key));
}

export async function buildImagePdf(pages: AsyncIterable<CheckedPage>, jpegQuality: number): Promise<{ pdf: Uint8Array; pages: number }> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const queue: Array<Promise<Encoded>> = [];
  let count = 0;
  const next = async (): Promise<void> => {
    const encoded = queue.shift();
    if (encoded) await addPage(doc, await encoded);
    count++;
  };
  for await (const page of pages) {
    queue.push(encode(page, jpegQuality));
    if (queue.length >= ENCODING) await next();
  }
  while (queue.length > 0) await next();
  return { pdf: await doc.save(), pages: count };
}
