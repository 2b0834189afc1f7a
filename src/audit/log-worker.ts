// The audit log on a thread of its own (see log-thread.ts): better-sqlite3
// commits synchronously, fsync included, and on the gateway's main thread each
// commit stalled every SMTP session and delivery for its duration.
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import { openAuditLog } from './log.js';
import { loadOrCreateSigner } from './signer.js';
import type { AuditEffects, AuditEntry } from '../store/types.js';

export interface LogWorkerSetup {
  dataDir: string;
  databaseUrl?: string;
  /** Whether this log writes checkpoints (the gateway's main log does; its workers' logs do not). */
  autoCheckpoint?: boolean;
  /** A BroadcastChannel on which other threads of the process append too (see log-thread.ts). */
  channel?: string;
}

/** An append from another thread of the process, over the channel; `client` routes the reply. */
export type ChannelRequest = { client: string; id: number; entries: AuditEntry[]; effects: AuditEffects | undefined };
export type ChannelReply = LogReply & { client: string };

export type LogRequest = { id: number; op: 'append'; entries: AuditEntry[]; effects: AuditEffects | undefined } | { id: number; op: 'checkpoint' } | { id: number; op: 'close' };
export type LogReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string; name: string };

const setup = workerData as LogWorkerSetup;
const store = await openStore({ dataDir: setup.dataDir, databaseUrl: setup.databaseUrl });
const log = openAuditLog(store, await loadOrCreateSigner(setup.dataDir), { dataDir: setup.dataDir, autoCheckpoint: setup.autoCheckpoint !== false });

const answer = (id: number, work: Promise<unknown>): void => {
  work.then(
    (value) => parentPort!.postMessage({ id, ok: true, value } satisfies LogReply),
    (err: unknown) => parentPort!.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err), name: err instanceof Error ? err.name : 'Error' } satisfies LogReply),
  );
};

/** Buffers arrive as plain Uint8Arrays. */
const withBuffers = (e: AuditEffects): AuditEffects => ({
  ...e,
  ...(e.items ? { items: e.items.map((i) => ({ ...i, wrappedKey: Buffer.from(i.wrappedKey), sealedMeta: Buffer.from(i.sealedMeta) })) } : {}),
});

parentPort!.on('message', (req: LogRequest) => {
  if (req.op === 'append') answer(req.id, log.appendMany(req.entries, req.effects && withBuffers(req.effects)));
  else if (req.op === 'checkpoint') answer(req.id, log.checkpoint());
  else
    answer(
      req.id,
      log.close().finally(() => store.close()),
    );
});
if (setup.channel) {
  // Every thread of the gateway appends through this one log: one writer, one
  // connection, and their appends share its group commits (fsyncs).
  const channel = new BroadcastChannel(setup.channel);
  channel.onmessage = (event) => {
    const req = (event as { data: ChannelRequest }).data;
    log.appendMany(req.entries, req.effects && withBuffers(req.effects)).then(
      (value) => channel.postMessage({ client: req.client, id: req.id, ok: true, value } satisfies ChannelReply),
      (err: unknown) =>
        channel.postMessage({
          client: req.client,
          id: req.id,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
          name: err instanceof Error ? err.name : 'Error',
        } satisfies ChannelReply),
    );
  };
  // Let the thread end once the parent terminates it; the channel alone must not keep it alive.
  (channel as unknown as { unref?: () => void }).unref?.();
}

parentPort!.postMessage({ id: 0, ok: true } satisfies LogReply);
