// The document converter the core uses: PDFs go straight to the PDF path
// (pdf/pdf-converter.ts: sandboxed rasterizer -> checked pixels -> image-only
// PDF); Office formats go Office -> PDF (an OfficeToPdf, e.g. LibreOffice in a
// sandbox) and then the same PDF path, so their output is pixels too. Without
// an OfficeToPdf, Office formats fail closed.
import type { DocumentConverter, DocumentResult } from '../core/ports.js';
import type { OfficeFormat, OfficeToPdf } from './office/types.js';
import { createPdfConverter, type PdfConverterOptions } from './pdf/pdf-converter.js';

export type { OfficeFormat, OfficeToPdf };

export interface DocumentConverterOptions {
  /** Office -> PDF; without it Office formats fail with `converter-failed`. */
  office?: OfficeToPdf;
  /** The PDF rasterizer's isolation, memory cap, warm processes and tag. */
  pdf: PdfConverterOptions;
}

export type ClosableDocumentConverter = DocumentConverter & { close(): Promise<void> };

export function createDocumentConverter(opts: DocumentConverterOptions): ClosableDocumentConverter {
  const pdf = createPdfConverter(opts.pdf);
  const { office } = opts;
  return {
    async toImagePdf(untrustedBytes, format, limits): Promise<DocumentResult> {
      if (format === 'pdf') return pdf.toImagePdf(untrustedBytes, limits);
      if (!office) {
        return { ok: false, reason: 'converter-failed', detail: `no Office converter is configured, so ${format} documents cannot be converted; configure one or block ${format}` };
      }
      let converted: Awaited<ReturnType<OfficeToPdf>>;
      try {
        converted = await office(untrustedBytes, format, limits.deadline, limits.sheetValues);
      } catch (err) {
        return { ok: false, reason: 'converter-failed', detail: `the Office converter threw: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) };
      }
      if (!converted.ok) return { ok: false, reason: converted.reason, detail: `${format} -> PDF: ${converted.detail}` };
      const result = await pdf.toImagePdf(converted.pdf, limits);
      if (!result.ok) return { ok: false, reason: result.reason, detail: `${format} -> PDF -> pixels: ${result.detail}` };
      return converted.sheets ? { ...result, sheets: converted.sheets } : result;
    },
    close: () => pdf.close(),
  };
}
