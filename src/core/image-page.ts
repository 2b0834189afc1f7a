// An image delivered as the one page of a new PDF (a sender rule's
// `images: pdf-page`). What goes in is only what our image transcoder wrote
// from decoded pixels (a PNG or JPEG of our own), drawn over the whole page:
// no text, fonts, annotations or metadata.
import { PDFDocument } from 'pdf-lib';

/** The largest page side PDF readers accept (Acrobat's limit, 200 inches). */
const MAX_SIDE_PT = 14_400;
/** Pixels are laid out at 96 per inch, as a browser shows them. */
const PT_PER_PX = 72 / 96;

export async function imagePagePdf(image: { format: 'png' | 'jpeg'; bytes: Uint8Array; width: number; height: number }): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const embedded = image.format === 'jpeg' ? await doc.embedJpg(image.bytes) : await doc.embedPng(image.bytes);
  const scale = Math.min(PT_PER_PX, MAX_SIDE_PT / image.width, MAX_SIDE_PT / image.height);
  const width = Math.max(1, image.width * scale);
  const height = Math.max(1, image.height * scale);
  const page = doc.addPage([width, height]);
  page.drawImage(embedded, { x: 0, y: 0, width, height });
  return doc.save({ useObjectStreams: false });
}
