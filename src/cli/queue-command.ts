// `mugaika queue list|retry|bounce`: look at and steer the spool. Requests are
// left in the spool (requestControl, requestRescan); a running gateway applies
// them within a second (watchControl), a stopped one when it starts.
//
// Only the gateway writes state files: a retry or bounce rewriting one itself
// would race the gateway, which rewrites it after every attempt (a bounce
// requested during an attempt silently undone; a state file written just after
// the gateway removed a delivered entry coming back without its message).
import { openSpool, type ControlKind, type Spool } from '../spool/spool.js';
import type { QueueId } from '../spool/types.js';

export interface QueueLine {
  id: string;
  stage: 'incoming' | 'outgoing';
  kind: string;
  /** The envelope sender; '' for the null sender, as this listing has always printed it. */
  from: string;
  pending: number;
  attempts: number;
  receivedAt: string;
  nextAttemptAt: string | null;
  lastError: string | null;
}

/** Entries the gateway finishes while we look are simply not listed. */
const gone = (err: unknown): null => {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw err;
};

export async function listQueue(dataDir: string): Promise<QueueLine[]> {
  const spool = await openSpool(dataDir);
  const lines: QueueLine[] = [];
  for (const id of await spool.listIncoming()) {
    const entry = await spool.readIncoming(id).catch(gone);
    if (!entry) continue;
    const { envelope } = entry;
    lines.push({
      id,
      stage: 'incoming',
      kind: 'awaiting sanitization',
      from: envelope.mailFrom ?? '',
      pending: envelope.rcptTo.length,
      attempts: 0,
      receivedAt: envelope.receivedAt,
      nextAttemptAt: null,
      lastError: null,
    });
  }
  for (const id of await spool.listOutgoing()) {
    const s = await spool.readState(id);
    if (!s) continue;
    lines.push({
      id,
      stage: 'outgoing',
      kind: s.kind,
      from: s.envelopeFrom ?? '',
      pending: s.pending.length,
      attempts: s.attempts,
      receivedAt: s.receivedAt,
      nextAttemptAt: s.nextAttemptAt,
      lastError: s.lastError,
    });
  }
  return lines;
}

async function request(spool: Spool, ids: QueueId[], kind: ControlKind): Promise<string[]> {
  const done: string[] = [];
  for (const id of ids) {
    // A bounce also applies to a message not yet sanitized or on its first attempt.
    const known = (await spool.readState(id)) !== null || (kind === 'bounce' && (await spool.hasIncoming(id)));
    if (!known) continue;
    await spool.requestControl(id, kind);
    done.push(id);
  }
  await spool.requestRescan();
  return done;
}

/** Makes the given outgoing entries (all when `ids` is empty) due now. */
export async function retryQueue(dataDir: string, ids: string[]): Promise<string[]> {
  const spool = await openSpool(dataDir);
  const targets = (ids.length ? ids : await spool.listOutgoing()) as QueueId[];
  return request(spool, targets, 'retry');
}

/** Gives up on the pending recipients of the given entries: they are bounced to the sender. */
export async function bounceQueue(dataDir: string, ids: string[]): Promise<string[]> {
  const spool = await openSpool(dataDir);
  return request(spool, ids as QueueId[], 'bounce');
}
