// The spool: every accepted message lives here, durably, until its outcome is
// recorded. State is in the files themselves (as in Postfix and Haraka), so a
// restart resumes each entry where it stopped:
//   incoming/<id>.msg            accepted, not yet sanitized (envelope + original)
//   outgoing/<id>.eml + .json    sanitized message + its delivery state
//   control/<id>.retry|.bounce   an operator's request (`mugaika queue`), applied by the gateway
//   rescan                       left after such requests: a running gateway that finds it
//                                removes it and re-reads control/ and outgoing/ (watchControl)
//   receipts.log                 what first delivery attempts (from memory) did, before the
//                                audit log has it: those recipients are never sent again
//                                (receipt-journal.ts; the gateway's alone)
// An outgoing entry exists once its .json exists (written after the .eml);
// the incoming file is removed only after that. Only the gateway writes the
// state files; other processes only read them and leave requests in control/.
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { coalescedDirSync, writeDurably } from '../durable/files.js';
import type { ReceivedEnvelope } from '../model/envelope.js';
import type { SenderFacts } from '../model/sender-trust.js';
import type { DeliveryState, QueueId, Receipt } from './types.js';
import { envelopeFromDisk, stateFromDisk } from './legacy.js';
import { openReceiptJournal, type ReceiptJournal } from './receipt-journal.js';
import { EXIT, OperatorError } from '../model/operator-error.js';

const MAGIC = 'MGSPOOL1';
// In-memory copies of just-accepted messages: at most this many, each at most this big.
const MEMORY_COPY_MAX_ENTRIES = 64;
const MEMORY_COPY_MAX_BYTES = 1024 * 1024;

/** unlink(), where a file already gone is fine (cheaper than fs.rm's lstat walk). */
const unlinkIfThere = (file: string): Promise<void> =>
  fs.unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
const ID = /^[0-9A-Z]{8,20}$/;

export class SpoolError extends OperatorError {
  override readonly name = 'SpoolError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.usage, options);
  }
}

/** Time-ordered, unique, safe as a file name. */
export function newQueueId(now = Date.now()): QueueId {
  return `${now.toString(36)}${randomBytes(5).toString('hex')}`.toUpperCase() as QueueId;
}

const checkId = (id: string): QueueId => {
  if (!ID.test(id)) throw new SpoolError(`not a queue id: ${JSON.stringify(id.slice(0, 30))}`);
  return id as QueueId;
};

export type ControlKind = 'retry' | 'bounce';

/** How often a gateway looks for the rescan marker. */
const CONTROL_POLL_MS = 1000;

export interface ControlWatch {
  stop(): void;
}

export interface SpoolOptions {
  /**
   * Clear what a crash left behind: spool/tmp and outgoing .eml files without
   * their .json. Only the gateway may do this, once, at start: any other time
   * (or any other process, such as `mugaika queue`) it would delete files a
   * running gateway is writing right now.
   */
  recover?: boolean;
}

export interface Spool {
  readonly dir: string;
  /**
   * Streams a message into incoming/ and makes it durable. Resolves with the
   * queue id only once the file and its folder are fsync'd; rejects (nothing
   * kept) on any failure. Past `maxBytes` nothing more is written: the file
   * is dropped, the rest of the message read and discarded, and the answer
   * is 'too-big' (a message sent without SIZE filled the disk before its 552).
   */
  accept(envelope: ReceivedEnvelope, data: Readable, maxBytes: number): Promise<QueueId | 'too-big'>;
  readIncoming(id: QueueId): Promise<{ envelope: ReceivedEnvelope; raw: Buffer }>;
  listIncoming(): Promise<QueueId[]>;
  hasIncoming(id: QueueId): Promise<boolean>;
  removeIncoming(id: QueueId): Promise<void>;
  /** Keeps (durably) what sender authentication found for an incoming entry: a restart does not check it again. */
  writeSenderFacts(id: QueueId, facts: SenderFacts): Promise<void>;
  /** What writeSenderFacts kept; null when nothing was (yet). Removed with the incoming entry. */
  readSenderFacts(id: QueueId): Promise<SenderFacts | null>;
  writeOutgoing(id: QueueId, state: DeliveryState, message: Uint8Array): Promise<void>;
  readOutgoing(id: QueueId): Promise<{ state: DeliveryState; message: Buffer }>;
  readState(id: QueueId): Promise<DeliveryState | null>;
  updateState(id: QueueId, state: DeliveryState): Promise<void>;
  removeOutgoing(id: QueueId): Promise<void>;
  /** Outgoing entries that are complete (their .json exists). */
  listOutgoing(): Promise<QueueId[]>;
  /** Leaves an operator's request for an outgoing entry (durably); the gateway applies it. */
  requestControl(id: QueueId, kind: ControlKind): Promise<void>;
  listControl(): Promise<{ id: QueueId; kind: ControlKind }[]>;
  /** Removes the requests for `id` (all kinds unless one is given). */
  removeControl(id: QueueId, kind?: ControlKind): Promise<void>;
  /** Tells a running gateway to apply the requests now (the gateway's watchControl sees it within a poll). */
  requestRescan(): Promise<void>;
  /**
   * Calls `onRescan` each time a rescan was requested (the gateway's side of
   * requestRescan), until stopped. A request made while no gateway runs is
   * met at the next start, which rescans anyway.
   */
  watchControl(onRescan: () => Promise<void>, everyMs?: number): ControlWatch;
  /** Throws unless a file can be written in the spool right now (for /healthz). */
  probe(): Promise<void>;
  /** Writes (durably, replacing any) what a first attempt for an incoming entry did. */
  writeReceipt(id: QueueId, receipt: Receipt): Promise<void>;
  readReceipt(id: QueueId): Promise<Receipt | null>;
  removeReceipt(id: QueueId): Promise<void>;
  /** Closes the receipt journal (the gateway's spool). */
  close(): Promise<void>;
}

const idsIn = async (dir: string, ext: string): Promise<QueueId[]> =>
  (await fs.readdir(dir))
    .filter((f) => f.endsWith(ext) && ID.test(f.slice(0, -ext.length)))
    .map((f) => f.slice(0, -ext.length) as QueueId)
    .sort();

const CONTROL = /^([0-9A-Z]{8,20})\.(retry|bounce)$/;

/**
 * Pipes `data` into the spool file and resolves once the file is closed, so
 * fsync'd (`flush`); rejects on an error of either. Not stream.pipeline: it
 * aborts an AbortController when it finishes, and the DOMException that
 * makes cost more than the rest of the piping of a 10 KB message. On an
 * error the caller destroys the file; the SMTP side drains the data.
 */
function written(data: Readable, out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    data.on('error', reject);
    out.on('error', reject);
    out.once('close', () => (out.writableFinished ? resolve() : reject(new SpoolError('the spool file was closed before the whole message was written'))));
    data.pipe(out);
  });
}

export async function openSpool(dataDir: string, options: SpoolOptions = {}): Promise<Spool> {
  const dir = path.join(dataDir, 'spool');
  const incoming = path.join(dir, 'incoming');
  const outgoing = path.join(dir, 'outgoing');
  const tmp = path.join(dir, 'tmp');
  const control = path.join(dir, 'control');
  const rescanMarker = path.join(dir, 'rescan');
  for (const d of [dir, incoming, outgoing, tmp, control]) await fs.mkdir(d, { recursive: true, mode: 0o700 });

  // Concurrent SMTP sessions share the incoming folder's fsync.
  const syncIncoming = coalescedDirSync(incoming);
  const recent = new Map<QueueId, { envelope: ReceivedEnvelope; raw: Buffer }>();
  const inFile = (id: QueueId): string => path.join(incoming, `${checkId(id)}.msg`);
  const senderFile = (id: QueueId): string => path.join(incoming, `${checkId(id)}.sender.json`);
  const emlFile = (id: QueueId): string => path.join(outgoing, `${checkId(id)}.eml`);
  const stateFile = (id: QueueId): string => path.join(outgoing, `${checkId(id)}.json`);
  const controlFile = (id: QueueId, kind: ControlKind): string => path.join(control, `${checkId(id)}.${kind}`);

  // Only at the gateway's start: run on any other open (`mugaika queue`) or rescan, it
  // would delete spool/tmp files of messages being received (a 451 for the client) and
  // the .eml of an entry between its .eml and .json writes (a sanitized message lost
  // once its incoming file is removed).
  if (options.recover) {
    // Leftovers of writes a crash interrupted: never acknowledged, so never owed.
    for (const f of await fs.readdir(tmp)) await fs.rm(path.join(tmp, f), { force: true });
    // A half-written outgoing entry: its incoming file still exists and is sanitized again.
    const states = new Set(await idsIn(outgoing, '.json'));
    for (const id of await idsIn(outgoing, '.eml')) if (!states.has(id)) await fs.rm(emlFile(id), { force: true });
    // Sender facts whose incoming file is gone (a crash between the two removals).
    const msgs = new Set(await idsIn(incoming, '.msg'));
    for (const id of await idsIn(incoming, '.sender.json')) if (!msgs.has(id)) await fs.rm(senderFile(id), { force: true });
  }
  // Receipts are written by the gateway alone, which opens the spool with `recover`.
  let journal: ReceiptJournal | null = null;
  if (options.recover) {
    journal = await openReceiptJournal(dir, tmp);
    // A receipt outlives its incoming file only when a crash came between their removals.
    const waiting = new Set(await idsIn(incoming, '.msg'));
    for (const id of journal.ids()) if (!waiting.has(id)) await journal.remove(id);
  }
  const receipts = (): ReceiptJournal => {
    if (!journal) throw new SpoolError('receipts are kept by the gateway alone (a spool opened with recover)');
    return journal;
  };

  return {
    dir,
    async accept(envelope, data, maxBytes) {
      const id = newQueueId();
      const part = path.join(tmp, `${id}.msg`);
      const head = Buffer.from(JSON.stringify(envelope), 'utf8');
      // flush: the file is fsync'd before the stream closes (no second open to sync it).
      const out = createWriteStream(part, { flags: 'wx', mode: 0o600, flush: true });
      try {
        out.write(`${MAGIC} ${head.length}\n`);
        out.write(head);
        out.write('\n');
        const piped = written(data, out);
        // Small messages stay in memory too, so sanitizing them need not read the file back.
        let kept: Buffer[] | null = [];
        let total = 0;
        let over = false;
        const ended = new Promise<void>((resolve, reject) => {
          data.once('end', resolve);
          data.once('error', reject);
        });
        ended.catch(() => undefined); // awaited only past maxBytes; an error also fails `piped`
        data.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (!over && total > maxBytes) {
            // Nothing more reaches the disk: stop writing, keep reading (the client is still sending).
            over = true;
            kept = null;
            data.unpipe(out);
            out.destroy();
          }
          if (!kept) return;
          kept.push(chunk);
          if (total > MEMORY_COPY_MAX_BYTES) kept = null;
        });
        await piped.catch((err: unknown) => {
          if (!over) throw err;
        });
        if (over) {
          await fs.rm(part, { force: true });
          await ended;
          return 'too-big';
        }
        await fs.rename(part, inFile(id));
        await syncIncoming();
        if (kept && recent.size < MEMORY_COPY_MAX_ENTRIES) recent.set(id, { envelope, raw: Buffer.concat(kept) });
        return id;
      } catch (err) {
        out.destroy();
        await fs.rm(part, { force: true }).catch(() => undefined);
        throw err;
      }
    },
    async readIncoming(id) {
      const copy = recent.get(id);
      if (copy) {
        recent.delete(id);
        return copy;
      }
      const buf = await fs.readFile(inFile(id));
      const nl = buf.indexOf(0x0a);
      const header = buf.subarray(0, nl).toString('latin1').split(' ');
      const length = Number(header[1]);
      if (header[0] !== MAGIC || !Number.isInteger(length) || nl + 1 + length + 1 > buf.length) {
        throw new SpoolError(`incoming/${id}.msg is not a spool file`);
      }
      const envelope = envelopeFromDisk(JSON.parse(buf.subarray(nl + 1, nl + 1 + length).toString('utf8')) as ReceivedEnvelope);
      return { envelope, raw: buf.subarray(nl + 1 + length + 1) };
    },
    listIncoming: () => idsIn(incoming, '.msg'),
    hasIncoming: (id) =>
      fs.access(inFile(id)).then(
        () => true,
        () => false,
      ),
    // No folder fsync: an incoming file that a power loss brings back is found
    // already sanitized (its outgoing state exists) and removed again.
    removeIncoming: async (id) => {
      recent.delete(id);
      await unlinkIfThere(inFile(id));
      await unlinkIfThere(senderFile(id));
    },
    // Atomic (tmp, then rename) but not fsync'd: that would cost every message a
    // disk flush. What a crash loses is checked again; nothing crosses without facts.
    async writeSenderFacts(id, facts) {
      const part = path.join(tmp, `${checkId(id)}.sender.json`);
      await fs.writeFile(part, JSON.stringify(facts), { mode: 0o600 });
      await fs.rename(part, senderFile(id));
    },
    async readSenderFacts(id) {
      try {
        return JSON.parse(await fs.readFile(senderFile(id), 'utf8')) as SenderFacts;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async writeOutgoing(id, state, message) {
      await writeDurably(emlFile(id), message, 0o600, tmp);
      await writeDurably(stateFile(id), Buffer.from(JSON.stringify(state)), 0o600, tmp);
    },
    async readOutgoing(id) {
      const [stateText, message] = await Promise.all([fs.readFile(stateFile(id), 'utf8'), fs.readFile(emlFile(id))]);
      return { state: stateFromDisk(JSON.parse(stateText) as DeliveryState), message };
    },
    async readState(id) {
      try {
        return stateFromDisk(JSON.parse(await fs.readFile(stateFile(id), 'utf8')) as DeliveryState);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    updateState: (id, state) => writeDurably(stateFile(id), Buffer.from(JSON.stringify(state)), 0o600, tmp),
    async removeOutgoing(id) {
      // The state goes first: without it the entry no longer exists.
      await unlinkIfThere(stateFile(id));
      await unlinkIfThere(emlFile(id));
      // No folder fsync: the outcome is in the transfer log already, and an entry a
      // power loss brings back is not delivered again to recipients it shows delivered.
    },
    listOutgoing: () => idsIn(outgoing, '.json'),
    // Written in control/ itself (not spool/tmp, which the gateway clears when it starts).
    requestControl: (id, kind) => writeDurably(controlFile(id, kind), Buffer.from(new Date().toISOString()), 0o600),
    async listControl() {
      return (await fs.readdir(control)).flatMap((f) => {
        const m = CONTROL.exec(f);
        return m ? [{ id: m[1] as QueueId, kind: m[2] as ControlKind }] : [];
      });
    },
    async removeControl(id, kind) {
      for (const k of kind ? [kind] : (['retry', 'bounce'] as const)) await fs.rm(controlFile(id, k), { force: true });
    },
    // An empty file, not written durably: a marker a crash loses is met by the rescan at start.
    requestRescan: () => fs.writeFile(rescanMarker, ''),
    watchControl(onRescan, everyMs = CONTROL_POLL_MS) {
      const timer = setInterval(() => {
        fs.rm(rescanMarker).then(onRescan, () => undefined);
      }, everyMs);
      return { stop: () => clearInterval(timer) };
    },
    writeReceipt: (id, receipt) => receipts().write(checkId(id), receipt),
    readReceipt: async (id) => receipts().read(checkId(id)),
    // Gone with the entry: a receipt a power loss brings back is met by its entry's absence.
    removeReceipt: (id) => (journal ? journal.remove(id) : Promise.resolve()),
    close: async () => {
      await journal?.close();
    },
    async probe() {
      for (const d of [incoming, outgoing]) if (!(await fs.stat(d)).isDirectory()) throw new SpoolError(`${d} is not a folder`);
      const file = path.join(tmp, `.probe-${randomBytes(6).toString('hex')}`);
      await writeDurably(file, Buffer.from('probe'), 0o600);
      await fs.rm(file, { force: true });
    },
  };
}
