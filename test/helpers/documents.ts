// A stand-in document converter for the core's success paths, until the real
// one (src/converters/documents.ts: mupdf and LibreOffice in a sandbox) is
// wired into the harness. It opens PDFs with pdf-lib and answers with a new
// PDF of as many blank pages of the same sizes: the page count, the size
// limits and the encrypted/undecodable verdicts are real; the pixels are not.
import { EncryptedPDFError, PDFDocument } from 'pdf-lib';
import type { DocumentConverter } from '../../src/core/ports.js';

export const pdfLibDocuments: DocumentConverter = {
  async toImagePdf(bytes, format, limits) {
    if (format !== 'pdf') return { ok: false, reason: 'converter-failed', detail: `the test converter reads PDF only, not ${format}` };
    let src: PDFDocument;
    try {
      src = await PDFDocument.load(bytes, { updateMetadata: false });
    } catch (err) {
      if (err instanceof EncryptedPDFError) return { ok: false, reason: 'encrypted', detail: 'the PDF is encrypted' };
      return { ok: false, reason: 'undecodable', detail: err instanceof Error ? err.message : String(err) };
    }
    const pages = src.getPages();
    if (pages.length > limits.maxPages) return { ok: false, reason: 'too-many-pages', detail: `${pages.length} > ${limits.maxPages} pages` };
    const out = await PDFDocument.create({ updateMetadata: false });
    for (const p of pages) {
      const { width, height } = p.getSize();
      const pixels = Math.ceil((width / 72) * limits.dpi) * Math.ceil((height / 72) * limits.dpi);
      if (pixels > limits.maxPixelsPerPage) return { ok: false, reason: 'page-too-large', detail: `${pixels} > ${limits.maxPixelsPerPage} pixels` };
      out.addPage([width, height]);
    }
    return { ok: true, pdf: await out.save(), pages: pages.length };
  },
};
