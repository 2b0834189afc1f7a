// The gateway's unlock service: PDFs decrypted in the rasterizer's sandbox
// (bubblewrap; without it, only when the policy's documents.allowUnsandboxed
// accepts the risk, as for every document), under the policy's time budget.
import { probeBwrap } from '../converters/bwrap.js';
import { decryptPdf } from '../converters/pdf/pdf-decrypt.js';
import type { SandboxMode } from '../converters/pdf/sandbox.js';
import { createUnlockService, type UnlockDeps, type UnlockService } from './service.js';

export function unlockServiceFor(d: Omit<UnlockDeps, 'pdf'>): UnlockService {
  let sandbox: Promise<SandboxMode> | null = null;
  const mode = (): Promise<SandboxMode> =>
    (sandbox ??= d.policy.documents.allowUnsandboxed ? probeBwrap().then((why) => (why === null ? 'bwrap' : 'none')) : Promise.resolve('bwrap'));
  return createUnlockService({
    ...d,
    pdf: async (bytes, password) => decryptPdf(bytes, password, { sandbox: await mode(), timeoutMs: d.policy.limits.timeoutMs, maxOutputBytes: d.policy.limits.maxMessageBytes }),
  });
}
