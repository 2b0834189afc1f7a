// An AuditLog whose store lives on a worker thread (log-worker.ts): appends are
// group-committed there and resolve here once durable, so the caller's event
// loop never waits for a commit's fsync. The gateway's main thread uses it.
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, Worker } from 'node:worker_threads';
import type { AuditEffects, AuditEntry, AuditRecord } from '../store/types.js';
import { runtimeUrl } from '../runtime/files.js';
import type { AuditLog } from './log.js';
import type { ChannelReply, ChannelRequest, LogReply, LogWorkerSetup } from './log-worker.js';

const workerFile = (): URL => runtimeUrl('audit/log-worker.js');

export class AuditThreadError extends Error {
  override readonly name = 'AuditThreadError';
}

type Request = { op: 'append'; entries: AuditEntry[]; effects: AuditEffects | undefined } | { op: 'checkpoint' } | { op: 'close' };

export interface AuditLogThread extends AuditLog {
  /** The channel other threads of this process append through (connectAuditChannel); null unless `shared`. */
  readonly channel: string | null;
  /** Settles with the reason if the thread ends by itself (a crash), never after close(). */
  readonly died: Promise<Error>;
}

/**
 * Starts the thread and resolves once its store and signing key are open.
 * `shared`: other threads of the process may append through it too.
 */
export async function openAuditLogThread(setup: Omit<LogWorkerSetup, 'channel'> & { shared?: boolean }): Promise<AuditLogThread> {
  const { shared, ...rest } = setup;
  const channel = shared ? `mugaika-audit-${randomUUID()}` : null;
  const worker = new Worker(workerFile(), { workerData: { ...rest, ...(channel ? { channel } : {}) } satisfies LogWorkerSetup });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  let closing = false;
  let died: (err: Error) => void = () => undefined;
  const diedP = new Promise<Error>((resolve) => (died = resolve));
  const ready = new Promise<void>((resolve, reject) => pending.set(0, { resolve: () => resolve(), reject }));
  worker.on('message', (reply: LogReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(Object.assign(new AuditThreadError(reply.error), { name: reply.name }));
  });
  const fail = (err: Error): void => {
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    if (!closing) died(err);
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
    channel,
    died: diedP,
    append: async (entry, effects) => ((await call({ op: 'append', entries: [entry], effects })) as AuditRecord[])[0]!,
    appendMany: async (entries, effects) => (await call({ op: 'append', entries: [...entries], effects })) as AuditRecord[],
    checkpoint: async () => {
      await call({ op: 'checkpoint' });
    },
    async close() {
      closing = true;
      await call({ op: 'close' });
      await worker.terminate();
    },
  };
}

/** How long an append over the channel may wait for its answer before it fails (the log thread may be gone). */
const CHANNEL_TIMEOUT_MS = 60_000;

/**
 * An AuditLog for another thread of the process (a sanitizer worker) that
 * appends through the gateway's one audit thread, by its channel. Appends
 * resolve once durable, as with the thread itself; checkpoints stay the
 * gateway's.
 */
export function connectAuditChannel(name: string): AuditLog {
  const channel = new BroadcastChannel(name);
  (channel as unknown as { unref?: () => void }).unref?.();
  const client = randomUUID();
  const pending = new Map<number, { resolve: (v: AuditRecord[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let closed = false;
  channel.onmessage = (event) => {
    const reply = (event as { data: ChannelReply | ChannelRequest }).data;
    if (reply.client !== client || !('ok' in reply)) return;
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.value as AuditRecord[]);
    else p.reject(Object.assign(new AuditThreadError(reply.error), { name: reply.name }));
  };
  const inflight = new Set<Promise<AuditRecord[]>>();
  const appendMany = (entries: readonly AuditEntry[], effects?: AuditEffects): Promise<AuditRecord[]> => {
    if (closed) return Promise.reject(new AuditThreadError('the audit channel is closed / 監査ログへの接続は閉じられています'));
    const id = nextId++;
    const answer = new Promise<AuditRecord[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new AuditThreadError(`the audit log thread did not answer within ${CHANNEL_TIMEOUT_MS / 1000} s / 監査ログのスレッドが応答しません`));
      }, CHANNEL_TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      channel.postMessage({ client, id, entries: [...entries], effects } satisfies ChannelRequest);
    });
    inflight.add(answer);
    const forget = (): void => void inflight.delete(answer);
    answer.then(forget, forget);
    return answer;
  };
  return {
    append: async (entry, effects) => (await appendMany([entry], effects))[0]!,
    appendMany,
    checkpoint: () => Promise.reject(new AuditThreadError("checkpoints are written by the gateway's audit thread")),
    async close() {
      closed = true;
      await Promise.allSettled([...inflight]);
      channel.close();
    },
  };
}
