// SMTP slots under attack: one address cannot take them all, a session ends at
// its deadline however busy it keeps itself, and a message that drips in is cut
// off. Others are served all the while. (Before: 100 clients sending a byte a
// second held every slot for 80 s; 500 idle connections shut others out.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, client, message, metric, http, startGateway, startSink, Talk, token, waitFor, type Gateway, type Sink } from './harness.js';

let gw: Gateway;
let sink: Sink;
beforeAll(async () => {
  sink = await startSink();
  gw = await startGateway({
    nextHop: `127.0.0.1:${sink.port}`,
    config: { smtp: { maxClients: 20, maxConnectionsPerClient: 10, maxSessionSeconds: 4, minDataBytesPerSecond: 200, dataRateGraceSeconds: 2 } },
  });
});
afterAll(cleanup);

async function served(from: string): Promise<void> {
  const started = Date.now();
  const t = await Talk.open(gw.smtpPort, false, from);
  expect(await t.reply()).toMatch(/^220 /);
  expect(Date.now() - started).toBeLessThan(2000);
  expect(await t.cmd('EHLO other.example')).toMatch(/^250/);
  t.socket.destroy();
}

describe('mugaika serve: SMTP slots', () => {
  it('one address flooding idle connections gets its share; another address is still served', async () => {
    const flood = await Promise.all(Array.from({ length: 25 }, () => Talk.open(gw.smtpPort, false, '127.0.0.1')));
    const replies = await Promise.all(flood.map((t) => t.reply()));
    expect(replies.filter((r) => r.startsWith('220 '))).toHaveLength(10);
    // The rest are refused: by the per-address limit, or (while the refused are still
    // being closed, which counts against smtp.maxClients) by smtp-server's own.
    expect(
      replies.filter((r) => !r.startsWith('220 ')).every((r) => r.startsWith('421 ')),
      JSON.stringify(replies),
    ).toBe(true);
    expect(replies.filter((r) => r.includes('too many connections from 127.0.0.1')).length).toBeGreaterThanOrEqual(10);
    await served('127.0.0.2');
    await served('127.0.0.3');
    for (const t of flood) t.socket.destroy();
    // The flood's slots come back: the address is served again.
    await waitFor('the slots freed', async () => {
      const t = await Talk.open(gw.smtpPort, false, '127.0.0.1');
      const ok = (await t.reply()).startsWith('220 ');
      t.socket.destroy();
      return ok;
    });
    expect(metric((await http(gw.webPort, '/metrics')).body, 'mugaika_smtp_refused_total', '{reason="client-connections"}')).toBeGreaterThanOrEqual(10);
  });

  it('a session that keeps itself busy ends at its deadline', async () => {
    const t = await Talk.open(gw.smtpPort, true, '127.0.0.4');
    const opened = Date.now();
    // A NOOP every half second: never idle, so the idle timeout alone would never end it.
    const busy = setInterval(() => {
      if (!t.closed) t.write('NOOP\r\n');
    }, 500);
    const closedAt = await Promise.race([t.closedAt, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still open after 15 s')), 15_000))]).finally(() => clearInterval(busy));
    expect(closedAt - opened).toBeGreaterThanOrEqual(3500);
    expect(closedAt - opened).toBeLessThan(10_000);
    let last = '';
    // Every reply it got, up to the close (reply() gives '' once they are read).
    for (let r = await t.reply(); r !== ''; r = await t.reply()) last = r;
    expect(last).toMatch(/^421 4\.4\.2 session time limit reached/);
  });

  it('a message that drips in a byte at a time is cut off, and nothing of it is kept; others get through meanwhile', async () => {
    const t = await Talk.open(gw.smtpPort, true, '127.0.0.5');
    await t.cmd('EHLO drip.example');
    await t.cmd('MAIL FROM:<a@example.com>');
    await t.cmd('RCPT TO:<staff@city.example.lg.jp>');
    expect(await t.cmd('DATA')).toMatch(/^354/);
    const dripToken = token();
    const drip = message(dripToken);
    let i = 0;
    const dripping = setInterval(() => {
      if (!t.closed && i < drip.length) t.write(drip.subarray(i, ++i));
    }, 200);
    const tok = token();
    const other = await client(gw.smtpPort).send({ from: 'a@example.com', to: ['staff@city.example.lg.jp'] }, message(tok));
    expect(other.ok).toBe(true);
    const cutOff = await t.reply();
    clearInterval(dripping);
    expect(cutOff).toMatch(/^421 4\.4\.2 data too slow/);
    await waitFor('the other message delivered', () => sink.withToken(tok).length === 1);
    expect(sink.withToken(dripToken)).toEqual([]);
  });
});

describe('mugaika serve: file descriptors', () => {
  it('a flood of web connections cannot take the descriptors SMTP and the spool need', async () => {
    const sink2 = await startSink();
    const limited = await startGateway({ nextHop: `127.0.0.1:${sink2.port}`, under: ['prlimit', '--nofile=512:512', '--'] });
    const { Socket } = await import('node:net');
    const sockets: InstanceType<typeof Socket>[] = [];
    await Promise.all(
      Array.from(
        { length: 700 },
        () =>
          new Promise<void>((resolve) => {
            const s = new Socket();
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            s.connect(limited.webPort, '127.0.0.1', () => resolve());
            sockets.push(s);
          }),
      ),
    );
    try {
      // SMTP still greets, takes a message and delivers it.
      const t = await Talk.open(limited.smtpPort, false, '127.0.0.6');
      expect(await t.reply()).toMatch(/^220 /);
      t.socket.destroy();
      const tok = token();
      const sent = await client(limited.smtpPort).send({ from: 'a@example.com', to: ['staff@city.example.lg.jp'] }, message(tok));
      expect(sent.ok, sent.response).toBe(true);
      await waitFor('the delivery', () => sink2.withToken(tok).length === 1);
    } finally {
      for (const s of sockets) s.destroy();
    }
    expect(limited.logs.some((l) => l.msg === 'web connections capped to leave descriptors for SMTP and the spool')).toBe(true);
  }, 60_000);
});
