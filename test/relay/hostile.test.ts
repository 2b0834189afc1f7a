// Hostile content through the real gateway: while a message built to hold a
// thread is being sanitized (and, past its budget, killed and blocked), the
// SMTP door keeps answering. One such message froze greetings and /healthz
// for about a minute: its notice's header parse ran on the main thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, client, startGateway, startSink, Talk, token, waitFor, type Gateway, type Sink } from './harness.js';

let gw: Gateway;
let sink: Sink;
beforeAll(async () => {
  sink = await startSink();
  // 1 s of budget (and the pool's 2 s of grace): the 8 MB of HTML below outlasts it.
  gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, policy: 'limits:\n  timeoutMs: 1000\n' });
});
afterAll(cleanup);

/** An ESC and 250,000 letters in the Subject (and the body's first line), then 8 MB of HTML. */
const hostile = (tok: string): Buffer =>
  Buffer.from(
    [
      'From: sender@example.com',
      'To: staff@city.example.lg.jp',
      `Subject: ${tok} \x1b${'a'.repeat(250_000)}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'Content-Type: text/html; charset=utf-8',
      '',
      `\x1b${'a'.repeat(250_000)}`,
      '<p>para\r\n'.repeat(800_000),
    ].join('\r\n'),
    'latin1',
  );

/** Milliseconds from connecting to the 220 greeting. */
async function greeting(): Promise<number> {
  const started = Date.now();
  const t = await Talk.open(gw.smtpPort);
  const took = Date.now() - started;
  t.socket.destroy();
  return took;
}

describe('mugaika serve: hostile content', () => {
  it('answers SMTP within a second while a message built to hold a thread is sanitized, killed and blocked', async () => {
    const tok = token();
    const sent = await client(gw.smtpPort).send({ from: 'sender@example.com', to: ['staff@city.example.lg.jp'] }, hostile(tok));
    expect(sent, sent.response).toMatchObject({ ok: true, code: 250 });
    const greetings: number[] = [];
    while (sink.withToken(tok).length === 0) {
      greetings.push(await greeting());
      expect(greetings.length, 'the blocked notice arrives').toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Asked all the while the message was worked on (seconds), not once after.
    expect(greetings.length).toBeGreaterThan(3);
    // smtp-server waits 100 ms before every greeting (its early-talker check).
    expect(Math.max(...greetings)).toBeLessThan(1000);
    const [notice] = sink.withToken(tok);
    expect(notice!.raw.toString('latin1')).toContain('X-Mugaika-Verdict: blocked');
    expect(notice!.text).toContain('【無害化通知】インターネットから届いたメールです。無害化の処理が制限時間内に終わらなかったため、本文と添付ファイルをお届けできません。');
    expect(notice!.text).not.toContain('para');
    await waitFor('health', async () => (await fetch(`http://127.0.0.1:${gw.webPort}/healthz`)).ok);
  }, 120_000);
});
