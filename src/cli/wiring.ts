// Assembles the core's dependencies from real adapters for a data dir.
import { randomUUID } from 'node:crypto';
import { createSharpTranscoder } from '../converters/image-sharp.js';
import { noDocuments } from '../converters/unavailable.js';
import type { SanitizeDeps } from '../core/ports.js';
import { QuarantineUnavailableError } from '../core/sanitize.js';
import { openLocalQuarantine } from '../quarantine/local-store.js';


export async function realDeps(dataDir: string): Promise<SanitizeDeps> {
  return {
    quarantine: await openLocalQuarantine(dataDir).catch((err: unknown) => {
      throw new QuarantineUnavailableError(err);
    }),
    images: createSharpTranscoder(),
    documents: noDocuments,
    now: () => new Date(),
    randomToken: () => randomUUID(),
  };
}
