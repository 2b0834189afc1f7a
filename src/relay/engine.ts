// The relay's work loop. Incoming entries are sanitized in workers and become
// outgoing entries; outgoing entries are delivered, retried with backoff, or
// bounced. Every step is written to the spool before the previous one is
// removed, and every outcome is in the transfer log before its entry leaves
// the spool, so a crash at any point resumes without losing a message.
import type { Logger } from 'pino';
import type { Policy } from '../core/policy.js';
import { QuarantineUnavailableError } from '../core/sanitize.js';
import type { AttemptResult, Carrier, RecipientFailure } from '../delivery/types.js';
import type { Metrics, QueueSnapshot } from '../ops/metrics.js';
import type { Spool } from '../spool/spool.js';
import type { DeliveryState, QueueId } from '../spool/types.js';
import { spoolBounce } from './bounces.js';
import { backoffMs, expired, type RetryPolicy } from './retry.js';
import type { Sanitizer } from './sanitizer.js';
import type { TransferLog } from './transfer-log.js';

export interface EngineDeps {
  spool: Spool;
  sanitizer: Sanitizer;
  nextHop: Carrier;
  bounceCarrier: Carrier;
  transfers: TransferLog;
  metrics: Metrics;
  log: Logger;
  policy: Policy;
  retry: RetryPolicy;
  hostname: string;
  sanitizeConcurrency: number;
  deliveryConcurrency: number;
  /** Recipients the transfer log already shows delivered, per queue id (from before a crash). */
  alreadyDelivered?: Map<string, Set<string>>;
}

export interface Engine {
  start(): Promise<void>;
  /** A message was just accepted into incoming/. */
  accepted(id: QueueId, receivedAt: Date): void;
  /** Re-read outgoing/ (after `mugaika queue retry|bounce`). */
  rescan(): Promise<void>;
  snapshot(): QueueSnapshot;
  stop(): Promise<void>;
}

const QUARANTINE_RETRY_MS = 30_000;
const TICK_MS = 200;

export function createEngine(d: EngineDeps): Engine {
  const incoming: QueueId[] = [];
  const due = new Map<QueueId, number>();
  const ages = new Map<QueueId, number>();
  const busy = new Set<QueueId>();
  // Operator requests (`mugaika queue retry|bounce`, files in spool/control/) seen by rescan().
  const retryWanted = new Set<QueueId>();
  const bounceWanted = new Set<QueueId>();
  let sanitizing = 0;
  let delivering = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => {
      inFlight.delete(p);
      pump();
    });
  };

  // When the next hop just refused or timed out for every recipient, freshly
  // sanitized messages skip their first attempt instead of each waiting for a
  // connection that is not there; a success or the retry period ends that.
  let nextHopDownUntil = 0;
  const nextHopDown = (): boolean => Date.now() < nextHopDownUntil;
  const noteNextHop = (r: AttemptResult): void => {
    if (r.accepted.length > 0 || r.permanent.length > 0) nextHopDownUntil = 0;
    else if (r.temporary.length > 0 && r.temporary.every((f) => f.code === null)) nextHopDownUntil = Date.now() + backoffMs(1, d.retry);
  };

  // Recipients delivered per queue id: from the transfer log after a crash, and
  // kept up to date here, so an entry handled again is never sent twice.
  const deliveredTo = d.alreadyDelivered ?? new Map<string, Set<string>>();
  const recovered = new Set<QueueId>();

  const bounceCtx = { spool: d.spool, hostname: d.hostname, messageIdDomain: d.policy.output.messageIdDomain };

  async function sanitizeOne(id: QueueId): Promise<void> {
    const log = d.log.child({ queueId: id });
    // Only an entry found at start can have been sanitized already (before a crash).
    if (recovered.delete(id) && (await d.spool.readState(id))) {
      // Sanitized before a crash, the incoming file not yet removed.
      await d.spool.removeIncoming(id);
      // Fix: start()'s rescan has scheduled this entry already and may be delivering it
      // right now; scheduling it again made a second delivery run into the removed files.
      if (!busy.has(id) && !due.has(id)) due.set(id, Date.now());
      return;
    }
    const { envelope, raw } = await d.spool.readIncoming(id);
    const done = deliveredTo.get(id);
    if (done && envelope.rcptTo.every((r) => done.has(r))) {
      // Delivered to everyone before a crash, the incoming file not yet removed.
      await d.spool.removeIncoming(id);
      deliveredTo.delete(id);
      ages.delete(id);
      return;
    }
    const started = performance.now();
    let result;
    try {
      result = await d.sanitizer.run(raw, { mailFrom: envelope.mailFrom || null, rcptTo: envelope.rcptTo });
    } catch (err) {
      if (!(err instanceof QuarantineUnavailableError)) throw err;
      log.error({ err: err.message }, 'quarantine unavailable: message kept in the spool, retrying');
      setTimeout(() => incoming.push(id), QUARANTINE_RETRY_MS).unref();
      return;
    }
    d.metrics.sanitizeSeconds.observe((performance.now() - started) / 1000);
    d.metrics.sanitized.inc({ verdict: result.verdict });
    if (result.quarantineId) d.metrics.quarantined.inc();
    const codes = result.findings.map((f) => f.code);
    const base = { queueId: id, from: envelope.mailFrom, to: envelope.rcptTo, verdict: result.verdict, quarantineId: result.quarantineId, findings: codes };
    if (result.action === 'deliver') {
      const now = new Date().toISOString();
      const state: DeliveryState = {
        version: 1, kind: 'sanitized', origin: id, envelopeFrom: envelope.mailFrom, pending: [...envelope.rcptTo],
        delivered: [], failed: [], attempts: 0, receivedAt: envelope.receivedAt, nextAttemptAt: now, lastError: null,
        verdict: result.verdict, quarantineId: result.quarantineId,
      };
      await d.transfers.record({ event: 'sanitized', ...base, client: envelope.clientAddress, receivedAt: envelope.receivedAt });
      log.info({ verdict: result.verdict, quarantineId: result.quarantineId, findings: codes }, 'sanitized');
      const message = result.message;
      if (nextHopDown() || delivering >= d.deliveryConcurrency) {
        // Not worth a connection attempt now, or enough under way: into outgoing/ for the scheduler.
        await d.spool.writeOutgoing(id, state, message);
        await d.spool.removeIncoming(id);
        ages.set(id, new Date(envelope.receivedAt).getTime());
        due.set(id, Date.now());
        return;
      }
      // The first attempt goes out from memory: the incoming file keeps the message
      // durable until the outcome is recorded, so most messages never need an
      // outgoing entry (two fewer durable files per message).
      startDelivery(id, () => settle(id, state, message, 'incoming'), () => incoming.push(id));
    } else {
      const status = codes.includes('message-too-large') ? '5.3.4' : '5.6.0';
      const failures: RecipientFailure[] = envelope.rcptTo.map((rcpt) => ({ rcpt, code: 554, status, reason: `rejected by policy: ${codes.join(', ')}` }));
      const bounceId = await spoolBounce(bounceCtx, id, envelope.mailFrom, failures, raw, new Date(envelope.receivedAt), false);
      await d.transfers.record({ event: 'rejected', ...base, client: envelope.clientAddress, receivedAt: envelope.receivedAt, detail: bounceId ? `bounce ${bounceId}` : 'null sender: no bounce' });
      await d.spool.removeIncoming(id);
      d.metrics.bounced.inc(envelope.rcptTo.length);
      if (bounceId) due.set(bounceId, Date.now());
      log.warn({ findings: codes }, 'rejected by policy');
    }
  }

  async function attempt(id: QueueId, state: DeliveryState, message: Buffer): Promise<AttemptResult> {
    if (state.bounceRequested || bounceWanted.has(id)) {
      return { accepted: [], temporary: [], permanent: state.pending.map((rcpt) => ({ rcpt, code: null, status: '5.0.0', reason: 'bounced by an administrator (mugaika queue bounce)' })) };
    }
    const carrier = state.kind === 'bounce' ? d.bounceCarrier : d.nextHop;
    return carrier.send({ from: state.envelopeFrom, to: state.pending }, message);
  }

  async function deliverOne(id: QueueId): Promise<void> {
    // Fix: an entry that is gone (finished by an earlier run of this function) is done, not an error to retry forever.
    if (!(await d.spool.readState(id))) {
      ages.delete(id);
      return;
    }
    const { state, message } = await d.spool.readOutgoing(id);
    // A retry request is met by this attempt.
    if (retryWanted.delete(id)) await d.spool.removeControl(id, 'retry');
    await settle(id, state, message, 'outgoing');
  }

  /**
   * One delivery attempt for an entry and its consequences, all recorded before
   * the entry moves on. `from` says where the entry lives now: a first attempt
   * made straight after sanitization still has only its incoming file, which is
   * removed once the outcome is recorded (or an outgoing entry holds what is left).
   */
  async function settle(id: QueueId, state: DeliveryState, message: Buffer, from: 'incoming' | 'outgoing'): Promise<void> {
    const log = d.log.child({ queueId: id });
    const known = deliveredTo.get(id);
    if (known) state.pending = state.pending.filter((r) => !known.has(r));
    const result = state.pending.length > 0 ? await attempt(id, state, message) : { accepted: [], temporary: [], permanent: [] };
    if (state.kind === 'sanitized' && !state.bounceRequested && !bounceWanted.has(id)) noteNextHop(result);
    const now = new Date();
    const receivedAt = new Date(state.receivedAt);
    let failures = [...result.permanent];
    let pending = result.temporary.map((f) => f.rcpt);
    const lastError = result.temporary[0]?.reason ?? null;
    const gaveUp = pending.length > 0 && expired(receivedAt, now, d.retry);
    if (gaveUp) {
      failures = [...failures, ...result.temporary.map((f) => ({ ...f, status: '4.4.7', reason: `gave up after ${state.attempts + 1} attempts: ${f.reason}` }))];
      pending = [];
    }
    const base = { queueId: id, from: state.envelopeFrom, verdict: state.verdict, quarantineId: state.quarantineId };
    if (result.accepted.length > 0) {
      await d.transfers.record({ event: state.kind === 'bounce' ? 'bounce-delivered' : 'delivered', ...base, to: result.accepted });
      const set = deliveredTo.get(id) ?? new Set<string>();
      for (const r of result.accepted) set.add(r);
      deliveredTo.set(id, set);
      d.metrics.delivered.inc(result.accepted.length);
      if (state.kind === 'sanitized') d.metrics.endToEndSeconds.observe((now.getTime() - receivedAt.getTime()) / 1000);
    }
    if (failures.length > 0) {
      let detail = failures.map((f) => `${f.rcpt}: ${f.code ?? ''} ${f.reason}`.trim()).join('; ').slice(0, 2000);
      if (state.kind === 'sanitized') {
        const bounceId = await spoolBounce(bounceCtx, id, state.envelopeFrom, failures, message, receivedAt, gaveUp);
        detail = `${detail} (${bounceId ? `bounce ${bounceId}` : 'null sender: no bounce'})`;
        if (bounceId) due.set(bounceId, Date.now());
      }
      await d.transfers.record({ event: state.kind === 'bounce' ? 'bounce-failed' : 'bounced', ...base, to: failures.map((f) => f.rcpt), detail });
      d.metrics.bounced.inc(failures.length);
    }
    if (pending.length === 0) {
      if (from === 'incoming') await d.spool.removeIncoming(id);
      else await d.spool.removeOutgoing(id);
      if (bounceWanted.delete(id) || from === 'outgoing') await d.spool.removeControl(id);
      ages.delete(id);
      deliveredTo.delete(id);
      log.info({ delivered: result.accepted.length, failed: failures.length }, 'done');
      return;
    }
    const next = new Date(now.getTime() + backoffMs(state.attempts + 1, d.retry));
    const updated: DeliveryState = {
      ...state,
      pending,
      delivered: [...state.delivered, ...result.accepted],
      failed: [...state.failed, ...failures],
      attempts: state.attempts + 1,
      nextAttemptAt: next.toISOString(),
      lastError,
      bounceRequested: false,
    };
    await d.transfers.record({ event: 'deferred', ...base, to: pending, detail: lastError ?? undefined });
    if (from === 'incoming') {
      await d.spool.writeOutgoing(id, updated, message);
      await d.spool.removeIncoming(id);
      ages.set(id, receivedAt.getTime());
    } else {
      await d.spool.updateState(id, updated);
    }
    d.metrics.deferred.inc();
    log.warn({ pending: pending.length, next: updated.nextAttemptAt, lastError }, 'deferred');
    // A request that came in during the attempt (rescan() leaves busy entries alone) is served now.
    due.set(id, retryWanted.has(id) || bounceWanted.has(id) ? Date.now() : next.getTime());
  }

  const guarded = (what: string, id: QueueId, work: () => Promise<void>, retry: () => void) => async (): Promise<void> => {
    try {
      await work();
    } catch (err) {
      d.log.error({ queueId: id, err: err instanceof Error ? err.message : String(err) }, `${what} failed; will retry`);
      retry();
    }
  };

  function pump(): void {
    if (stopping) return;
    while (sanitizing < d.sanitizeConcurrency && incoming.length > 0) {
      const id = incoming.shift()!;
      sanitizing++;
      track(
        guarded('sanitizing', id, () => sanitizeOne(id), () => setTimeout(() => incoming.push(id), QUARANTINE_RETRY_MS).unref())().finally(() => {
          sanitizing--;
        }),
      );
    }
    const now = Date.now();
    for (const [id, at] of due) {
      if (delivering >= d.deliveryConcurrency) break;
      if (at > now || busy.has(id)) continue;
      due.delete(id);
      startDelivery(id, () => deliverOne(id), () => due.set(id, Date.now() + backoffMs(1, d.retry)));
    }
  }

  function startDelivery(id: QueueId, work: () => Promise<void>, retry: () => void): void {
    busy.add(id);
    delivering++;
    track(
      guarded('delivery', id, work, retry)().finally(() => {
        busy.delete(id);
        delivering--;
      }),
    );
  }

  async function rescan(): Promise<void> {
    const outgoing = new Set(await d.spool.listOutgoing());
    for (const { id, kind } of await d.spool.listControl()) {
      if (outgoing.has(id)) (kind === 'bounce' ? bounceWanted : retryWanted).add(id);
      // Not sanitized yet, or on its first attempt: the request waits for it.
      else if (kind === 'bounce' && (busy.has(id) || (await d.spool.hasIncoming(id)))) bounceWanted.add(id);
      else await d.spool.removeControl(id, kind); // the entry is gone: nothing to do
    }
    for (const id of outgoing) {
      if (busy.has(id)) continue; // deliverOne() looks at the requests when it is done
      const state = await d.spool.readState(id);
      if (!state) continue;
      const wanted = retryWanted.has(id) || bounceWanted.has(id) || state.bounceRequested;
      due.set(id, wanted ? Date.now() : new Date(state.nextAttemptAt).getTime());
      ages.set(id, new Date(state.receivedAt).getTime());
    }
    pump();
  }

  return {
    async start() {
      await rescan();
      for (const id of await d.spool.listIncoming()) {
        recovered.add(id);
        incoming.push(id);
        ages.set(id, Date.now());
      }
      timer = setInterval(pump, TICK_MS);
      pump();
    },
    accepted(id, receivedAt) {
      ages.set(id, receivedAt.getTime());
      incoming.push(id);
      pump();
    },
    rescan,
    snapshot() {
      let oldest = Date.now();
      for (const t of ages.values()) oldest = Math.min(oldest, t);
      return { incoming: incoming.length + sanitizing, outgoing: due.size + delivering, oldestAgeSeconds: (Date.now() - oldest) / 1000 };
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      // Work under way finishes; everything else stays in the spool for the next start.
      await Promise.allSettled([...inFlight]);
    },
  };
}
