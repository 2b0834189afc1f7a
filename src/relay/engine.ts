// The relay's work loop: incoming entries are sanitized in workers and become
// deliveries; deliveries are made, retried with backoff, or bounced. The
// scheduler (scheduler.ts) decides when, the steps (steps.ts) what; this joins
// them to the spool and to the operator's requests in spool/control/.
import type { Logger } from 'pino';
import type { Policy } from '../core/policy.js';
import type { Carrier } from '../delivery/types.js';
import type { Metrics, QueueSnapshot } from '../ops/metrics.js';
import type { Spool } from '../spool/spool.js';
import type { QueueId } from '../spool/types.js';
import { backoffMs, type RetryPolicy } from './retry.js';
import type { SenderAuthenticator } from '../sender/authenticate.js';
import type { Sanitizer } from './sanitizer.js';
import { createScheduler, systemClock, type Clock } from './scheduler.js';
import { createSteps, QUARANTINE_RETRY_MS, type Recovered, type Requests } from './steps.js';
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
  /** What the transfer log tells of the entries in the spool (from before a crash). */
  recovered?: Recovered;
  /** The system clock unless a test gives its own. */
  clock?: Clock;
  /** Checks senders at receipt (src/sender/); absent or null: not checked. */
  authenticator?: SenderAuthenticator | null;
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

const TICK_MS = 200;

export function createEngine(d: EngineDeps): Engine {
  const clock = d.clock ?? systemClock;
  const requests: Requests = { retry: new Set(), bounce: new Set() };
  // The steps and the scheduler call each other: the scheduler runs the steps,
  // the steps tell the scheduler what comes next.
  const run = { sanitize: (_id: QueueId): Promise<void> => Promise.resolve(), deliver: (_id: QueueId): Promise<void> => Promise.resolve() };
  const scheduler = createScheduler({
    clock,
    sanitizeConcurrency: d.sanitizeConcurrency,
    deliveryConcurrency: d.deliveryConcurrency,
    tickMs: TICK_MS,
    sanitize: (id) => run.sanitize(id),
    deliver: (id) => run.deliver(id),
    failed: (step, id, err) => d.log.error({ queueId: id, err: err instanceof Error ? err.message : String(err) }, `${step} failed; will retry`),
    retrySanitizeMs: QUARANTINE_RETRY_MS,
    retryDeliveryMs: () => backoffMs(1, d.retry),
  });
  const steps = createSteps({ ...d, now: () => clock.now() }, scheduler, requests, d.recovered);
  run.sanitize = steps.sanitize;
  run.deliver = steps.deliver;

  async function rescan(): Promise<void> {
    const outgoing = new Set(await d.spool.listOutgoing());
    for (const { id, kind } of await d.spool.listControl()) {
      if (outgoing.has(id)) (kind === 'bounce' ? requests.bounce : requests.retry).add(id);
      // Not sanitized yet, or on its first attempt: the request waits for it.
      else if (kind === 'bounce' && (scheduler.busy(id) || (await d.spool.hasIncoming(id)))) requests.bounce.add(id);
      else await d.spool.removeControl(id, kind); // the entry is gone: nothing to do
    }
    for (const id of outgoing) {
      if (scheduler.busy(id)) continue; // the delivery under way looks at the requests when it is done
      const state = await d.spool.readState(id);
      if (!state) continue;
      const wanted = requests.retry.has(id) || requests.bounce.has(id) || state.bounceRequested;
      scheduler.deliver(id, wanted ? clock.now() : new Date(state.nextAttemptAt).getTime());
      scheduler.arrived(id, new Date(state.receivedAt).getTime());
    }
    scheduler.pump();
  }

  return {
    async start() {
      await rescan();
      for (const id of await d.spool.listIncoming()) {
        steps.recovered.add(id);
        scheduler.arrived(id, clock.now());
        scheduler.sanitize(id);
      }
      scheduler.start();
    },
    accepted(id, receivedAt) {
      scheduler.arrived(id, receivedAt.getTime());
      scheduler.sanitize(id);
    },
    rescan,
    snapshot() {
      const c = scheduler.counts();
      return { incoming: c.incoming, waiting: c.waiting, outgoing: c.outgoing, oldestAgeSeconds: c.oldestAgeSeconds };
    },
    stop: () => scheduler.stop(),
  };
}
