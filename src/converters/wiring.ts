// The document converter a gateway or CLI run uses, built from the policy and
// started on first use: a process that never meets a document starts no
// rasterizer and no LibreOffice. PDFs go to the sandboxed mupdf rasterizer,
// Office formats through LibreOffice in a sandbox first. Where bubblewrap
// cannot run, documents fail closed (`no-sandbox`) unless the policy's
// documents.allowUnsandboxed accepts the risk.
import type { DocumentConverter } from '../core/ports.js';
import type { Policy } from '../core/policy.js';
import { createDocumentConverter, type ClosableDocumentConverter } from './documents.js';
import { createOfficeConverter } from './office/office-converter.js';
import type { OfficeConverter } from './office/types.js';
import { probeBwrap } from './bwrap.js';

export interface ConverterSettings {
  /** Rasterizer processes kept started (default 1). */
  warmPdf?: number;
  /** LibreOffice sandboxes kept started once the first Office document came (default 1). */
  warmOffice?: number;
}

export function documentConverterFor(policy: Policy, settings: ConverterSettings = {}): ClosableDocumentConverter {
  const allow = policy.documents.allowUnsandboxed;
  let office: Promise<OfficeConverter> | null = null;
  let docs: Promise<ClosableDocumentConverter> | null = null;
  const officeOnce = (): Promise<OfficeConverter> => (office ??= createOfficeConverter({ allowUnsandboxed: allow, warmSlots: settings.warmOffice ?? 1 }));
  const open = async (): Promise<ClosableDocumentConverter> => {
    const sandbox = allow && (await probeBwrap()) !== null ? 'none' : 'bwrap';
    return createDocumentConverter({
      office: async (bytes, format, deadline) => (await officeOnce()).convert(bytes, format, deadline),
      pdf: { sandbox, warm: settings.warmPdf ?? 1 },
    });
  };
  const converter: DocumentConverter = {
    toImagePdf: async (bytes, format, limits) => (await (docs ??= open())).toImagePdf(bytes, format, limits),
  };
  return {
    ...converter,
    async close() {
      await Promise.allSettled([docs?.then((d) => d.close()), office?.then((o) => o.close())]);
    },
  };
}
