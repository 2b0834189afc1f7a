// `mugaika queue list|retry|bounce`: look at and steer the spool. Changes are
// written to the entry's state file; a running gateway picks them up within
// a second (it watches for the rescan marker).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openSpool, type Spool } from '../spool/spool.js';
import type { DeliveryState, QueueId } from '../spool/types.js';

export interface QueueLine {
  id: string;
  stage: 'incoming' | 'outgoing';
  kind: string;
  from: string;
  pending: number;
  attempts: number;
  receivedAt: string;
  nextAttemptAt: string | null;
  lastError: string | null;
}

export async function listQueue(dataDir: string): Promise<QueueLine[]> {
  const spool = await openSpool(dataDir);
  const lines: QueueLine[] = [];
  for (const id of await spool.listIncoming()) {
    const { envelope } = await spool.readIncoming(id);
    lines.push({ id, stage: 'incoming', kind: 'awaiting sanitization', from: envelope.mailFrom, pending: envelope.rcptTo.length, attempts: 0, receivedAt: envelope.receivedAt, nextAttemptAt: null, lastError: null });
  }
  for (const id of await spool.listOutgoing()) {
    const s = await spool.readState(id);
    if (!s) continue;
    lines.push({ id, stage: 'outgoing', kind: s.kind, from: s.envelopeFrom, pending: s.pending.length, attempts: s.attempts, receivedAt: s.receivedAt, nextAttemptAt: s.nextAttemptAt, lastError: s.lastError });
  }
  return lines;
}

async function change(spool: Spool, ids: QueueId[], edit: (s: DeliveryState) => DeliveryState): Promise<string[]> {
  const done: string[] = [];
  for (const id of ids) {
    const state = await spool.readState(id);
    if (!state) continue;
    await spool.updateState(id, edit(state));
    done.push(id);
  }
  await fs.writeFile(path.join(spool.dir, 'rescan'), '');
  return done;
}

/** Makes the given outgoing entries (all when `ids` is empty) due now. */
export async function retryQueue(dataDir: string, ids: string[]): Promise<string[]> {
  const spool = await openSpool(dataDir);
  const targets = (ids.length ? ids : await spool.listOutgoing()) as QueueId[];
  return change(spool, targets, (s) => ({ ...s, nextAttemptAt: new Date().toISOString() }));
}

/** Gives up on the pending recipients of the given entries: they are bounced to the sender. */
export async function bounceQueue(dataDir: string, ids: string[]): Promise<string[]> {
  const spool = await openSpool(dataDir);
  return change(spool, ids as QueueId[], (s) => ({ ...s, bounceRequested: true, nextAttemptAt: new Date().toISOString() }));
}
