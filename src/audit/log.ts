// The audit log: what the relay, the CLI and the console append to.
//
// Group commit: append() queues its entry and the queue is written by one
// store transaction (one fsync) at the next turn of the event loop; entries
// that arrive while a transaction is under way go into the next one. A
// promise resolves once its record is committed, i.e. durable.
//
// Checkpoints: while records are appended, at most one signed checkpoint per
// `checkpointIntervalMs` (default 1 s), and one at close(). Each also goes
// to <data dir>/audit/head.json.
import { chainPrepared, prepareEntry, type PreparedEntry } from './chain.js';
import { headFilePath, HeadFileError, readHeadFile, writeHeadFile } from './head-file.js';
import type { AuditSigner } from './signer.js';
import type { AuditEffects, AuditEntry, AuditRecord, Store } from '../store/types.js';

export interface AuditLog {
  /** `effects` (the rows the entry tells of: a quarantined item, a user, a session) are committed in the same transaction. */
  append(entry: AuditEntry, effects?: AuditEffects): Promise<AuditRecord>;
  /** Appends entries as consecutive records (in one transaction). */
  appendMany(entries: readonly AuditEntry[], effects?: AuditEffects): Promise<AuditRecord[]>;
  /** Writes a signed checkpoint of the current head now (after pending appends). */
  checkpoint(): Promise<void>;
  /** Waits for pending appends, writes a last checkpoint; the store stays open (the caller closes it). */
  close(): Promise<void>;
}

export interface AuditLogOptions {
  dataDir: string;
  now?: () => Date;
  checkpointIntervalMs?: number;
  /** Write checkpoints by itself, in the background and at close (default true). `audit verify` turns it off when the chain is broken. */
  autoCheckpoint?: boolean;
  /** A checkpoint written in the background failed (the records themselves are committed). Default: a process warning. */
  onError?: (err: unknown) => void;
}

export class AuditLogClosedError extends Error {
  override readonly name = 'AuditLogClosedError';
}

interface Waiting {
  entries: PreparedEntry[];
  effects: AuditEffects | undefined;
  resolve: (records: AuditRecord[]) => void;
  reject: (err: unknown) => void;
}

export function openAuditLog(store: Store, signer: AuditSigner, opts: AuditLogOptions): AuditLog {
  const now = opts.now ?? (() => new Date());
  const interval = opts.checkpointIntervalMs ?? 1000;
  const onError = opts.onError ?? ((err: unknown) => process.emitWarning(`audit checkpoint failed: ${err instanceof Error ? err.message : String(err)}`));
  const headFile = headFilePath(opts.dataDir);
  const auto = opts.autoCheckpoint !== false;

  let queue: Waiting[] = [];
  let flushing: Promise<void> | null = null;
  let closed = false;
  /** Highest seq this log committed, and the highest it has checkpointed. */
  let committedSeq = 0;
  let checkpointedSeq = 0;
  let lastCheckpointAt = 0;
  let timer: NodeJS.Timeout | null = null;
  let checkpointChain: Promise<void> = Promise.resolve();

  const writeCheckpoint = (): Promise<void> => {
    const run = checkpointChain.then(async () => {
      const head = await store.head();
      if (head.seq === 0) return;
      // head.json is evidence: never replace it with a checkpoint of a chain that lost its record.
      const previous = await readHeadFile(headFile);
      if (previous) {
        const [r] = previous.seq <= head.seq ? await store.readAudit(previous.seq - 1, 1) : [];
        if (r?.seq !== previous.seq || r.hash !== previous.hash) {
          throw new HeadFileError(
            `監査ログに ${headFile} の連番 ${previous.seq} の記録がありません (改ざんの疑い)。チェックポイントを書かずに残します。mugaika audit verify を実行してください / the audit log no longer holds record ${previous.seq} as signed in ${headFile} (tampering?): no checkpoint written, the file is kept; run mugaika audit verify`,
          );
        }
      }
      const c = signer.checkpoint(head.seq, head.hash, now());
      await store.addCheckpoint(c);
      await writeHeadFile(headFile, c);
      lastCheckpointAt = Date.now();
      checkpointedSeq = Math.max(checkpointedSeq, head.seq);
    });
    checkpointChain = run.catch(() => undefined);
    return run;
  };

  const scheduleCheckpoint = (): void => {
    if (timer || closed || !auto) return;
    const wait = Math.max(0, lastCheckpointAt + interval - Date.now());
    timer = setTimeout(() => {
      timer = null;
      // Counted from the start: commits made while this one is written wait for the next interval.
      lastCheckpointAt = Date.now();
      if (committedSeq > checkpointedSeq) writeCheckpoint().catch(onError);
    }, wait);
    timer.unref();
  };

  /** Commits a batch in one transaction; resolves its waiters, or rejects them with the error. */
  const commit = async (batch: readonly Waiting[]): Promise<unknown> => {
    const all = batch.flatMap((w) => w.entries);
    try {
      const records = await store.appendAudit((head) => chainPrepared(head, all), mergeEffects(batch));
      let i = 0;
      for (const w of batch) {
        w.resolve(records.slice(i, i + w.entries.length));
        i += w.entries.length;
      }
      const last = records[records.length - 1];
      if (last) committedSeq = Math.max(committedSeq, last.seq);
      scheduleCheckpoint();
      return null;
    } catch (err) {
      return err;
    }
  };

  const flush = async (): Promise<void> => {
    // Let every append of this turn of the event loop join the first batch.
    await new Promise((r) => setImmediate(r));
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const err = await commit(batch);
      if (err === null) continue;
      if (batch.length === 1) {
        batch[0]!.reject(err);
        continue;
      }
      // One append's effect may be what failed (a state that changed meanwhile):
      // each then commits on its own, so that only the failing one fails.
      for (const w of batch) {
        const e = await commit([w]);
        if (e !== null) w.reject(e);
      }
    }
    flushing = null;
  };

  const enqueue = (entries: readonly AuditEntry[], effects?: AuditEffects): Promise<AuditRecord[]> => {
    if (closed) return Promise.reject(new AuditLogClosedError('the audit log is closed / 監査ログは閉じられています'));
    let prepared: PreparedEntry[];
    try {
      const t = now();
      prepared = entries.map((e) => prepareEntry(e, t));
    } catch (err) {
      return Promise.reject(err);
    }
    if (prepared.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      queue.push({ entries: prepared, effects, resolve, reject });
      flushing ??= flush();
    });
  };

  const drain = async (): Promise<void> => {
    while (flushing) await flushing;
  };

  return {
    async append(entry, effects) {
      const [r] = await enqueue([entry], effects);
      return r as AuditRecord;
    },
    appendMany: enqueue,
    async checkpoint() {
      await drain();
      await writeCheckpoint();
    },
    async close() {
      if (closed) return;
      closed = true;
      await drain();
      if (timer) clearTimeout(timer);
      timer = null;
      await checkpointChain;
      if (auto && committedSeq > checkpointedSeq) await writeCheckpoint();
    },
  };
}

/** The effects of a batch of appends, in the order they were made (a later change to the same user wins). */
function mergeEffects(batch: readonly Waiting[]): AuditEffects {
  const out: { [K in keyof AuditEffects]-?: NonNullable<AuditEffects[K]>[number][] } = {
    items: [],
    stateChanges: [],
    users: [],
    loginAttempts: [],
    sessionsOpened: [],
    sessionsEnded: [],
    userSessionsEnded: [],
    addressLocksCleared: [],
    totpEnrolled: [],
    totpReset: [],
    totpStepsUsed: [],
    recoveryCodesUsed: [],
    unlockAttempts: [],
    unlockResets: [],
  };
  for (const { effects: e } of batch) {
    if (!e) continue;
    for (const key of Object.keys(out) as (keyof AuditEffects)[]) {
      const more = e[key];
      if (more) (out[key] as unknown[]).push(...more);
    }
  }
  return out;
}
