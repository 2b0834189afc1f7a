// A durable record of every transfer event, appended as JSON lines and fsync'd
// before the caller goes on: the relay removes a spool entry only after its
// outcome is here. Appends made while a write is under way share its fsync
// (group commit). The audit store (tamper-evident, searchable) builds on this.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FindingCode } from '../core/findings.js';

export type TransferEvent =
  | 'sanitized'
  | 'delivered'
  | 'deferred'
  | 'bounced'
  | 'rejected'
  | 'bounce-delivered'
  | 'bounce-failed';

export interface TransferRecord {
  event: TransferEvent;
  queueId: string;
  /** On 'sanitized', the first record of a message: where and when it came in. */
  client?: string;
  receivedAt?: string;
  from?: string;
  to?: string[];
  verdict?: string;
  quarantineId?: string | null;
  findings?: FindingCode[];
  detail?: string;
}

export interface TransferLog {
  record(r: TransferRecord): Promise<void>;
  close(): Promise<void>;
}

export async function openTransferLog(dataDir: string): Promise<TransferLog> {
  const dir = path.join(dataDir, 'log');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const handle = await fs.open(path.join(dir, 'transfers.jsonl'), 'a+', 0o600);
  // Fix: a line torn by a crash has no line end, so the first record appended after
  // the restart continued it and was unreadable too (deliveredSoFar() skipped it).
  const { size } = await handle.stat();
  if (size > 0) {
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] !== 0x0a) {
      await handle.write('\n');
      await handle.sync();
    }
  }
  let waiting: { line: string; done: (err?: unknown) => void }[] = [];
  let writing = false;

  const flush = async (): Promise<void> => {
    writing = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await handle.write(batch.map((w) => w.line).join(''));
        await handle.sync();
        for (const w of batch) w.done();
      } catch (err) {
        for (const w of batch) w.done(err);
      }
    }
    writing = false;
  };

  return {
    record(r) {
      const line = `${JSON.stringify({ at: new Date().toISOString(), ...r })}\n`;
      return new Promise((resolve, reject) => {
        waiting.push({ line, done: (err) => (err ? reject(err) : resolve()) });
        if (!writing) void flush();
      });
    },
    async close() {
      while (writing || waiting.length > 0) await new Promise((r) => setTimeout(r, 5));
      await handle.close();
    },
  };
}

/**
 * Recipients the log shows delivered for the given queue ids: after a crash
 * between a next hop's 250 and the spool update, they are not sent again.
 */
export async function deliveredSoFar(dataDir: string, ids: ReadonlySet<string>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (ids.size === 0) return out;
  let text: string;
  try {
    text = await fs.readFile(path.join(dataDir, 'log', 'transfers.jsonl'), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"delivered"')) continue;
    try {
      const r = JSON.parse(line) as TransferRecord;
      if ((r.event === 'delivered' || r.event === 'bounce-delivered') && ids.has(r.queueId)) {
        const set = out.get(r.queueId) ?? new Set<string>();
        for (const rcpt of r.to ?? []) set.add(rcpt);
        out.set(r.queueId, set);
      }
    } catch {
      // A line torn by a crash: it recorded nothing durable.
    }
  }
  return out;
}
