// An AuditLog whose store lives on a worker thread (log-worker.ts): appends are
// group-committed there and resolve here once durable, so the caller's event
// loop never waits for a commit's fsync. The gateway's main thread uses it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AuditEffects, AuditEntry, AuditRecord } from '../store/types.js';
import type { AuditLog } from './log.js';
import type { LogReply, LogWorkerSetup } from './log-worker.js';

function workerFile(): URL {
  const beside = new URL('./log-worker.js', import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside : new URL('../../dist/audit/log-worker.js', import.meta.url);
}

export class AuditThreadError extends Error {
  override readonly name = 'AuditThreadError';
}

type Request = { op: 'append'; entries: AuditEntry[]; effects: AuditEffects | undefined } | { op: 'checkpoint' } | { op: 'close' };

/** Starts the thread and resolves once its store and signing key are open. */
export async function openAuditLogThread(setup: LogWorkerSetup): Promise<AuditLog> {
  const worker = new Worker(workerFile(), { workerData: setup });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  const ready = new Promise<void>((resolve, reject) => pending.set(0, { resolve: () => resolve(), reject }));
  worker.on('message', (reply: LogReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(Object.assign(new AuditThreadError(reply.error), { name: reply.name }));
  });
  const fail = (err: Error): void => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', (err) => fail(new AuditThreadError(`the audit log thread failed: ${err.message}`)));
  worker.on('exit', (code) => fail(new AuditThreadError(`the audit log thread exited (code ${code})`)));
  await ready;

  const call = (req: Request): Promise<unknown> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...req });
    });
  };
  return {
    append: async (entry, effects) => ((await call({ op: 'append', entries: [entry], effects })) as AuditRecord[])[0]!,
    appendMany: async (entries, effects) => (await call({ op: 'append', entries: [...entries], effects })) as AuditRecord[],
    checkpoint: async () => {
      await call({ op: 'checkpoint' });
    },
    async close() {
      await call({ op: 'close' });
      await worker.terminate();
    },
  };
}
