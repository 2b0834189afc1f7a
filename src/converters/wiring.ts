// The document converter a gateway or CLI run uses, under the isolation the
// process decided at start (isolation.ts), and started on first use: a
// process that never meets a document starts no rasterizer and no
// LibreOffice. PDFs go to the sandboxed mupdf rasterizer, Office formats
// through LibreOffice in a sandbox first.
import type { DocumentConverter } from '../core/ports.js';
import { createDocumentConverter, type ClosableDocumentConverter } from './documents.js';
import type { Isolation } from './isolation.js';
import { createOfficeConverter } from './office/office-converter.js';
import type { OfficeConverter } from './office/types.js';

export interface ConverterSettings {
  /** Rasterizer processes kept started (default 1). */
  warmPdf?: number;
  /** LibreOffice sandboxes kept started once the first Office document came (default 1). */
  warmOffice?: number;
}

export function documentConverterFor(isolation: Isolation, settings: ConverterSettings = {}): ClosableDocumentConverter {
  let office: OfficeConverter | null = null;
  let docs: ClosableDocumentConverter | null = null;
  const officeOnce = (): OfficeConverter => (office ??= createOfficeConverter({ isolation, warmSlots: settings.warmOffice ?? 1 }));
  const open = (): ClosableDocumentConverter =>
    createDocumentConverter({
      office: async (bytes, format, deadline, sheets) => officeOnce().convert(bytes, format, deadline, sheets),
      pdf: { isolation, warm: settings.warmPdf ?? 1 },
    });
  const converter: DocumentConverter = {
    toImagePdf: async (bytes, format, limits) => (docs ??= open()).toImagePdf(bytes, format, limits),
  };
  return {
    ...converter,
    async close() {
      await Promise.allSettled([docs?.close(), office?.close()]);
    },
  };
}
