// The next hop is down for a while: everything is accepted, kept, retried, and
// delivered exactly once when it comes back.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, freePort, message, queueList, spoolEmpty, startGateway, startSink, token, transfers, waitFor } from './harness.js';

afterEach(cleanup);

describe('mugaika serve: next hop down', () => {
  it('defers while the next hop is down and delivers all 20 exactly once when it is back', async () => {
    const port = await freePort();
    // The next hop comes from the environment (MUGAIKA_NEXT_HOP overrides the file).
    const gw = await startGateway({ nextHop: '127.0.0.1:1', env: { MUGAIKA_NEXT_HOP: `127.0.0.1:${port}` }, config: { delivery: { retryBaseSeconds: 1 } } });
    const c = client(gw.smtpPort);
    const toks = Array.from({ length: 20 }, () => token());
    const results = await Promise.all(toks.map((tok, i) => c.send({ from: 'a@example.com', to: [`u${i}@city.example.lg.jp`] }, message(tok))));
    for (const r of results) expect(r, r.response).toMatchObject({ ok: true, code: 250 });
    const ids = new Set(results.map((r) => r.queueId));
    expect(ids.size).toBe(20);

    const deferred = await waitFor(
      '20 deferred entries',
      async () => {
        const q = await queueList(gw.dataDir);
        return q.length === 20 && q.every((l) => l.stage === 'outgoing' && l.attempts >= 1) ? q : null;
      },
      15_000,
      200,
    );
    expect(new Set(deferred.map((l) => l.id))).toEqual(ids);
    for (const l of deferred) {
      expect(l.kind).toBe('sanitized');
      expect(l.lastError).toMatch(/ECONNREFUSED|connect/i);
      expect(Date.parse(l.nextAttemptAt!)).toBeGreaterThan(Date.now() - 5000);
    }
    expect(transfers(gw.dataDir).filter((l) => l.event === 'deferred').length).toBeGreaterThanOrEqual(20);
    expect(gw.logs.find((l) => l.msg === 'mugaika gateway started')?.nextHop).toBe(`smtp:127.0.0.1:${port}`);

    const sink = await startSink({ port });
    await waitFor('20 messages at the sink', () => toks.every((tok) => sink.withToken(tok).length > 0), 30_000, 100);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
    for (const [i, tok] of toks.entries()) {
      const got = sink.withToken(tok);
      expect(got, tok).toHaveLength(1);
      expect(got[0]!.to).toEqual([`u${i}@city.example.lg.jp`]);
    }
    expect(sink.messages).toHaveLength(20);
    const delivered = transfers(gw.dataDir).filter((l) => l.event === 'delivered');
    expect(delivered.map((l) => l.queueId).sort()).toEqual([...ids].sort());
  });
});
