// The relay's scheduler in-process, on a fake clock: concurrency limits, due
// times, retries of a step that throws, and what it counts for /healthz.
import { describe, expect, it } from 'vitest';
import { createScheduler, type Clock, type SchedulerOptions } from '../../src/relay/scheduler.js';
import type { QueueId } from '../../src/spool/types.js';

class FakeClock implements Clock {
  t = Date.parse('2026-12-01T00:00:00Z');
  private ticks: Array<() => void> = [];
  now = (): number => this.t;
  every(_ms: number, fn: () => void): () => void {
    this.ticks.push(fn);
    return () => {
      this.ticks = this.ticks.filter((f) => f !== fn);
    };
  }
  /** Moves time on and runs the ticks, as the interval would. */
  advance(ms: number): void {
    this.t += ms;
    for (const f of this.ticks) f();
  }
}

/** A step whose runs wait until the test lets each one finish (or fail). */
class ControlledStep {
  readonly started: QueueId[] = [];
  private readonly open = new Map<QueueId, { resolve: () => void; reject: (e: Error) => void }>();
  readonly run = (id: QueueId): Promise<void> =>
    new Promise((resolve, reject) => {
      this.started.push(id);
      this.open.set(id, { resolve, reject });
    });
  get running(): number {
    return this.open.size;
  }
  finish(id: QueueId): void {
    this.open.get(id)!.resolve();
    this.open.delete(id);
  }
  fail(id: QueueId): void {
    this.open.get(id)!.reject(new Error('the database is down'));
    this.open.delete(id);
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const ids = (n: number): QueueId[] => Array.from({ length: n }, (_, i) => `Q${String(i).padStart(9, '0')}` as QueueId);

function setup(over: Partial<SchedulerOptions> = {}) {
  const clock = new FakeClock();
  const sanitize = new ControlledStep();
  const deliver = new ControlledStep();
  const failures: string[] = [];
  const s = createScheduler({
    clock,
    sanitizeConcurrency: 2,
    deliveryConcurrency: 3,
    tickMs: 200,
    sanitize: sanitize.run,
    deliver: deliver.run,
    failed: (step, id) => failures.push(`${step} ${id}`),
    retrySanitizeMs: 30_000,
    retryDeliveryMs: () => 60_000,
    ...over,
  });
  s.start();
  return { clock, sanitize, deliver, failures, s };
}

describe('relay scheduler', () => {
  it('sanitizes at most sanitizeConcurrency messages at once, in arrival order', async () => {
    const { sanitize, s } = setup();
    const [a, b, c, d] = ids(4) as [QueueId, QueueId, QueueId, QueueId];
    for (const id of [a, b, c, d]) s.sanitize(id);
    expect(sanitize.started).toEqual([a, b]);
    expect(s.counts().incoming).toBe(4);
    sanitize.finish(a);
    await settle();
    expect(sanitize.started).toEqual([a, b, c]);
    expect(sanitize.running).toBe(2);
  });

  it('delivers each entry at its due time, at most deliveryConcurrency at once', async () => {
    const { clock, deliver, s } = setup();
    const list = ids(5);
    list.forEach((id, i) => s.deliver(id, clock.now() + i * 1000));
    s.pump();
    expect(deliver.started).toEqual([list[0]]);
    clock.advance(2000);
    expect(deliver.started).toEqual(list.slice(0, 3));
    clock.advance(10_000);
    // Five are due, three slots.
    expect(deliver.running).toBe(3);
    expect(s.counts().outgoing).toBe(5);
    deliver.finish(list[0]!);
    await settle();
    expect(deliver.started).toEqual(list.slice(0, 4));
  });

  it('never runs two deliveries of one entry: a due time set while it is busy waits for it', async () => {
    const { clock, deliver, s } = setup();
    const [a] = ids(1) as [QueueId];
    s.deliver(a, clock.now());
    s.pump();
    s.deliver(a, clock.now());
    clock.advance(200);
    expect(deliver.started).toEqual([a]);
    // deliverIfIdle does nothing while it is busy.
    s.deliverIfIdle(a, clock.now());
    deliver.finish(a);
    await settle();
    // The due time set during the run is served after it.
    expect(deliver.started).toEqual([a, a]);
  });

  it('a first attempt started from memory takes a delivery slot, and is refused when none is free', async () => {
    const { clock, deliver, s } = setup({ deliveryConcurrency: 1 });
    const [a, b] = ids(2) as [QueueId, QueueId];
    let ran = 0;
    expect(
      s.tryDeliverNow(
        a,
        async () => void ran++,
        () => undefined,
      ),
    ).toBe(true);
    expect(
      s.tryDeliverNow(
        b,
        async () => void ran++,
        () => undefined,
      ),
    ).toBe(false);
    s.deliver(b, clock.now());
    await settle();
    await settle();
    expect(ran).toBe(1);
    expect(deliver.started).toEqual([b]);
  });

  it('retries a step that throws: sanitizing after retrySanitizeMs, a delivery after retryDeliveryMs', async () => {
    const { clock, sanitize, deliver, failures, s } = setup();
    const [a, b] = ids(2) as [QueueId, QueueId];
    s.sanitize(a);
    s.deliver(b, clock.now());
    s.pump();
    sanitize.fail(a);
    deliver.fail(b);
    await settle();
    expect(failures).toEqual([`sanitizing ${a}`, `delivery ${b}`]);
    // Waiting for the quarantine is counted as incoming (and as waiting).
    expect(s.counts()).toMatchObject({ incoming: 1, waiting: 1, outgoing: 1 });
    clock.advance(29_800);
    expect(sanitize.started).toEqual([a]);
    clock.advance(400);
    expect(sanitize.started).toEqual([a, a]);
    clock.advance(30_000);
    expect(deliver.started).toEqual([b, b]);
  });

  it('stops taking work, and waits for what is under way', async () => {
    const { clock, sanitize, s } = setup();
    const [a, b] = ids(2) as [QueueId, QueueId];
    s.sanitize(a);
    let stopped = false;
    const stop = s.stop().then(() => {
      stopped = true;
    });
    s.sanitize(b);
    clock.advance(1000);
    await settle();
    expect(stopped).toBe(false);
    expect(sanitize.started).toEqual([a]);
    expect(
      s.tryDeliverNow(
        b,
        async () => undefined,
        () => undefined,
      ),
    ).toBe(false);
    sanitize.finish(a);
    await stop;
    expect(stopped).toBe(true);
  });

  it('reports the age of the oldest entry until it leaves', () => {
    const { clock, s } = setup();
    const [a, b] = ids(2) as [QueueId, QueueId];
    s.arrived(a, clock.now() - 60_000);
    s.arrived(b, clock.now() - 5_000);
    expect(s.counts().oldestAgeSeconds).toBe(60);
    s.forget(a);
    expect(s.counts().oldestAgeSeconds).toBe(5);
  });
});
