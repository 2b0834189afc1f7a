// The gateway's unlock service: PDFs decrypted in the rasterizer's sandbox,
// under the gateway's one isolation decision (converters/isolation.ts: where
// bubblewrap cannot run, only when the policy's documents.allowUnsandboxed
// accepts the risk, as for every document), within the policy's time budget.
import type { Isolation } from '../converters/isolation.js';
import { decryptPdf } from '../converters/pdf/pdf-decrypt.js';
import { createUnlockService, type UnlockDeps, type UnlockService } from './service.js';

export function unlockServiceFor(d: Omit<UnlockDeps, 'pdf'>, isolation: Isolation): UnlockService {
  return createUnlockService({
    ...d,
    pdf: async (bytes, password) =>
      isolation.mode === 'unavailable'
        ? { ok: false, reason: 'failed', detail: `no sandbox for documents: ${isolation.why}` }
        : decryptPdf(bytes, password, { isolation, timeoutMs: d.policy.limits.timeoutMs, maxOutputBytes: d.policy.limits.maxMessageBytes }),
  });
}
