// Runs in a worker thread: sanitizes one message at a time off the SMTP event
// loop. The main thread kills the thread when a message overruns its budget.
// Each thread has its own connection to the store for reads. It writes
// nothing: the original it keeps is sealed here (Vault.prepare) and handed
// back with the result, and the main thread commits it once the answer is
// final. A thread killed mid-message, or a result the blocked path replaced,
// so leaves no item behind.
import { workerData } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { connectAuditChannel } from '../audit/log-thread.js';
import { createSharpTranscoder } from '../converters/image-sharp.js';
import type { Isolation } from '../converters/isolation.js';
import { documentConverterFor } from '../converters/wiring.js';
import type { Policy } from '../core/policy.js';
import type { SenderFacts } from '../model/sender-trust.js';
import type { QuarantineId, QuarantineMeta, SanitizeDeps } from '../core/ports.js';
import { QuarantineUnavailableError, ScannerUnavailableError, sanitize, type Envelope, type SanitizeResult } from '../core/sanitize.js';
import { createClamdScanner, type ClamdOptions } from '../scan/clamd.js';
import { firstContactFor } from './first-contact.js';
import { reusing } from './reuse-quarantine.js';
import { openVault, type PreparedItem, type Vault } from '../quarantine/vault.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';

export interface WorkerSetup {
  dataDir: string;
  databaseUrl?: string;
  auditChannel: string;
  gateway: string;
  policy: Policy;
  /** How the document converters are isolated: decided once, by the process that starts the threads. */
  isolation: Isolation;
  /** The console's public address (web.publicUrl): the notice of a quarantined original links its page. */
  consoleUrl?: string;
  /** clamd (config scan.*): every file is scanned before it is converted; absent, nothing is scanned. */
  clamd?: ClamdOptions;
}

export interface WorkerTask {
  raw: Uint8Array;
  envelope: Envelope;
  /** Shared with the main thread: when this thread started the message (Date.now()), 0 before. */
  started: Float64Array;
  /** The quarantine item the message already has (sanitized before a crash). */
  quarantineId: QuarantineId | null;
  /** What the relay found out about the sender at receipt. */
  sender?: SenderFacts;
}

export type WorkerReply =
  /** `kept`: the original the result's quarantineId names, sealed, for the main thread to write (null: nothing new to keep). */
  { ok: true; result: SanitizeResult; kept: PreparedItem | null } | { ok: false; quarantineUnavailable: boolean; scannerUnavailable?: boolean; message: string };

const setup = workerData as WorkerSetup;
let deps: Promise<{ deps: SanitizeDeps; store: Store; vault: Vault }> | undefined;
// Started on this thread's first document; its processes die with the gateway.
const documents = documentConverterFor(setup.isolation);

async function open(): Promise<{ deps: SanitizeDeps; store: Store; vault: Vault }> {
  const store = await openStore({ dataDir: setup.dataDir, databaseUrl: setup.databaseUrl });
  try {
    // Commits (and their fsync) happen on the gateway's audit thread: this thread sanitizes meanwhile.
    const audit = connectAuditChannel(setup.auditChannel);
    const quarantine = await openVault({ dataDir: setup.dataDir, store, audit, gateway: setup.gateway });
    return {
      store,
      vault: quarantine,
      deps: {
        quarantine,
        images: createSharpTranscoder(),
        documents,
        now: () => new Date(),
        randomToken: () => randomUUID(),
        consoleUrl: setup.consoleUrl,
        ...(setup.clamd ? { scanner: createClamdScanner(setup.clamd) } : {}),
      },
    };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

export default async function run(task: WorkerTask): Promise<WorkerReply> {
  task.started[0] = Date.now();
  try {
    const {
      deps: d,
      store,
      vault,
    } = await (deps ??= open()).catch((err: unknown) => {
      throw new QuarantineUnavailableError(err);
    });
    // A mail the gateway made itself (an unlocked attachment) has no sender to check.
    const firstContact = task.envelope.unlockedFrom ? null : await firstContactFor(store, setup.policy, task.envelope, new Date());
    // The relay's authentication at receipt (task.sender) and first contact, asked here of the store.
    const facts = task.sender || firstContact ? { sender: { authentication: task.sender?.authentication ?? null, firstContactFor: firstContact } } : {};
    // Kept only in the answer: the last original the core asked to keep is the one its result names.
    const keeping = {
      prepared: null as PreparedItem | null,
      async put(original: Uint8Array, meta: QuarantineMeta): Promise<QuarantineId> {
        keeping.prepared = await vault.prepare(original, meta);
        return keeping.prepared.id;
      },
    };
    const result = await sanitize({ raw: task.raw, envelope: task.envelope, ...facts }, setup.policy, { ...d, quarantine: reusing(keeping, task.quarantineId) });
    const kept = keeping.prepared;
    return { ok: true, result, kept: kept && result.quarantineId === kept.id ? kept : null };
  } catch (err) {
    // Nothing is wrong with the store: the scanner could not answer, and the message waits.
    if (err instanceof ScannerUnavailableError) return { ok: false, quarantineUnavailable: false, scannerUnavailable: true, message: err.detail };
    // Reopen the store next time: it may have been the cause.
    const failed = deps;
    deps = undefined;
    void failed?.then((o) => o.store.close()).catch(() => undefined);
    return { ok: false, quarantineUnavailable: err instanceof QuarantineUnavailableError, message: err instanceof Error ? err.message : String(err) };
  }
}
