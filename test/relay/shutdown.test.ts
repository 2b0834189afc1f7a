// SIGTERM: stop taking mail, let work under way finish, keep the rest in the
// spool, exit 0 promptly; the next start delivers what was kept.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, cli, client, freePort, message, queueList, spoolEmpty, startGateway, startSink, Talk, token, waitFor } from './harness.js';

afterEach(cleanup);

describe('mugaika serve: graceful shutdown', () => {
  it('SIGTERM with messages queued: exit 0 within seconds, the spool kept, delivered after the restart', async () => {
    const port = await freePort();
    const gw = await startGateway({ nextHop: `127.0.0.1:${port}`, config: { delivery: { retryBaseSeconds: 30 } } });
    const c = client(gw.smtpPort);
    const toks = Array.from({ length: 5 }, () => token());
    for (const r of await Promise.all(toks.map((tok) => c.send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(tok))))) {
      expect(r.ok, r.response).toBe(true);
    }
    await waitFor('5 deferred entries', async () => {
      const q = await queueList(gw.dataDir);
      return q.length === 5 && q.every((l) => l.attempts >= 1);
    });
    // A client that stays connected (an idle pooled session) must not hold the shutdown up.
    const idle = await Talk.open(gw.smtpPort);
    expect(await idle.cmd('EHLO idle.example')).toMatch(/^250/);

    const t0 = Date.now();
    const exit = await Promise.race([gw.stop(), new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(exit, `no exit within 10 s; log: ${JSON.stringify(gw.logs.slice(-3))}`).not.toBeNull();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(gw.logs.at(-1)?.msg).toBe('stopped');
    // The idle client was told, and let go.
    expect(idle.closed).toBe(true);
    expect(gw.stderr()).toBe('');

    const kept = await queueList(gw.dataDir);
    expect(kept.map((l) => l.stage)).toEqual(['outgoing', 'outgoing', 'outgoing', 'outgoing', 'outgoing']);

    const sink = await startSink({ port });
    const again = await startGateway({ dataDir: gw.dataDir, nextHop: `127.0.0.1:${port}`, config: { delivery: { retryBaseSeconds: 30 } } });
    // Deferred entries keep their retry time across a restart; `queue retry` makes them due.
    await waitFor('the restarted gateway', () => again.smtpPort > 0);
    await cli(['queue', 'retry', '--data-dir', again.dataDir]);
    await waitFor('all 5 at the sink', () => toks.every((tok) => sink.withToken(tok).length === 1), 15_000);
    await waitFor('an empty spool', () => spoolEmpty(again.dataDir));
    expect(sink.messages).toHaveLength(5);
  });

  it('SIGTERM in the middle of a message: the client may finish it, gets its 250, then a 421', async () => {
    const gw = await startGateway({ nextHop: `127.0.0.1:${await freePort()}`, config: { delivery: { retryBaseSeconds: 30 } } });
    const t = await Talk.open(gw.smtpPort);
    await t.cmd('EHLO client.example');
    await t.cmd('MAIL FROM:<a@example.com>');
    await t.cmd('RCPT TO:<u@city.example.lg.jp>');
    expect(await t.cmd('DATA')).toMatch(/^354/);
    const raw = message(token());
    t.write(raw.subarray(0, 200));
    gw.kill('SIGTERM');
    await waitFor('shutdown under way', () => gw.logs.some((l) => l.msg.startsWith('stopping')));
    // A new client is not served any more.
    const late = await Talk.open(gw.smtpPort, false).then(
      (x) => x.reply(),
      () => 'refused',
    );
    expect(late).toMatch(/^(421 |refused$|$)/);
    t.write(raw.subarray(200));
    expect(await t.cmd('\r\n.')).toMatch(/^250 /);
    expect(await t.reply()).toMatch(/^421 /);
    const exit = await Promise.race([gw.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    const kept = await queueList(gw.dataDir);
    expect(kept).toHaveLength(1);
  });

  it('SIGTERM while the next hop sits on the final dot: exit within seconds, the message kept and delivered after the restart', async () => {
    const stalled = await startSink({ dataDelayMs: 30_000 });
    const gw = await startGateway({ nextHop: `127.0.0.1:${stalled.port}` });
    const tok = token();
    expect((await client(gw.smtpPort).send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(tok))).ok).toBe(true);
    await waitFor('the delivery under way', () => stalled.pendingData() === 1, 10_000);
    const t0 = Date.now();
    const exit = await Promise.race([gw.stop(), new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    expect(exit, 'no exit within 15 s').toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const kept = await queueList(gw.dataDir);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ stage: 'outgoing', attempts: 1 });

    const sink = await startSink();
    await startGateway({ dataDir: gw.dataDir, nextHop: `127.0.0.1:${sink.port}` });
    await waitFor('the delivery after the restart', () => sink.withToken(tok).length === 1, 15_000);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
  });
});
