// Runs in a worker thread: sanitizes one message at a time off the SMTP event
// loop. The main thread kills the thread when a message overruns its budget.
import { workerData } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { createSharpTranscoder } from '../converters/image-sharp.js';
import { noDocuments } from '../converters/unavailable.js';
import type { Policy } from '../core/policy.js';
import type { SanitizeDeps } from '../core/ports.js';
import { QuarantineUnavailableError, sanitize, type Envelope, type SanitizeResult } from '../core/sanitize.js';
import { openLocalQuarantine } from '../quarantine/local-store.js';

export interface WorkerSetup {
  dataDir: string;
  policy: Policy;
}

export interface WorkerTask {
  raw: Uint8Array;
  envelope: Envelope;
}

export type WorkerReply =
  | { ok: true; result: SanitizeResult }
  | { ok: false; quarantineUnavailable: boolean; message: string };

const setup = workerData as WorkerSetup;
let deps: Promise<SanitizeDeps> | undefined;

const depsOnce = (): Promise<SanitizeDeps> =>
  (deps ??= openLocalQuarantine(setup.dataDir).then((quarantine) => ({
    quarantine,
    images: createSharpTranscoder(),
    documents: noDocuments,
    now: () => new Date(),
    randomToken: () => randomUUID(),
  })));

export default async function run(task: WorkerTask): Promise<WorkerReply> {
  try {
    const d = await depsOnce().catch((err: unknown) => {
      throw new QuarantineUnavailableError(err);
    });
    const result = await sanitize({ raw: task.raw, envelope: task.envelope }, setup.policy, d);
    return { ok: true, result };
  } catch (err) {
    deps = undefined; // reopen the store next time: it may have been the cause
    return { ok: false, quarantineUnavailable: err instanceof QuarantineUnavailableError, message: err instanceof Error ? err.message : String(err) };
  }
}
