// The receipts of first delivery attempts (what the next hop accepted before
// the audit log recorded it) in one append-only journal with group commit:
// a receipt is a line appended to spool/receipts.log, made durable by one
// fdatasync that every receipt written meanwhile shares, instead of a file of
// its own with two fsyncs each. Removals are appended without waiting: one a
// crash loses only brings back a receipt whose incoming file is gone, which
// is ignored. The journal is read whole at start and rewritten (live
// receipts only) when it has grown.
import fsc, { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fsyncDir, writeDurably } from '../durable/files.js';
import type { QueueId, Receipt } from './types.js';
import { receiptFromDisk } from './legacy.js';

const open = promisify(fsc.open);
const write = promisify(fsc.write);
const fdatasync = promisify(fsc.fdatasync);
const close = promisify(fsc.close);

type Line = { id: QueueId; receipt: Receipt } | { id: QueueId; done: true };

/** Rewritten when it holds this many lines more than there are live receipts. */
const COMPACT_AFTER_LINES = 10_000;

export interface ReceiptJournal {
  /** Durable once it resolves. */
  write(id: QueueId, receipt: Receipt): Promise<void>;
  read(id: QueueId): Receipt | null;
  /** Forgets `id`'s receipt (appended without waiting for the disk). */
  remove(id: QueueId): Promise<void>;
  /** Ids with a receipt. */
  ids(): QueueId[];
  close(): Promise<void>;
}

function parse(text: string): Map<QueueId, Receipt> {
  const live = new Map<QueueId, Receipt>();
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      continue; // a line a crash cut short: never acknowledged, so never relied on
    }
    if ('done' in line) live.delete(line.id);
    else live.set(line.id, receiptFromDisk(line.receipt));
  }
  return live;
}

export async function openReceiptJournal(dir: string, tmpDir: string): Promise<ReceiptJournal> {
  const file = path.join(dir, 'receipts.log');
  const live = parse(await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err))));
  let lines = live.size;
  // Start from a compact journal: what a restart needs, nothing more.
  const rewrite = async (): Promise<void> => {
    const text = [...live].map(([id, receipt]) => `${JSON.stringify({ id, receipt } satisfies Line)}\n`).join('');
    await writeDurably(file, Buffer.from(text), 0o600, tmpDir);
    lines = live.size;
  };
  await rewrite();
  let fd = await open(file, constants.O_WRONLY | constants.O_APPEND);
  await fsyncDir(dir);

  // Group commit: lines queued while a write and its fdatasync are under way go out together next.
  let queue: Array<{ bytes: Buffer; durable: boolean; resolve: () => void; reject: (e: Error) => void }> = [];
  let draining: Promise<void> | null = null;
  const drain = async (): Promise<void> => {
    const batch = queue;
    queue = [];
    try {
      const bytes = Buffer.concat(batch.map((b) => b.bytes));
      for (let at = 0; at < bytes.length;) at += (await write(fd, bytes, at, bytes.length - at, null)).bytesWritten;
      if (batch.some((b) => b.durable)) await fdatasync(fd);
      lines += batch.length;
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (lines - live.size > COMPACT_AFTER_LINES) {
      await close(fd).catch(() => undefined);
      await rewrite();
      fd = await open(file, constants.O_WRONLY | constants.O_APPEND);
    }
  };
  // One drain at a time; whatever was queued meanwhile starts the next.
  const kick = (): void => {
    if (draining || queue.length === 0) return;
    draining = drain().finally(() => {
      draining = null;
      kick();
    });
  };
  const append = (line: Line, durable: boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      queue.push({ bytes: Buffer.from(`${JSON.stringify(line)}\n`), durable, resolve, reject });
      kick();
    });

  return {
    async write(id, receipt) {
      // Live before the append, so that a rewrite right after it keeps it.
      const before = live.get(id);
      live.set(id, receipt);
      try {
        await append({ id, receipt }, true);
      } catch (err) {
        if (before) live.set(id, before);
        else live.delete(id);
        throw err;
      }
    },
    read: (id) => live.get(id) ?? null,
    async remove(id) {
      if (!live.delete(id)) return;
      await append({ id, done: true }, false);
    },
    ids: () => [...live.keys()],
    async close() {
      while (draining) await draining;
      await close(fd);
    },
  };
}
