// What working on one spool entry means: sanitizing an incoming message into
// a delivery, and one delivery attempt with everything it leads to (delivered,
// deferred, bounced). Each step writes to the spool before the previous state
// is removed, and records its outcome in the transfer log before the entry
// leaves the spool, so a crash at any point resumes without losing a message.
// When it happens is the scheduler's business (scheduler.ts).
import type { Logger } from 'pino';
import type { Policy } from '../core/policy.js';
import { QuarantineUnavailableError } from '../core/sanitize.js';
import type { AttemptResult, Carrier, RecipientFailure } from '../delivery/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { Spool } from '../spool/spool.js';
import type { DeliveryState, QueueId } from '../spool/types.js';
import { spoolBounce } from './bounces.js';
import { backoffMs, expired, type RetryPolicy } from './retry.js';
import type { Sanitizer } from './sanitizer.js';
import type { Scheduler } from './scheduler.js';
import type { TransferLog } from './transfer-log.js';

export interface StepDeps {
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
  now(): number;
}

/** Operator requests (`mugaika queue retry|bounce`) known to be waiting, by queue id. */
export interface Requests {
  retry: Set<QueueId>;
  bounce: Set<QueueId>;
}

export interface Steps {
  /** Entries found in incoming/ at start: they may have been sanitized before a crash. */
  recovered: Set<QueueId>;
  sanitize(id: QueueId): Promise<void>;
  deliver(id: QueueId): Promise<void>;
}

/** How long a message waits before trying the quarantine again. */
export const QUARANTINE_RETRY_MS = 30_000;

export function createSteps(d: StepDeps, scheduler: Scheduler, requests: Requests, alreadyDelivered?: Map<string, Set<string>>): Steps {
  // When the next hop just refused or timed out for every recipient, freshly
  // sanitized messages skip their first attempt instead of each waiting for a
  // connection that is not there; a success or the retry period ends that.
  let nextHopDownUntil = 0;
  const nextHopDown = (): boolean => d.now() < nextHopDownUntil;
  const noteNextHop = (r: AttemptResult): void => {
    if (r.accepted.length > 0 || r.permanent.length > 0) nextHopDownUntil = 0;
    else if (r.temporary.length > 0 && r.temporary.every((f) => f.code === null)) nextHopDownUntil = d.now() + backoffMs(1, d.retry);
  };

  // Recipients delivered per queue id: from the transfer log after a crash, and
  // kept up to date here, so an entry handled again is never sent twice.
  const deliveredTo = alreadyDelivered ?? new Map<string, Set<string>>();
  const recovered = new Set<QueueId>();

  const bounceCtx = { spool: d.spool, hostname: d.hostname, messageIdDomain: d.policy.output.messageIdDomain };

  async function sanitize(id: QueueId): Promise<void> {
    const log = d.log.child({ queueId: id });
    // Only an entry found at start can have been sanitized already (before a crash).
    if (recovered.delete(id) && (await d.spool.readState(id))) {
      // Sanitized before a crash, the incoming file not yet removed. The rescan
      // at start may be delivering it right now: it is not scheduled twice.
      await d.spool.removeIncoming(id);
      scheduler.deliverIfIdle(id, d.now());
      return;
    }
    const { envelope, raw } = await d.spool.readIncoming(id);
    const done = deliveredTo.get(id);
    if (done && envelope.rcptTo.every((r) => done.has(r))) {
      // Delivered to everyone before a crash, the incoming file not yet removed.
      await d.spool.removeIncoming(id);
      deliveredTo.delete(id);
      scheduler.forget(id);
      return;
    }
    const started = performance.now();
    let result;
    try {
      result = await d.sanitizer.run(raw, { mailFrom: envelope.mailFrom || null, rcptTo: envelope.rcptTo });
    } catch (err) {
      if (!(err instanceof QuarantineUnavailableError)) throw err;
      log.error({ err: err.message }, 'quarantine unavailable: message kept in the spool, retrying');
      scheduler.sanitize(id, d.now() + QUARANTINE_RETRY_MS);
      return;
    }
    d.metrics.sanitizeSeconds.observe((performance.now() - started) / 1000);
    d.metrics.sanitized.inc({ verdict: result.verdict });
    if (result.quarantineId) d.metrics.quarantined.inc();
    const codes = result.findings.map((f) => f.code);
    const base = { queueId: id, from: envelope.mailFrom, to: envelope.rcptTo, verdict: result.verdict, quarantineId: result.quarantineId, findings: codes };
    if (result.action === 'deliver') {
      const now = new Date(d.now()).toISOString();
      const state: DeliveryState = {
        version: 1, kind: 'sanitized', origin: id, envelopeFrom: envelope.mailFrom, pending: [...envelope.rcptTo],
        delivered: [], failed: [], attempts: 0, receivedAt: envelope.receivedAt, nextAttemptAt: now, lastError: null,
        verdict: result.verdict, quarantineId: result.quarantineId,
      };
      await d.transfers.record({ event: 'sanitized', ...base, client: envelope.clientAddress, receivedAt: envelope.receivedAt });
      log.info({ verdict: result.verdict, quarantineId: result.quarantineId, findings: codes }, 'sanitized');
      const message = result.message;
      // The first attempt goes out from memory: the incoming file keeps the message
      // durable until the outcome is recorded, so most messages never need an
      // outgoing entry (two fewer durable files per message).
      if (!nextHopDown() && scheduler.tryDeliverNow(id, () => settle(id, state, message, 'incoming'), () => scheduler.sanitize(id))) return;
      // Not worth a connection attempt now, or enough under way: into outgoing/ for the scheduler.
      await d.spool.writeOutgoing(id, state, message);
      await d.spool.removeIncoming(id);
      scheduler.arrived(id, new Date(envelope.receivedAt).getTime());
      scheduler.deliver(id, d.now());
    } else {
      const status = codes.includes('message-too-large') ? '5.3.4' : '5.6.0';
      const failures: RecipientFailure[] = envelope.rcptTo.map((rcpt) => ({ rcpt, code: 554, status, reason: `rejected by policy: ${codes.join(', ')}` }));
      const bounceId = await spoolBounce(bounceCtx, id, envelope.mailFrom, failures, raw, new Date(envelope.receivedAt), false);
      await d.transfers.record({ event: 'rejected', ...base, client: envelope.clientAddress, receivedAt: envelope.receivedAt, detail: bounceId ? `bounce ${bounceId}` : 'null sender: no bounce' });
      await d.spool.removeIncoming(id);
      scheduler.forget(id);
      d.metrics.bounced.inc(envelope.rcptTo.length);
      if (bounceId) scheduler.deliver(bounceId, d.now());
      log.warn({ findings: codes }, 'rejected by policy');
    }
  }

  async function attempt(id: QueueId, state: DeliveryState, message: Buffer): Promise<AttemptResult> {
    if (state.bounceRequested || requests.bounce.has(id)) {
      return { accepted: [], temporary: [], permanent: state.pending.map((rcpt) => ({ rcpt, code: null, status: '5.0.0', reason: 'bounced by an administrator (mugaika queue bounce)' })) };
    }
    const carrier = state.kind === 'bounce' ? d.bounceCarrier : d.nextHop;
    return carrier.send({ from: state.envelopeFrom, to: state.pending }, message);
  }

  async function deliver(id: QueueId): Promise<void> {
    // An entry that is gone (finished by an earlier attempt) is done, not an error to retry forever.
    if (!(await d.spool.readState(id))) {
      scheduler.forget(id);
      return;
    }
    const { state, message } = await d.spool.readOutgoing(id);
    // A retry request is met by this attempt.
    if (requests.retry.delete(id)) await d.spool.removeControl(id, 'retry');
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
    if (state.kind === 'sanitized' && !state.bounceRequested && !requests.bounce.has(id)) noteNextHop(result);
    const now = new Date(d.now());
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
        if (bounceId) scheduler.deliver(bounceId, d.now());
      }
      await d.transfers.record({ event: state.kind === 'bounce' ? 'bounce-failed' : 'bounced', ...base, to: failures.map((f) => f.rcpt), detail });
      d.metrics.bounced.inc(failures.length);
    }
    if (pending.length === 0) {
      if (from === 'incoming') await d.spool.removeIncoming(id);
      else await d.spool.removeOutgoing(id);
      if (requests.bounce.delete(id) || from === 'outgoing') await d.spool.removeControl(id);
      scheduler.forget(id);
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
      scheduler.arrived(id, receivedAt.getTime());
    } else {
      await d.spool.updateState(id, updated);
    }
    d.metrics.deferred.inc();
    log.warn({ pending: pending.length, next: updated.nextAttemptAt, lastError }, 'deferred');
    // A request that came in during the attempt (rescan() leaves busy entries alone) is served now.
    scheduler.deliver(id, requests.retry.has(id) || requests.bounce.has(id) ? d.now() : next.getTime());
  }

  return { recovered, sanitize, deliver };
}
