// A document converter that converts nothing. The relay's blocked path uses it
// (a blocked message is never converted), and so does a gateway whose
// converters are switched off: every document is then removed and kept in
// quarantine, which is fail-closed.
import type { DocumentConverter } from '../core/ports.js';

export const noDocuments: DocumentConverter = {
  toImagePdf: () => Promise.resolve({ ok: false, reason: 'converter-failed', detail: 'no document converter on this path' }),
};
