// Assembles the core's dependencies from real adapters for a data dir: the
// same store, vault and audit log the gateway uses there, so a verdict reached
// by `mugaika sanitize` is quarantined and audited exactly as one reached by
// the relay.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createSharpTranscoder } from '../converters/image-sharp.js';
import { documentConverterFor } from '../converters/wiring.js';
import type { Policy } from '../core/policy.js';
import type { SanitizeDeps } from '../core/ports.js';
import { QuarantineUnavailableError } from '../core/sanitize.js';
import { openVaultContext } from '../quarantine/open-context.js';
import type { AuditLog } from '../audit/log.js';

export interface CliDeps {
  deps: SanitizeDeps;
  audit: AuditLog;
  /** Who the audit log names for this run: `cli:<OS user>`. */
  actor: string;
  close(): Promise<void>;
}

export async function openCliDeps(dataDir: string, policy: Policy): Promise<CliDeps> {
  const ctx = await openVaultContext({ dataDir, env: process.env }).catch((err: unknown) => {
    throw new QuarantineUnavailableError(err);
  });
  const documents = documentConverterFor(policy);
  return {
    deps: { quarantine: ctx.vault, images: createSharpTranscoder(), documents, now: () => new Date(), randomToken: () => randomUUID() },
    audit: ctx.audit,
    actor: `cli:${os.userInfo().username}`,
    async close() {
      await documents.close();
      await ctx.close();
    },
  };
}
