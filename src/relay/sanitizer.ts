// The relay's side of sanitization: a pool of worker threads (piscina), one
// message per thread at a time, each under a hard time budget counted from when
// a thread takes it up. A thread that overruns is terminated and the message is
// blocked (quarantined, notice only) from the main thread: fail closed, and the
// next message, even one that was waiting for that thread, is unaffected.
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Isolation } from '../converters/isolation.js';
import { noDocuments } from '../converters/unavailable.js';
import { finding } from '../core/findings.js';
import type { Policy } from '../core/policy.js';
import type { ImageTranscoder, QuarantineId, QuarantineStore, SanitizeDeps } from '../core/ports.js';
import { blockMessage, QuarantineUnavailableError, ScannerUnavailableError, type Envelope, type SanitizeResult } from '../core/sanitize.js';
import type { SenderFacts } from '../model/sender-trust.js';
import type { ClamdOptions } from '../scan/clamd.js';
import { runtimeUrl } from '../runtime/files.js';
import { reusing } from './reuse-quarantine.js';
import type { WorkerReply, WorkerSetup, WorkerTask } from './sanitize-worker.js';
import type { Vault } from '../quarantine/vault.js';

export interface RunOptions {
  /**
   * The quarantine item this message already has (it was sanitized before a
   * crash, and its verdict recorded): a finding keeps the original there
   * instead of in a second item.
   */
  quarantineId?: QuarantineId | null;
  /** What the relay found out about the sender at receipt, handed to the core as data. */
  sender?: SenderFacts;
}

export interface Sanitizer {
  /** Resolves with a decision; rejects only with QuarantineUnavailableError or ScannerUnavailableError (both: try again later). */
  run(raw: Buffer, envelope: Envelope, options?: RunOptions): Promise<SanitizeResult>;
  close(): Promise<void>;
}

// The blocked path converts nothing: it must never reach for a converter.
const noImages: ImageTranscoder = {
  reencode: () => Promise.resolve({ ok: false, reason: 'undecodable', detail: 'no converter on the blocked path' }),
};

export interface SanitizerOptions {
  dataDir: string;
  /** PostgreSQL shared by several gateways; SQLite under the data dir without it. */
  databaseUrl?: string;
  /** The gateway's audit thread's channel (openAuditLogThread with `shared`): the workers append through it. */
  auditChannel: string;
  /** Recorded on quarantined items. */
  gateway: string;
  policy: Policy;
  /** How the threads' document converters are isolated (decideIsolation, once per process). */
  isolation: Isolation;
  /** The console's public address (web.publicUrl): the notice of a quarantined original links its page. */
  consoleUrl?: string;
  /** clamd (config scan.*), when configured: the threads scan every file with it. */
  clamd?: ClamdOptions;
  workers?: number;
  /** The main thread's own quarantine: it writes what the threads kept (commit), and keeps messages blocked here. */
  quarantine: QuarantineStore & Pick<Vault, 'commit'>;
  graceMs?: number;
  /** Each thread's V8 heap limits; a message that exhausts them kills its thread, not the gateway. */
  resourceLimits?: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
}

/**
 * How long a fresh thread may take to start (load its modules, open its store)
 * after the one before it was killed. Seen at several seconds on two busy
 * cores, where two budgets of a short test policy were not enough.
 */
const THREAD_START_MS = 10_000;

/**
 * A message's time budget, running from when a thread starts it: the thread
 * writes Date.now() into `started` (shared memory), so a message queued behind
 * one that holds its thread is not blamed for the wait. At most one message
 * per thread waits ahead of it; not started after two budgets and a thread's
 * start means the pool is stuck, and that ends the wait too. One timer,
 * cleared by stop().
 */
function budgetClock(budget: number): { started: Float64Array; signal: AbortSignal; overrun(): string; stop(): void } {
  const started = new Float64Array(new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT));
  const queuedAt = Date.now();
  const stuckAfter = 2 * budget + THREAD_START_MS;
  const controller = new AbortController();
  let overrun = `worker terminated after ${budget} ms`;
  let timer: NodeJS.Timeout;
  const check = (): void => {
    const at = started[0]!;
    const now = Date.now();
    if (at === 0 && now - queuedAt >= stuckAfter) overrun = `no worker started it within ${stuckAfter} ms`;
    else if (at === 0 || now < at + budget) {
      timer = setTimeout(check, at === 0 ? Math.min(budget, queuedAt + stuckAfter - now) : at + budget - now);
      return;
    }
    controller.abort(new DOMException(overrun, 'TimeoutError'));
  };
  timer = setTimeout(check, budget);
  return { started, signal: controller.signal, overrun: () => overrun, stop: () => clearTimeout(timer) };
}

export function createSanitizer(opts: SanitizerOptions): Sanitizer {
  const setup: WorkerSetup = {
    dataDir: opts.dataDir,
    databaseUrl: opts.databaseUrl,
    auditChannel: opts.auditChannel,
    gateway: opts.gateway,
    policy: opts.policy,
    isolation: opts.isolation,
    consoleUrl: opts.consoleUrl,
    clamd: opts.clamd,
  };
  const threads = opts.workers ?? Math.max(1, availableParallelism());
  const pool = new Piscina<WorkerTask, WorkerReply>({
    filename: runtimeUrl('relay/sanitize-worker.js').href,
    workerData: setup,
    minThreads: threads,
    maxThreads: threads,
    // Memory per thread is bounded: a decompression bomb kills its thread, not the gateway.
    resourceLimits: opts.resourceLimits ?? { maxOldGenerationSizeMb: 1024, maxYoungGenerationSizeMb: 64 },
  });
  const mainDeps: SanitizeDeps = { quarantine: opts.quarantine, images: noImages, documents: noDocuments, now: () => new Date(), randomToken: () => randomUUID(), consoleUrl: opts.consoleUrl };
  const budget = opts.policy.limits.timeoutMs + (opts.graceMs ?? 2000);

  return {
    async run(raw, envelope, options = {}) {
      const input = { raw, envelope, ...(options.sender ? { sender: options.sender } : {}) };
      const blockDeps: SanitizeDeps = { ...mainDeps, quarantine: reusing(mainDeps.quarantine, options.quarantineId) };
      let reply: WorkerReply;
      const clock = budgetClock(budget);
      try {
        reply = await pool.run({ raw, envelope, started: clock.started, quarantineId: options.quarantineId ?? null, sender: options.sender } satisfies WorkerTask, { signal: clock.signal });
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
        const cause = timedOut
          ? finding('timeout', { detail: clock.overrun() })
          : finding('internal-error', { detail: `worker failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) });
        return blockMessage(input, opts.policy, blockDeps, new Date(), cause);
      } finally {
        clock.stop();
      }
      // The reply's bytes arrive as a Uint8Array of their own: a Buffer over them, not a copy.
      const bytes = reply.ok ? (reply.result.message as Uint8Array | null) : null;
      if (reply.ok) {
        // The original the result names is written now that the answer is final; without it nothing is delivered.
        if (reply.kept) await opts.quarantine.commit(reply.kept).catch((err: unknown) => Promise.reject(new QuarantineUnavailableError(err)));
        return { ...reply.result, message: bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null } as SanitizeResult;
      }
      if (reply.quarantineUnavailable) throw new QuarantineUnavailableError(new Error(reply.message));
      if (reply.scannerUnavailable) throw new ScannerUnavailableError(reply.message);
      return blockMessage(input, opts.policy, blockDeps, new Date(), finding('internal-error', { detail: reply.message.slice(0, 300) }));
    },
    close: () => pool.close({ force: true }),
  };
}
