// The real document converter for the core's tests: mupdf in sandboxed
// one-shot processes for PDFs, LibreOffice in bubblewrap for Office files,
// started on the first document. One per test file; close it in afterAll.
import { documentConverterFor } from '../../src/converters/wiring.js';
import type { ClosableDocumentConverter } from '../../src/converters/documents.js';
import { defaultPolicy } from '../../src/core/policy.js';

let shared: ClosableDocumentConverter | null = null;

export const realDocuments = (): ClosableDocumentConverter => (shared ??= documentConverterFor(defaultPolicy));

export async function closeDocuments(): Promise<void> {
  const c = shared;
  shared = null;
  await c?.close();
}
