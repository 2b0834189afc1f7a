// What working on one spool entry means: sanitizing an incoming message into
// a delivery, and one delivery attempt with everything it leads to (delivered,
// deferred, bounced). Each step writes to the spool before the previous state
// is removed, and records its outcome in the transfer log before the entry
// leaves the spool, so a crash at any point resumes without losing a message.
// What the next hop answered is written to the spool before the audit log is
// asked to record it: with the database down, or after a crash in between,
// nothing it accepted is sent again, and the records are appended once the
// log takes them, before anything else happens to the entry. A message whose
// verdict is recorded is never sanitized into a second quarantine item.
// When each step runs is the scheduler's business (scheduler.ts).
import type { Logger } from 'pino';
import type { Policy } from '../core/policy.js';
import { QuarantineUnavailableError, ScannerUnavailableError } from '../core/sanitize.js';
import type { AttemptResult, Carrier, RecipientFailure } from '../delivery/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { Spool } from '../spool/spool.js';
import type { DeliveryState, QueueId, Receipt, TransferRecord } from '../spool/types.js';
import { spoolBounce } from './bounces.js';
import { backoffMs, expired, type RetryPolicy } from './retry.js';
import type { Sanitizer } from './sanitizer.js';
import { authenticationSummary, senderFactsFor } from './sender-facts.js';
import type { SenderAuthenticator } from '../sender/authenticate.js';
import type { Scheduler } from './scheduler.js';
import type { RecordedVerdict, TransferLog } from './transfer-log.js';

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
  /** Checks senders at receipt (SPF, DKIM, DMARC, ARC); absent or null: not checked. */
  authenticator?: SenderAuthenticator | null;
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
/** How long an entry whose outcome the audit log did not take waits before it is asked again. */
export const AUDIT_RETRY_MS = 30_000;

/** What is known from before a restart. */
export interface Recovered {
  /** Recipients the transfer log shows delivered, per queue id. */
  delivered?: Map<string, Set<string>>;
  /** Verdicts the transfer log holds for entries still in incoming/. */
  verdicts?: Map<string, RecordedVerdict>;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function createSteps(d: StepDeps, scheduler: Scheduler, requests: Requests, before: Recovered = {}): Steps {
  // When the next hop just refused or timed out for every recipient, freshly
  // sanitized messages skip their first attempt instead of each waiting for a
  // connection that is not there; a success or the retry period ends that.
  let nextHopDownUntil = 0;
  const nextHopDown = (): boolean => d.now() < nextHopDownUntil;
  const noteNextHop = (r: AttemptResult): void => {
    if (r.accepted.length > 0 || r.permanent.length > 0) nextHopDownUntil = 0;
    else if (r.temporary.length > 0 && r.temporary.every((f) => f.code === null)) nextHopDownUntil = d.now() + backoffMs(1, d.retry);
  };

  // Recipients settled per queue id (delivered, or bounced): from the transfer
  // log and the receipts after a crash, and kept up to date here, so an entry
  // handled again never sends or bounces them twice.
  const settledFor = before.delivered ?? new Map<string, Set<string>>();
  const settle = (id: QueueId, rcpts: readonly string[]): void => {
    const set = settledFor.get(id) ?? new Set<string>();
    for (const r of rcpts) set.add(r);
    settledFor.set(id, set);
  };
  const verdicts = before.verdicts ?? new Map<string, RecordedVerdict>();
  const recovered = new Set<QueueId>();
  // Incoming entries with a receipt written by this process (a rejection whose record the log did not take).
  const withReceipt = new Set<QueueId>();

  const bounceCtx = { spool: d.spool, hostname: d.hostname, messageIdDomain: d.policy.output.messageIdDomain };

  /** Appends the records the audit log does not hold yet; throws while it cannot. */
  async function catchUp(records: readonly TransferRecord[]): Promise<void> {
    const missing = await d.transfers.missing(records);
    if (missing.length > 0) await d.transfers.record(...missing);
  }

  /** An incoming entry with a receipt: its outcome is recorded, and the entry is done unless recipients remain. */
  async function fromReceipt(id: QueueId, receipt: Receipt): Promise<boolean> {
    await catchUp(receipt.unaudited);
    settle(id, [...receipt.delivered, ...receipt.bounced]);
    if (receipt.pending.length > 0) return false;
    await d.spool.removeIncoming(id);
    await d.spool.removeReceipt(id);
    withReceipt.delete(id);
    settledFor.delete(id);
    scheduler.forget(id);
    return true;
  }

  async function sanitize(id: QueueId): Promise<void> {
    const log = d.log.child({ queueId: id });
    const found = recovered.delete(id);
    // Only an entry found at start can have been sanitized already (before a crash).
    if (found && (await d.spool.readState(id))) {
      // Sanitized before a crash, the incoming file not yet removed. The rescan
      // at start may be delivering it right now: it is not scheduled twice.
      await d.spool.removeIncoming(id);
      scheduler.deliverIfIdle(id, d.now());
      return;
    }
    if (found || withReceipt.has(id)) {
      const receipt = await d.spool.readReceipt(id);
      if (receipt && (await fromReceipt(id, receipt))) return;
    }
    const { envelope, raw } = await d.spool.readIncoming(id);
    const done = settledFor.get(id);
    if (done && envelope.rcptTo.every((r) => done.has(r))) {
      // Delivered to everyone before a crash, the incoming file not yet removed.
      await d.spool.removeIncoming(id);
      await d.spool.removeReceipt(id);
      settledFor.delete(id);
      scheduler.forget(id);
      return;
    }
    const recorded = verdicts.get(id);
    // Once, on the original bytes, before the sanitizer: the core gets the facts as data.
    const sender = await senderFactsFor(d, id, envelope, raw, log);
    const started = performance.now();
    let result;
    try {
      result = await d.sanitizer.run(
        raw,
        { mailFrom: envelope.mailFrom, rcptTo: envelope.rcptTo, unlockedFrom: envelope.unlockOf?.quarantineId ?? null },
        { quarantineId: recorded?.quarantineId ?? null, sender },
      );
    } catch (err) {
      if (!(err instanceof QuarantineUnavailableError || err instanceof ScannerUnavailableError)) throw err;
      log.error(
        { err: err.message },
        err instanceof ScannerUnavailableError ? 'malware scanner unavailable: message kept in the spool, retrying' : 'quarantine unavailable: message kept in the spool, retrying',
      );
      scheduler.sanitize(id, d.now() + QUARANTINE_RETRY_MS);
      return;
    }
    d.metrics.sanitizeSeconds.observe((performance.now() - started) / 1000);
    d.metrics.sanitized.inc({ verdict: result.verdict });
    if (result.quarantineId && !recorded) d.metrics.quarantined.inc();
    const codes = result.findings.map((f) => f.code);
    const base = { queueId: id, from: envelope.mailFrom, to: envelope.rcptTo, verdict: result.verdict, quarantineId: result.quarantineId, findings: codes };
    const authentication = authenticationSummary(sender);
    if (result.action === 'deliver') {
      const now = new Date(d.now()).toISOString();
      const state: DeliveryState = {
        version: 1,
        kind: 'sanitized',
        origin: id,
        envelopeFrom: envelope.mailFrom,
        pending: envelope.rcptTo.filter((r) => !done?.has(r)),
        delivered: [],
        failed: [],
        attempts: 0,
        receivedAt: envelope.receivedAt,
        nextAttemptAt: now,
        lastError: null,
        verdict: result.verdict,
        quarantineId: result.quarantineId,
      };
      const message = result.message;
      // Receipt and verdict: once, even for a message sanitized again after a crash.
      if (!recorded) {
        const sanitized: TransferRecord = {
          event: 'sanitized',
          ...base,
          client: envelope.clientAddress,
          receivedAt: envelope.receivedAt,
          ...(authentication ? { authentication } : {}),
          ...(envelope.unlockOf ? { detail: `unlocked from ${envelope.unlockOf.quarantineId} by ${envelope.unlockOf.user}` } : {}),
        };
        try {
          await d.transfers.record(sanitized);
        } catch (err) {
          // Its original is in quarantine: it is not sanitized again. The entry
          // waits in outgoing/ until the audit log takes its records.
          log.error({ err: errorText(err) }, 'the audit log did not take the verdict: kept in the spool, recorded before delivery');
          await d.spool.writeOutgoing(id, { ...state, unaudited: [sanitized] }, message);
          await d.spool.removeIncoming(id);
          scheduler.arrived(id, new Date(envelope.receivedAt).getTime());
          scheduler.deliver(id, d.now() + AUDIT_RETRY_MS);
          return;
        }
      }
      verdicts.delete(id);
      log.info({ verdict: result.verdict, quarantineId: result.quarantineId, findings: codes }, 'sanitized');
      // The first attempt goes out from memory: the incoming file keeps the message
      // durable until the outcome is recorded, so most messages never need an
      // outgoing entry.
      if (
        !nextHopDown() &&
        scheduler.tryDeliverNow(
          id,
          () => attemptAndRecord(id, state, message, 'incoming'),
          () => scheduler.sanitize(id),
        )
      )
        return;
      // Not worth a connection attempt now, or enough under way: into outgoing/ for the scheduler.
      await d.spool.writeOutgoing(id, state, message);
      await d.spool.removeIncoming(id);
      scheduler.arrived(id, new Date(envelope.receivedAt).getTime());
      scheduler.deliver(id, d.now());
    } else {
      const status = codes.includes('message-too-large') ? '5.3.4' : '5.6.0';
      const failures: RecipientFailure[] = envelope.rcptTo.map((rcpt) => ({ rcpt, code: 554, status, reason: `rejected by policy: ${codes.join(', ')}` }));
      const bounceId = await spoolBounce(bounceCtx, id, envelope.mailFrom, failures, raw, new Date(envelope.receivedAt), false);
      if (bounceId) scheduler.deliver(bounceId, d.now());
      const rejected: TransferRecord = {
        event: 'rejected',
        ...base,
        client: envelope.clientAddress,
        receivedAt: envelope.receivedAt,
        ...(authentication ? { authentication } : {}),
        detail: bounceId ? `bounce ${bounceId}` : 'null sender: no bounce',
      };
      try {
        await d.transfers.record(rejected);
      } catch (err) {
        // The bounce is spooled: a receipt says so, and the record waits for the log.
        await d.spool.writeReceipt(id, { version: 1, delivered: [], bounced: [...envelope.rcptTo], pending: [], unaudited: [rejected] });
        withReceipt.add(id);
        throw err;
      }
      await d.spool.removeIncoming(id);
      verdicts.delete(id);
      scheduler.forget(id);
      d.metrics.bounced.inc(envelope.rcptTo.length);
      log.warn({ findings: codes }, 'rejected by policy');
    }
  }

  async function attempt(id: QueueId, state: DeliveryState, message: Buffer): Promise<AttemptResult> {
    if (state.bounceRequested || requests.bounce.has(id)) {
      return { accepted: [], temporary: [], permanent: state.pending.map((rcpt) => ({ rcpt, code: null, status: '5.0.0', reason: 'bounced by an administrator (mugaika queue bounce)' })) };
    }
    const carrier = state.kind === 'bounce' ? d.bounceCarrier : d.nextHop;
    return carrier.send({ mailFrom: state.envelopeFrom, rcptTo: state.pending }, message);
  }

  /** Removes an entry whose every recipient is settled and recorded. */
  async function finish(id: QueueId, from: 'incoming' | 'outgoing'): Promise<void> {
    if (from === 'incoming') {
      await d.spool.removeIncoming(id);
      await d.spool.removeReceipt(id);
    } else {
      await d.spool.removeOutgoing(id);
    }
    if (requests.bounce.delete(id) || from === 'outgoing') await d.spool.removeControl(id);
    scheduler.forget(id);
    settledFor.delete(id);
  }

  async function deliver(id: QueueId): Promise<void> {
    // An entry that is gone (finished by an earlier attempt) is done, not an error to retry forever.
    if (!(await d.spool.readState(id))) {
      scheduler.forget(id);
      return;
    }
    const { state, message } = await d.spool.readOutgoing(id);
    if (state.unaudited?.length) {
      // What happened last time comes first (a throw retries later).
      await catchUp(state.unaudited);
      settle(id, [...state.delivered, ...state.failed.map((f) => f.rcpt)]);
      delete state.unaudited;
      if (state.pending.length === 0) {
        await finish(id, 'outgoing');
        return;
      }
      await d.spool.updateState(id, state);
    }
    // A retry request is met by this attempt.
    if (requests.retry.delete(id)) await d.spool.removeControl(id, 'retry');
    await attemptAndRecord(id, state, message, 'outgoing');
  }

  /**
   * One delivery attempt for an entry and its consequences. `from` says where
   * the entry lives now: a first attempt made straight after sanitization still
   * has only its incoming file (and, once the next hop has answered, a
   * receipt), which are removed once the outcome is recorded, or an outgoing
   * entry takes over what is left.
   */
  async function attemptAndRecord(id: QueueId, state: DeliveryState, message: Buffer, from: 'incoming' | 'outgoing'): Promise<void> {
    const log = d.log.child({ queueId: id });
    const known = settledFor.get(id);
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
    const records: TransferRecord[] = [];
    if (result.accepted.length > 0) records.push({ event: state.kind === 'bounce' ? 'bounce-delivered' : 'delivered', ...base, to: result.accepted });
    if (failures.length > 0) {
      let detail = failures
        .map((f) => `${f.rcpt}: ${f.code ?? ''} ${f.reason}`.trim())
        .join('; ')
        .slice(0, 2000);
      if (state.kind === 'sanitized') {
        const bounceId = await spoolBounce(bounceCtx, id, state.envelopeFrom, failures, message, receivedAt, gaveUp);
        detail = `${detail} (${bounceId ? `bounce ${bounceId}` : 'null sender: no bounce'})`;
        if (bounceId) scheduler.deliver(bounceId, d.now());
      }
      records.push({ event: state.kind === 'bounce' ? 'bounce-failed' : 'bounced', ...base, to: failures.map((f) => f.rcpt), detail });
    }
    const next = new Date(now.getTime() + backoffMs(state.attempts + 1, d.retry));
    if (pending.length > 0) records.push({ event: 'deferred', ...base, to: pending, detail: lastError ?? undefined });
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
    const settled = [...result.accepted, ...failures.map((f) => f.rcpt)];
    // What the next hop accepted, or what was bounced, is on disk before the audit log is asked.
    if (settled.length > 0) {
      if (from === 'incoming') await d.spool.writeReceipt(id, { version: 1, delivered: result.accepted, bounced: failures.map((f) => f.rcpt), pending, unaudited: records });
      else await d.spool.updateState(id, { ...updated, unaudited: records });
      settle(id, settled);
    }
    try {
      await d.transfers.record(...records);
    } catch (err) {
      log.error({ err: errorText(err) }, 'the audit log did not take the outcome: kept in the spool, recorded before anything else happens to it');
      if (from === 'incoming') {
        await d.spool.writeOutgoing(id, { ...updated, unaudited: records }, message);
        await d.spool.removeIncoming(id);
        await d.spool.removeReceipt(id);
        scheduler.arrived(id, receivedAt.getTime());
      } else if (settled.length === 0) {
        await d.spool.updateState(id, { ...updated, unaudited: records });
      }
      scheduler.deliver(id, d.now() + AUDIT_RETRY_MS);
      return;
    }
    if (result.accepted.length > 0) {
      d.metrics.delivered.inc(result.accepted.length);
      if (state.kind === 'sanitized') d.metrics.endToEndSeconds.observe((now.getTime() - receivedAt.getTime()) / 1000);
    }
    if (failures.length > 0) d.metrics.bounced.inc(failures.length);
    if (pending.length === 0) {
      await finish(id, from);
      log.info({ delivered: result.accepted.length, failed: failures.length }, 'done');
      return;
    }
    if (from === 'incoming') {
      await d.spool.writeOutgoing(id, updated, message);
      await d.spool.removeIncoming(id);
      await d.spool.removeReceipt(id);
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
