// `mugaika queue list|retry|bounce` against a running gateway.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, cli, client, freePort, message, queueList, spoolEmpty, spoolFiles, startGateway, startSink, Talk, token, transfers, waitFor, type QueueLine } from './harness.js';

afterEach(cleanup);

const entry = async (dataDir: string, id: string): Promise<QueueLine | undefined> => (await queueList(dataDir)).find((l) => l.id === id);

describe('mugaika queue against a running gateway', () => {
  it('retry makes an entry due now; bounce sends a DSN through the bounce relay and empties the spool', async () => {
    const relay = await startSink();
    const down = await freePort();
    // Long backoff: without `queue retry` there is no second attempt within the test.
    const gw = await startGateway({ nextHop: `127.0.0.1:${down}`, config: { delivery: { retryBaseSeconds: 60, bounceRelay: `127.0.0.1:${relay.port}` } } });
    const c = client(gw.smtpPort);
    const a = await c.send({ from: 'alice@example.com', to: ['x@city.example.lg.jp'] }, message(token()));
    const b = await c.send({ from: 'bob@example.com', to: ['y@city.example.lg.jp', 'z@city.example.lg.jp'] }, message(token()));
    const [ida, idb] = [a.queueId!, b.queueId!];
    expect(ida && idb).toBeTruthy();
    await waitFor('both deferred once', async () => (await entry(gw.dataDir, ida))?.attempts === 1 && (await entry(gw.dataDir, idb))?.attempts === 1, 15_000, 200);
    const before = (await entry(gw.dataDir, ida))!;
    expect(Date.parse(before.nextAttemptAt!)).toBeGreaterThan(Date.now() + 30_000);

    const r1 = await cli(['queue', 'retry', ida, '--data-dir', gw.dataDir]);
    expect(r1.stdout).toBe('1 entries due now\n');
    expect(r1.code).toBe(0);
    await waitFor('a second attempt for the retried entry', async () => (await entry(gw.dataDir, ida))?.attempts === 2, 10_000, 200);
    expect((await entry(gw.dataDir, idb))?.attempts).toBe(1);

    // Without ids: every entry.
    expect((await cli(['queue', 'retry', '--data-dir', gw.dataDir])).stdout).toBe('2 entries due now\n');
    await waitFor('one more attempt for both', async () => (await entry(gw.dataDir, ida))?.attempts === 3 && (await entry(gw.dataDir, idb))?.attempts === 2, 10_000, 200);

    // Bounce b: a DSN for both its recipients to bob, through the relay; a stays.
    const r2 = await cli(['queue', 'bounce', idb, '--data-dir', gw.dataDir]);
    expect(r2.stdout).toBe('1 entries will be bounced\n');
    await waitFor('the DSN', () => relay.messages.length === 1, 10_000);
    const dsn = relay.messages[0]!;
    expect(dsn.from).toBe('');
    expect(dsn.to).toEqual(['bob@example.com']);
    const raw = dsn.raw.toString('latin1');
    expect(raw).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status;/im);
    expect(raw).toContain('Final-Recipient: rfc822; y@city.example.lg.jp');
    expect(raw).toContain('Final-Recipient: rfc822; z@city.example.lg.jp');
    expect(raw).toContain('mugaika queue bounce');
    await waitFor('only a left', async () => {
      const q = await queueList(gw.dataDir);
      return q.length === 1 && q[0]!.id === ida;
    });

    // An unknown id changes nothing; then bounce a as well: the spool is empty.
    expect((await cli(['queue', 'bounce', 'NOSUCHID0000', '--data-dir', gw.dataDir])).stdout).toBe('0 entries will be bounced\n');
    await cli(['queue', 'bounce', ida, '--data-dir', gw.dataDir]);
    await waitFor('the second DSN', () => relay.messages.length === 2, 10_000);
    expect(relay.messages[1]!.to).toEqual(['alice@example.com']);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
    expect((await cli(['queue', 'list', '--data-dir', gw.dataDir])).stdout).toBe('0 entries\n');
    const bounced = transfers(gw.dataDir)
      .filter((l) => l.event === 'bounced')
      .map((l) => l.queueId);
    expect(bounced.sort()).toEqual([ida, idb].sort());
  });

  it('queue list while a message is coming in does not disturb it', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}` });
    const t = await Talk.open(gw.smtpPort);
    await t.cmd('EHLO client.example');
    await t.cmd('MAIL FROM:<a@example.com>');
    await t.cmd('RCPT TO:<u@city.example.lg.jp>');
    expect(await t.cmd('DATA')).toMatch(/^354/);
    const tok = token();
    const raw = message(tok, { bodyBytes: 200_000 });
    t.write(raw.subarray(0, 100_000));
    // The half-received message is in spool/tmp…
    await waitFor('the message in spool/tmp', () => spoolFiles(gw.dataDir).tmp.length === 1);
    // …when an operator looks at the queue.
    const list = await cli(['queue', 'list', '--data-dir', gw.dataDir]);
    expect(list.code, list.stderr).toBe(0);
    expect(spoolFiles(gw.dataDir).tmp).toHaveLength(1);
    t.write(raw.subarray(100_000));
    expect(await t.cmd('\r\n.')).toMatch(/^250 /);
    await waitFor('delivery', () => sink.withToken(tok).length === 1);
  });

  it('queue bounce during a delivery attempt is not lost', async () => {
    // The next hop takes a while, then says "try later".
    const sink = await startSink({ data: () => ({ code: 451, message: '4.3.0 busy, try later' }), dataDelayMs: 1500 });
    const relay = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config: { delivery: { retryBaseSeconds: 60, bounceRelay: `127.0.0.1:${relay.port}` } } });
    const r = await client(gw.smtpPort).send({ from: 'alice@example.com', to: ['x@city.example.lg.jp'] }, message(token()));
    expect(r.ok).toBe(true);
    // The first attempt is under way (the sink is sitting on the final dot).
    await waitFor('the attempt in progress', () => sink.pendingData() === 1, 10_000, 20);
    const b = await cli(['queue', 'bounce', r.queueId!, '--data-dir', gw.dataDir]);
    expect(b.stdout).toBe('1 entries will be bounced\n');
    // The operator was told it will be bounced: it is, long before the 60 s retry.
    await waitFor('the DSN', () => relay.messages.length === 1, 10_000);
    expect(relay.messages[0]!.to).toEqual(['alice@example.com']);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
  });
  it('a request made while the gateway is stopped is applied when it starts', async () => {
    const relay = await startSink();
    const down = await freePort();
    const config = { delivery: { retryBaseSeconds: 60, bounceRelay: `127.0.0.1:${relay.port}` } };
    const gw = await startGateway({ nextHop: `127.0.0.1:${down}`, config });
    const r = await client(gw.smtpPort).send({ from: 'carol@example.com', to: ['x@city.example.lg.jp'] }, message(token()));
    await waitFor('the first deferral', () => transfers(gw.dataDir).some((l) => l.queueId === r.queueId && l.event === 'deferred'));
    expect((await gw.stop()).code).toBe(0);
    expect((await cli(['queue', 'bounce', r.queueId!, '--data-dir', gw.dataDir])).stdout).toBe('1 entries will be bounced\n');
    // Nothing happens without a gateway…
    expect((await queueList(gw.dataDir)).map((l) => l.id)).toEqual([r.queueId]);
    // …and the next one bounces it at once (not after the 60 s retry).
    await startGateway({ dataDir: gw.dataDir, nextHop: `127.0.0.1:${down}`, config });
    await waitFor('the DSN', () => relay.messages.length === 1, 10_000);
    expect(relay.messages[0]!.to).toEqual(['carol@example.com']);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
  });
});
