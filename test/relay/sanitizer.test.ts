// The relay's worker pool. A message that kills its thread (here: by
// exhausting the thread's heap) is blocked, its original quarantined, and the
// pool goes on with a fresh thread.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLogThread, type AuditLogThread } from '../../src/audit/log-thread.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { openVault } from '../../src/quarantine/vault.js';
import type { Sanitizer } from '../../src/relay/sanitizer.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { eml, tempDir } from '../helpers/run.js';

// The pool loads its worker from dist/ (built by the global setup), as the gateway does.
import { decideIsolation } from '../../src/converters/isolation.js';
const { createSanitizer } = (await import(new URL('../../dist/relay/sanitizer.js', import.meta.url).href)) as typeof import('../../src/relay/sanitizer.js');

const envelope = { mailFrom: 'sender@example.jp', rcptTo: ['staff@city.example.lg.jp'] };

const small = (n: number): Buffer =>
  eml(
    [
      'From: sender@example.jp',
      'To: staff@city.example.lg.jp',
      `Subject: notice ${n}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      `Message-ID: <small-${n}@example.jp>`,
      'Content-Type: text/plain; charset=utf-8',
    ],
    Buffer.from(`会議のお知らせ ${n}\r\n`),
  );

/** 30 MB of text: within the size limit, but more than a 64 MB heap can turn into strings. */
const heapEater = (): Buffer =>
  eml(
    ['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Subject: big', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Message-ID: <big@example.jp>', 'Content-Type: text/plain; charset=utf-8'],
    Buffer.from(`${'x'.repeat(70)}\r\n`.repeat(Math.ceil((30 * 1024 * 1024) / 72))),
  );

/** 96 MB of three-byte lines: the shape scan over them is one synchronous call of several seconds. */
const slowScan = (): Buffer =>
  eml(['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Subject: slow', 'Content-Type: text/plain'], Buffer.from('a\r\n'.repeat(Math.ceil((96 * 1024 * 1024) / 3))));

/** 8 MB of HTML (turning it into text is seconds of one synchronous call) under a hostile Subject: an ESC and 250,000 letters. */
const overrunWithHostileHeader = (): Buffer =>
  eml(
    ['From: sender@example.jp', 'To: staff@city.example.lg.jp', `Subject: hostile \x1b${'a'.repeat(250_000)}`, 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: text/html; charset=utf-8'],
    Buffer.from('<p>para\r\n'.repeat(800_000)),
  );

describe('sanitizer pool', () => {
  let audit: AuditLogThread | undefined;
  let store: Store | undefined;
  let sanitizer: Sanitizer | undefined;
  afterEach(async () => {
    await sanitizer?.close();
    await audit?.close();
    await store?.close();
  });

  const start = async (options: {
    workers: number;
    policy?: typeof defaultPolicy;
    graceMs?: number;
    resourceLimits?: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
  }): Promise<Sanitizer> => {
    const dataDir = tempDir();
    store = await openStore({ dataDir });
    audit = await openAuditLogThread({ dataDir, shared: true });
    const quarantine = await openVault({ dataDir, store, audit, gateway: 'test' });
    sanitizer = createSanitizer({ dataDir, auditChannel: audit.channel!, gateway: 'test', policy: defaultPolicy, isolation: await decideIsolation(defaultPolicy.documents), quarantine, ...options });
    // The thread is up and has sanitized a message before the test's messages arrive.
    expect((await sanitizer.run(small(0), envelope)).verdict).toBe('clean');
    return sanitizer;
  };

  it("blocks a message that exhausts its thread's heap, and the pool goes on with a fresh thread", async () => {
    const pool = await start({ workers: 1, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 } });
    const big = await pool.run(heapEater(), envelope);
    expect(big.verdict).toBe('blocked');
    expect(big.quarantineId).not.toBeNull();
    expect(big.findings).toContainEqual(expect.objectContaining({ code: 'internal-error', detail: expect.stringMatching(/^worker failed: /) }));
    expect((await pool.run(small(1), envelope)).verdict).toBe('clean');
  }, 120_000);

  it('kills the thread of a message that holds it past the budget in one synchronous stretch, blocks it, and goes on', async () => {
    // No deadline check inside the core can stop the scan's synchronous stretch; only the hard budget.
    const policy = { ...defaultPolicy, limits: { ...defaultPolicy.limits, maxMessageBytes: 128 * 1024 * 1024, timeoutMs: 3000 } };
    const pool = await start({ workers: 1, policy, graceMs: 0 });
    const overrun = await pool.run(slowScan(), envelope);
    expect(overrun.verdict).toBe('blocked');
    expect(overrun.quarantineId).not.toBeNull();
    expect(overrun.findings).toContainEqual({ code: 'timeout', detail: 'worker terminated after 3000 ms' });
    expect((await pool.run(small(1), envelope)).verdict).toBe('clean');
  }, 120_000);

  it('blocks an overrun from the main thread without stalling it, whatever the header holds', async () => {
    // The notice of a killed message is built on the main thread (the SMTP
    // loop's, in the gateway). Its header was parsed whole there: this Subject
    // alone held that thread for over a minute.
    const policy = { ...defaultPolicy, limits: { ...defaultPolicy.limits, timeoutMs: 1500 } };
    const pool = await start({ workers: 1, policy, graceMs: 0 });
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    const overrun = await pool.run(overrunWithHostileHeader(), envelope);
    lag.disable();
    expect(overrun.verdict).toBe('blocked');
    expect(overrun.findings[0]?.code).toBe('timeout');
    expect(lag.max / 1e6).toBeLessThan(1000);
    const subject = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(overrun.message!.toString('latin1'))?.[1] ?? '';
    expect(subject.length).toBeGreaterThan(0);
    expect(overrun.message!.length).toBeLessThan(64 * 1024);
  }, 120_000);

  it('a message queued behind one that overruns gets its own budget from when a thread starts it, and goes through', async () => {
    // One thread: the second message waits in the queue for the whole of the first's
    // 3 s budget. Its clock starts only when the fresh thread takes it up.
    const policy = { ...defaultPolicy, limits: { ...defaultPolicy.limits, maxMessageBytes: 128 * 1024 * 1024, timeoutMs: 3000 } };
    const pool = await start({ workers: 1, policy, graceMs: 0 });
    const [overrun, queued] = await Promise.all([pool.run(slowScan(), envelope), pool.run(small(1), envelope)]);
    expect(overrun.findings).toContainEqual({ code: 'timeout', detail: 'worker terminated after 3000 ms' });
    expect(queued.verdict).toBe('clean');
    expect(queued.message!.toString('latin1')).toContain('X-Mugaika-Verdict: clean');
  }, 120_000);
});
