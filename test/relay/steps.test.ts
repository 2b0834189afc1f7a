// The relay's engine in-process, on a fake clock, with the real spool, the
// real core (run here rather than on a worker thread), a real quarantine and
// a real audit log on SQLite. The next hop is scripted, the audit log can be
// made to fail as a database that is down does, and a "crash" freezes the
// engine at a chosen step (every later spool, log and carrier call hangs, as
// after kill -9) before a second engine starts on the same files. What must
// hold: every recipient gets the message exactly once, every delivery is in
// the audit log exactly once, one verdict and one quarantine item per message.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog, type AuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import { noDocuments } from '../../src/converters/unavailable.js';
import type { QuarantineId } from '../../src/core/ports.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { sanitize } from '../../src/core/sanitize.js';
import type { AttemptResult, Carrier } from '../../src/delivery/types.js';
import type { Envelope } from '../../src/model/envelope.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { openVault, type Vault } from '../../src/quarantine/vault.js';
import { createEngine, type Engine } from '../../src/relay/engine.js';
import { reusing } from '../../src/relay/reuse-quarantine.js';
import type { Sanitizer } from '../../src/relay/sanitizer.js';
import type { Clock } from '../../src/relay/scheduler.js';
import { createTransferLog, recoveredFromLog, type TransferLog } from '../../src/relay/transfer-log.js';
import { openSpool, type Spool } from '../../src/spool/spool.js';
import type { QueueId } from '../../src/spool/types.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { eml, tempDir } from '../helpers/run.js';

class FakeClock implements Clock {
  t = Date.parse('2026-12-01T00:00:00Z');
  private ticks: Array<() => void> = [];
  now = (): number => this.t;
  every(_ms: number, fn: () => void): () => void {
    this.ticks.push(fn);
    return () => (this.ticks = this.ticks.filter((f) => f !== fn));
  }
  advance(ms: number): void {
    this.t += ms;
    for (const f of this.ticks) f();
  }
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
/** Real time for the real parts (the core, fsync) to get on; the engine's own clock stands still. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 25));
/** Waits (real time) until `cond` holds. */
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await settle();
  }
}

/** What is frozen after a crash: every call hangs from then on. */
class Crash {
  dead = false;
  guard<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (t, key, receiver) => {
        const v = Reflect.get(t, key, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => (this.dead ? never() : (v as (...a: unknown[]) => unknown).apply(t, args));
      },
    });
  }
}

/** The LGWAN-side MTA: accepts (or answers as scripted) and keeps what it got. */
class NextHop implements Carrier {
  readonly name = 'test:next-hop';
  readonly got: Array<{ to: string; message: Buffer }> = [];
  answer: (env: Envelope) => 'accept' | 'temporary' | 'permanent' = () => 'accept';
  /** Runs after the next hop has answered, before the engine hears it. */
  afterAnswer: () => void = () => undefined;
  async send(env: Envelope, raw: Buffer): Promise<AttemptResult> {
    const r: AttemptResult = { accepted: [], temporary: [], permanent: [] };
    const how = this.answer(env);
    for (const rcpt of env.rcptTo) {
      if (how === 'accept') {
        r.accepted.push(rcpt);
        this.got.push({ to: rcpt, message: raw });
      } else (how === 'temporary' ? r.temporary : r.permanent).push({ rcpt, code: how === 'temporary' ? 451 : 550, status: null, reason: how });
    }
    this.afterAnswer();
    return r;
  }
  async close(): Promise<void> {}
}

interface World {
  dataDir: string;
  store: Store;
  audit: AuditLog;
  vault: Vault;
  clock: FakeClock;
  hop: NextHop;
  bounces: NextHop;
  /** While true, every append and read of the transfer log fails, as with the database down. */
  down: { value: boolean };
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.audit.close();
    await w.store.close();
  }
});

async function world(): Promise<World> {
  const dataDir = tempDir('mugaika-steps-');
  const store = await openSqliteStore(dataDir);
  const audit = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir, autoCheckpoint: false });
  const vault = await openVault({ dataDir, store, audit, env: {} });
  const w: World = { dataDir, store, audit, vault, clock: new FakeClock(), hop: new NextHop(), bounces: new NextHop(), down: { value: false } };
  worlds.push(w);
  return w;
}

function failing(t: TransferLog, down: { value: boolean }): TransferLog {
  const refuse = (): Promise<never> => Promise.reject(new Error('connection to the database lost'));
  return { record: (...r) => (down.value ? refuse() : t.record(...r)), missing: (r) => (down.value ? refuse() : t.missing(r)) };
}

/** An engine on the world's files; `crash` freezes it. */
async function engine(w: World, crash = new Crash()): Promise<{ engine: Engine; spool: Spool; crash: Crash }> {
  const spool = await openSpool(w.dataDir, { recover: true });
  const recovered = await recoveredFromLog(w.store, await spool.listOutgoing(), await spool.listIncoming());
  const deps = { images: createSharpTranscoder(), documents: noDocuments, now: () => new Date(w.clock.now()), randomToken: () => randomUUID() };
  const sanitizer: Sanitizer = {
    run: (raw, envelope, options = {}) => sanitize({ raw, envelope }, defaultPolicy, { ...deps, quarantine: reusing(w.vault, options.quarantineId as QuarantineId | null) }),
    close: async () => undefined,
  };
  const e = createEngine({
    spool: crash.guard(spool),
    sanitizer: crash.guard(sanitizer),
    nextHop: crash.guard(w.hop),
    bounceCarrier: crash.guard(w.bounces),
    transfers: crash.guard(failing(createTransferLog(w.audit, 'gateway:test', w.store), w.down)),
    metrics: createMetrics(() => ({ incoming: 0, waiting: 0, outgoing: 0, oldestAgeSeconds: 0 })),
    log: pino({ level: 'silent' }),
    policy: defaultPolicy,
    retry: { retryBaseSeconds: 60, maxAgeHours: 120 },
    hostname: 'gw.test.invalid',
    sanitizeConcurrency: 2,
    deliveryConcurrency: 2,
    recovered,
    clock: w.clock,
  });
  await e.start();
  return { engine: e, spool, crash };
}

const RCPTS = ['a@city.example.lg.jp', 'b@city.example.lg.jp'];

/** A message with a link (so it has a finding and a quarantine item), accepted into incoming/ as SMTP would. */
async function accept(spool: Spool, e: Engine, n = 1): Promise<QueueId> {
  const raw = eml(['From: sender@example.com', `To: ${RCPTS.join(', ')}`, `Subject: message ${n}`, 'Date: Tue, 01 Dec 2026 09:00:00 +0900'], `see https://example.com/${n}\r\n`);
  const { Readable } = await import('node:stream');
  const id = await spool.accept(
    { mailFrom: 'sender@example.com', rcptTo: RCPTS, clientAddress: '127.0.0.1', heloName: 'client', receivedAt: new Date().toISOString() },
    Readable.from([raw]),
    50 * 1024 * 1024,
  );
  if (id === 'too-big') throw new Error('too big');
  e.accepted(id, new Date());
  return id;
}

const actions = async (w: World, id: string): Promise<string[]> => (await w.store.searchAudit({ objects: [id] })).map((r) => r.action);
const deliveredTo = async (w: World, id: string): Promise<string[]> =>
  (await w.store.searchAudit({ objects: [id], actions: ['delivered'] })).flatMap((r) => (JSON.parse(r.details) as { to: string[] }).to).sort();

async function drain(w: World, spool: Spool, rounds = 200): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await settle();
    const left = (await spool.listIncoming()).length + (await spool.listOutgoing()).length;
    if (left === 0) return;
    w.clock.advance(30_000);
  }
  throw new Error(`the spool did not empty: ${JSON.stringify({ incoming: await spool.listIncoming(), outgoing: await spool.listOutgoing() })}`);
}

function expectOnce(w: World): void {
  const per = new Map<string, number>();
  for (const g of w.hop.got) per.set(g.to, (per.get(g.to) ?? 0) + 1);
  expect(Object.fromEntries(per)).toEqual(Object.fromEntries(RCPTS.map((r) => [r, 1])));
}

describe('relay engine: faults in the middle of a delivery', () => {
  it('delivers and records a message once, and the spool is left empty', async () => {
    const w = await world();
    const { engine: e, spool } = await engine(w);
    const id = await accept(spool, e);
    await drain(w, spool);
    expectOnce(w);
    expect(await actions(w, id)).toEqual(['received', 'verdict', 'delivered']);
    expect(await deliveredTo(w, id)).toEqual(RCPTS);
    expect(await w.store.listItems({})).toHaveLength(1);
  });

  it('a next hop that keeps answering 451 is tried again with doubling waits, then delivered once it takes it', async () => {
    const w = await world();
    const { engine: e, spool } = await engine(w);
    const attempts: number[] = [];
    w.hop.answer = () => {
      attempts.push(w.clock.now());
      return attempts.length < 4 ? 'temporary' : 'accept';
    };
    const id = await accept(spool, e);
    await until('the first attempt', () => attempts.length === 1);
    // Minute by minute on the fake clock until the fourth attempt.
    for (let i = 0; i < 20 && attempts.length < 4; i++) {
      w.clock.advance(60_000);
      await settle();
      await settle();
    }
    const gaps = attempts.slice(1).map((t, i) => (t - attempts[i]!) / 60_000);
    // retryBaseSeconds 60, doubling, ±10 % jitter, looked at once a minute here.
    expect(gaps).toHaveLength(3);
    expect(gaps[0]).toBeGreaterThanOrEqual(1);
    expect(gaps[0]).toBeLessThanOrEqual(2);
    expect(gaps[1]).toBeGreaterThanOrEqual(2);
    expect(gaps[1]).toBeLessThanOrEqual(3);
    expect(gaps[2]).toBeGreaterThanOrEqual(4);
    expect(gaps[2]).toBeLessThanOrEqual(6);
    await drain(w, spool);
    expectOnce(w);
    expect(await actions(w, id)).toEqual(['received', 'verdict', 'deferred', 'deferred', 'deferred', 'delivered']);
  });

  it('the audit log fails after the next hop said 250: nothing is sent again, and the delivery is recorded once it is back', async () => {
    const w = await world();
    const { engine: e, spool } = await engine(w);
    w.hop.afterAnswer = () => {
      w.down.value = true;
    };
    const id = await accept(spool, e);
    await until('the first attempt', () => w.hop.got.length === RCPTS.length);
    await until('the entry kept in outgoing/', async () => (await spool.listOutgoing()).length === 1);
    for (let i = 0; i < 10; i++) {
      w.clock.advance(60_000);
      await settle();
    }
    // Down all this while: delivered once, not recorded, still in the spool.
    expectOnce(w);
    expect(await actions(w, id)).toEqual(['received', 'verdict']);
    expect(await spool.listOutgoing()).toEqual([id]);
    w.hop.afterAnswer = () => undefined;
    w.down.value = false;
    await drain(w, spool);
    expectOnce(w);
    expect(await actions(w, id)).toEqual(['received', 'verdict', 'delivered']);
    expect(await deliveredTo(w, id)).toEqual(RCPTS);
  });

  it('the audit log is down when the verdict is to be recorded: not sanitized again, delivered only after it is recorded', async () => {
    const w = await world();
    const { engine: e, spool } = await engine(w);
    w.down.value = true;
    const id = await accept(spool, e);
    await until('the entry kept in outgoing/', async () => (await spool.listOutgoing()).length === 1);
    for (let i = 0; i < 5; i++) {
      w.clock.advance(60_000);
      await settle();
    }
    expect(w.hop.got).toEqual([]);
    w.down.value = false;
    await drain(w, spool);
    expectOnce(w);
    expect(await actions(w, id)).toEqual(['received', 'verdict', 'delivered']);
    expect(await w.store.listItems({})).toHaveLength(1);
  });

  it('a permanent refusal while the audit log is down: one bounce, recorded once', async () => {
    const w = await world();
    const { engine: e, spool } = await engine(w);
    w.hop.answer = () => 'permanent';
    w.hop.afterAnswer = () => {
      w.down.value = true;
    };
    const id = await accept(spool, e);
    await until('the bounce', async () => (await spool.listOutgoing()).length >= 1);
    for (let i = 0; i < 6; i++) {
      w.clock.advance(60_000);
      await settle();
    }
    w.hop.afterAnswer = () => undefined;
    w.down.value = false;
    await drain(w, spool);
    expect(w.hop.got).toEqual([]);
    expect(w.bounces.got.map((g) => g.to)).toEqual(['sender@example.com']);
    expect((await actions(w, id)).filter((a) => a === 'bounced')).toHaveLength(1);
  });

  // Where a kill -9 can land during a first attempt, after the verdict is recorded.
  const crashes: Array<[string, (w: World, c: Crash, spool: Spool) => void]> = [
    [
      'while the next hop is still answering',
      (w, c) => {
        w.hop.send = () => {
          c.dead = true;
          return never();
        };
      },
    ],
    [
      'after the next hop said 250 and the receipt is on disk',
      (_w, c, spool) => {
        const write = spool.writeReceipt.bind(spool);
        spool.writeReceipt = async (id, r) => {
          await write(id, r);
          c.dead = true;
        };
      },
    ],
    [
      'after the delivery is recorded, before the spool is cleared',
      (_w, c, spool) => {
        const remove = spool.removeIncoming.bind(spool);
        let first = true;
        spool.removeIncoming = async (id) => {
          if (!first) return remove(id);
          first = false;
          c.dead = true;
          return never();
        };
      },
    ],
  ];
  for (const [when, arm] of crashes) {
    it(`a crash ${when}: after the restart, one verdict, one quarantine item, each recipient once`, async () => {
      const w = await world();
      const crash = new Crash();
      const first = await engine(w, crash);
      arm(w, crash, first.spool);
      const id = await accept(first.spool, first.engine);
      await until('the crash', () => crash.dead);
      // What was under way when it died stays frozen.
      await settle();
      // The restart: a new engine on the same files; the next hop answers normally again.
      const fresh = new NextHop();
      fresh.got.push(...w.hop.got);
      w.hop = fresh;
      const second = await engine(w);
      await drain(w, second.spool);
      expectOnce(w);
      const recorded = await actions(w, id);
      expect(recorded.filter((a) => a === 'verdict')).toHaveLength(1);
      expect(recorded.filter((a) => a === 'received')).toHaveLength(1);
      expect(await deliveredTo(w, id)).toEqual(RCPTS);
      expect(await w.store.listItems({})).toHaveLength(1);
    });
  }
});
