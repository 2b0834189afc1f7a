// Protocol abuse on the SMTP door: idle connections, huge lines, garbage, a
// message that never ends. The gateway answers, cleans up, and keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, client, message, spoolFiles, startGateway, startSink, Talk, token, transfers, waitFor, type Gateway, type Sink } from './harness.js';

const TIMEOUT = 1500;

// One gateway for the whole file: each test checks that it is still serving afterwards.
let gw: Gateway;
let sink: Sink;
beforeAll(async () => {
  sink = await startSink();
  gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config: { smtp: { socketTimeoutMs: TIMEOUT } } });
});
afterAll(cleanup);

async function stillServing(): Promise<void> {
  const tok = token();
  const r = await client(gw.smtpPort).send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(tok));
  expect(r, r.response).toMatchObject({ ok: true, code: 250 });
  await waitFor('the delivery', () => sink.withToken(tok).length === 1);
  expect(gw.proc.exitCode).toBeNull();
}

describe('mugaika serve: protocol abuse', () => {
  it('disconnects a silent client after smtp.socketTimeoutMs and serves others meanwhile', async () => {
    const opened = Date.now();
    const slow = await Talk.open(gw.smtpPort, false);
    // Another client is served while the silent one hangs on.
    const other = await Talk.open(gw.smtpPort);
    other.write('EHLO other.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<u@city.example.lg.jp>\r\nDATA\r\n');
    for (const code of ['250', '250', '250', '354']) expect(await other.reply()).toMatch(new RegExp(`^${code}`));
    other.write(Buffer.concat([message(token()), Buffer.from('\r\n.\r\n')]));
    expect(await other.reply()).toMatch(/^250 /);
    const servedAt = Date.now();
    const closedAt = await Promise.race([slow.closedAt, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still connected after 8 s')), 8000))]);
    expect(servedAt).toBeLessThan(closedAt);
    expect(closedAt - opened).toBeGreaterThanOrEqual(TIMEOUT - 100);
    expect(await slow.reply()).toMatch(/^220 /);
    expect(await slow.reply()).toMatch(/^421 /);

    // Slow in the middle of a session too (one byte, then nothing).
    const t = await Talk.open(gw.smtpPort);
    await t.cmd('EHLO slow.example');
    t.write('M');
    const at = Date.now();
    await Promise.race([t.closedAt, new Promise((_, reject) => setTimeout(() => reject(new Error('still connected after 8 s')), 8000))]);
    expect(Date.now() - at).toBeLessThan(5000);
  });

  it('answers a 100 KB command line with an error instead of crashing', async () => {
    const t = await Talk.open(gw.smtpPort);
    t.write(`EHLO ${'a'.repeat(100 * 1024)}\r\n`);
    expect(await t.reply()).toMatch(/^[45]\d\d /);
    // In the middle of a transaction as well.
    const u = await Talk.open(gw.smtpPort);
    await u.cmd('EHLO client.example');
    await u.cmd('MAIL FROM:<a@example.com>');
    expect(await u.cmd(`RCPT TO:<${'b'.repeat(100 * 1024)}@city.example.lg.jp>`)).toMatch(/^[45]\d\d /);
    await stillServing();
  });

  it('survives pipelined garbage, binary included', async () => {
    const t = await Talk.open(gw.smtpPort);
    const garbage = ['HELO', 'MAIL FROM:<<<>>>', 'RCPT TO:', 'DATA', 'BDAT 100 LAST', 'AUTH PLAIN AAAA', 'STARTTLS', 'XCLIENT ADDR=1.2.3.4', 'VRFY root', '\u0000\u0001\u00ff\u00fe', 'GET / HTTP/1.1'];
    t.write(Buffer.from(`${Array.from({ length: 30 }, (_, i) => garbage[i % garbage.length]).join('\r\n')}\r\n`, 'latin1'));
    const first = await t.reply();
    expect(first).toMatch(/^[2-5]\d\d/);
    // The server gives up on this client at some point; it does not give up serving.
    await Promise.race([t.closedAt, new Promise((r) => setTimeout(r, 3000))]);
    // A client that pipelines a complete valid transaction is served.
    const p = await Talk.open(gw.smtpPort);
    const tok = token();
    p.write(`EHLO pipe.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<u@city.example.lg.jp>\r\nDATA\r\n`);
    for (const code of ['250', '250', '250', '354']) expect(await p.reply()).toMatch(new RegExp(`^${code}`));
    p.write(Buffer.concat([message(tok), Buffer.from('\r\n.\r\nQUIT\r\n')]));
    expect(await p.reply()).toMatch(/^250 /);
    expect(await p.reply()).toMatch(/^221 /);
    await waitFor('the pipelined message', () => sink.withToken(tok).length === 1);
    await stillServing();
  });

  it('a message that never ends, then a dropped connection: nothing is kept', async () => {
    const before = transfers(gw.dataDir).length;
    const t = await Talk.open(gw.smtpPort);
    await t.cmd('EHLO client.example');
    await t.cmd('MAIL FROM:<a@example.com>');
    await t.cmd('RCPT TO:<u@city.example.lg.jp>');
    expect(await t.cmd('DATA')).toMatch(/^354/);
    t.write(message(token(), { bodyBytes: 300_000 }));
    await waitFor('the partial message in spool/tmp', () => spoolFiles(gw.dataDir).tmp.length === 1);
    t.socket.destroy();
    await waitFor('spool/tmp cleaned up', () => spoolFiles(gw.dataDir).tmp.length === 0, 5000);
    expect(spoolFiles(gw.dataDir).incoming).toEqual([]);
    expect(transfers(gw.dataDir)).toHaveLength(before);

    // The same while the final dot is withheld until the idle timeout hits.
    const u = await Talk.open(gw.smtpPort);
    await u.cmd('EHLO client.example');
    await u.cmd('MAIL FROM:<a@example.com>');
    await u.cmd('RCPT TO:<u@city.example.lg.jp>');
    await u.cmd('DATA');
    u.write(message(token()));
    await Promise.race([u.closedAt, new Promise((_, reject) => setTimeout(() => reject(new Error('not timed out')), 8000))]);
    await waitFor('spool/tmp cleaned up', () => spoolFiles(gw.dataDir).tmp.length === 0, 5000);
    expect(spoolFiles(gw.dataDir).incoming).toEqual([]);
    expect(transfers(gw.dataDir)).toHaveLength(before);
    await stillServing();
  });

  it('many connections at once stay within smtp.maxClients and are all answered', async () => {
    const talks = await Promise.all(Array.from({ length: 40 }, () => Talk.open(gw.smtpPort, false)));
    const greetings = await Promise.all(talks.map((t) => t.reply()));
    expect(greetings.every((g) => g.startsWith('220 '))).toBe(true);
    for (const t of talks) t.socket.destroy();
    await stillServing();
  });
});
