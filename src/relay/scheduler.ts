// When each spool entry is worked on: the relay's queues, concurrency limits
// and due times, apart from what working on an entry means (steps.ts), as
// Haraka keeps its queue and timer queue apart from its delivery code. Time
// comes from a Clock, so all of this runs in a test with a fake one.
//
//   sanitize queue ──(a free sanitize slot)──▶ sanitize step
//   sanitize later ──(due)──▶ sanitize queue        (the quarantine was unavailable)
//   delivery due   ──(due, a free delivery slot, not busy)──▶ delivery step
//
// A step that throws is retried: sanitizing after `retrySanitizeMs`, a
// delivery after `retryDeliveryMs()`. Nothing here touches the spool.
import type { QueueId } from '../spool/types.js';

/** Milliseconds since the epoch, and a way to be called back regularly. */
export interface Clock {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};

export interface SchedulerOptions {
  clock: Clock;
  sanitizeConcurrency: number;
  deliveryConcurrency: number;
  /** How often due times are looked at (the relay uses 200 ms). */
  tickMs: number;
  sanitize(id: QueueId): Promise<void>;
  deliver(id: QueueId): Promise<void>;
  /** A step threw: it is retried; this only reports it. */
  failed(step: 'sanitizing' | 'delivery', id: QueueId, err: unknown): void;
  retrySanitizeMs: number;
  retryDeliveryMs(): number;
}

export interface QueueCounts {
  /** Waiting to be sanitized, being sanitized, or waiting to try again (the quarantine was unavailable). */
  incoming: number;
  /** Of those, waiting to try again. */
  waiting: number;
  /** Due for delivery, or being delivered. */
  outgoing: number;
  oldestAgeSeconds: number;
}

export interface Scheduler {
  /** Sanitize `id` as soon as a slot is free, or not before `at`. */
  sanitize(id: QueueId, at?: number): void;
  /** Deliver `id` at `at` (replacing an earlier due time). A delivery under way is not doubled: `id` is taken up again after it. */
  deliver(id: QueueId, at: number): void;
  /** As `deliver`, unless `id` is being delivered or already due. */
  deliverIfIdle(id: QueueId, at: number): void;
  /**
   * Runs `work` as the delivery of `id` now if a delivery slot is free; false
   * (nothing started) otherwise. `retry` is called if `work` throws.
   */
  tryDeliverNow(id: QueueId, work: () => Promise<void>, retry: () => void): boolean;
  busy(id: QueueId): boolean;
  /** When the message behind `id` arrived, for the queue's age. */
  arrived(id: QueueId, at: number): void;
  /** `id` has left the spool. */
  forget(id: QueueId): void;
  /** Starts what can start now. */
  pump(): void;
  counts(): QueueCounts;
  start(): void;
  /** No new work; resolves once what is under way has finished. */
  stop(): Promise<void>;
}

export function createScheduler(o: SchedulerOptions): Scheduler {
  const queue: QueueId[] = [];
  const later = new Map<QueueId, number>();
  const due = new Map<QueueId, number>();
  const busy = new Set<QueueId>();
  const ages = new Map<QueueId, number>();
  const inFlight = new Set<Promise<void>>();
  let sanitizing = 0;
  let delivering = 0;
  let stopping = false;
  let cancelTick: (() => void) | undefined;

  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => {
      inFlight.delete(p);
      pump();
    });
  };

  const guarded = async (step: 'sanitizing' | 'delivery', id: QueueId, work: () => Promise<void>, retry: () => void): Promise<void> => {
    try {
      await work();
    } catch (err) {
      o.failed(step, id, err);
      retry();
    }
  };

  const retryDelivery = (id: QueueId) => (): void => {
    due.set(id, o.clock.now() + o.retryDeliveryMs());
  };

  function startDelivery(id: QueueId, work: () => Promise<void>, retry: () => void): void {
    busy.add(id);
    delivering++;
    track(
      guarded('delivery', id, work, retry).finally(() => {
        busy.delete(id);
        delivering--;
      }),
    );
  }

  function pump(): void {
    if (stopping) return;
    const now = o.clock.now();
    for (const [id, at] of later) {
      if (at > now) continue;
      later.delete(id);
      queue.push(id);
    }
    while (sanitizing < o.sanitizeConcurrency && queue.length > 0) {
      const id = queue.shift()!;
      sanitizing++;
      track(
        guarded(
          'sanitizing',
          id,
          () => o.sanitize(id),
          () => later.set(id, o.clock.now() + o.retrySanitizeMs),
        ).finally(() => {
          sanitizing--;
        }),
      );
    }
    for (const [id, at] of due) {
      if (delivering >= o.deliveryConcurrency) break;
      if (at > now || busy.has(id)) continue;
      due.delete(id);
      startDelivery(id, () => o.deliver(id), retryDelivery(id));
    }
  }

  return {
    sanitize(id, at) {
      if (at !== undefined && at > o.clock.now()) later.set(id, at);
      else queue.push(id);
      pump();
    },
    deliver(id, at) {
      due.set(id, at);
    },
    deliverIfIdle(id, at) {
      if (!busy.has(id) && !due.has(id)) due.set(id, at);
    },
    tryDeliverNow(id, work, retry) {
      if (stopping || delivering >= o.deliveryConcurrency) return false;
      startDelivery(id, work, retry);
      return true;
    },
    busy: (id) => busy.has(id),
    arrived(id, at) {
      ages.set(id, at);
    },
    forget(id) {
      ages.delete(id);
    },
    pump,
    counts() {
      const now = o.clock.now();
      let oldest = now;
      for (const t of ages.values()) oldest = Math.min(oldest, t);
      return { incoming: queue.length + sanitizing + later.size, waiting: later.size, outgoing: due.size + delivering, oldestAgeSeconds: (now - oldest) / 1000 };
    },
    start() {
      cancelTick = o.clock.every(o.tickMs, pump);
      pump();
    },
    async stop() {
      stopping = true;
      cancelTick?.();
      // Work under way finishes; everything else stays in the spool for the next start.
      await Promise.allSettled([...inFlight]);
    },
  };
}
