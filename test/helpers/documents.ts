// The real document converter for the core's tests: mupdf in sandboxed
// one-shot processes for PDFs, LibreOffice in bubblewrap for Office files,
// started on the first document, under the isolation the default policy gets
// here (decided on first use). One per test file; close it in afterAll.
import { decideIsolation } from '../../src/converters/isolation.js';
import { documentConverterFor } from '../../src/converters/wiring.js';
import type { ClosableDocumentConverter } from '../../src/converters/documents.js';
import { defaultPolicy } from '../../src/core/policy.js';

let shared: ClosableDocumentConverter | null = null;

function decidedOnFirstUse(): ClosableDocumentConverter {
  const inner = decideIsolation(defaultPolicy.documents).then((isolation) => documentConverterFor(isolation));
  return {
    toImagePdf: async (bytes, format, limits) => (await inner).toImagePdf(bytes, format, limits),
    close: async () => (await inner).close(),
  };
}

export const realDocuments = (): ClosableDocumentConverter => (shared ??= decidedOnFirstUse());

export async function closeDocuments(): Promise<void> {
  const c = shared;
  shared = null;
  await c?.close();
}
