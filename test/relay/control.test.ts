// Who may send, to whom, how much: relay control at the SMTP door.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, message, spoolFiles, startGateway, startSink, Talk, token, transfers, waitFor } from './harness.js';

afterEach(cleanup);

describe('mugaika serve: relay control', () => {
  it('refuses RCPT to a domain it does not serve (never an open relay) and keeps serving', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}` });
    const t = await Talk.open(gw.smtpPort);
    expect(await t.cmd('EHLO client.example')).toMatch(/^250/);
    expect(await t.cmd('MAIL FROM:<a@example.com>')).toMatch(/^250/);
    for (const rcpt of ['victim@example.net', 'x@city.example.lg.jp.evil.example', 'x@evilcity.example.lg.jp', 'x@[127.0.0.1]', 'postmaster']) {
      expect(await t.cmd(`RCPT TO:<${rcpt}>`), rcpt).toMatch(/^550 5\.7\.1 /);
    }
    // No recipient accepted: DATA is refused, nothing is spooled.
    expect(await t.cmd('DATA')).toMatch(/^5\d\d/);
    expect(await t.cmd('RCPT TO:<Staff@City.Example.LG.JP>')).toMatch(/^250/);
    expect(await t.cmd('QUIT')).toMatch(/^221/);

    // Mixed envelope through a normal client: the foreign recipient is dropped, the local one delivered.
    const c = client(gw.smtpPort);
    const tok = token();
    const r = await c.send({ from: 'a@example.com', to: ['staff@city.example.lg.jp', 'victim@example.net'] }, message(tok));
    expect(r, r.response).toMatchObject({ ok: true, code: 250 });
    await waitFor('delivery', () => sink.withToken(tok).length === 1);
    expect(sink.withToken(tok)[0]!.to).toEqual(['staff@city.example.lg.jp']);
    const refused = await c.send({ from: 'a@example.com', to: ['victim@example.net'] }, message(token()));
    expect(refused).toMatchObject({ ok: false, code: 550 });
  });

  it('refuses a client outside smtp.allowedClients at the greeting', async () => {
    const gw = await startGateway({ config: { smtp: { allowedClients: ['10.0.0.0/8'] } } });
    const t = await Talk.open(gw.smtpPort, false);
    expect(await t.reply()).toMatch(/^554 5\.7\.1 127\.0\.0\.1 may not send mail/);
    // …and the connection is closed: no second chance.
    await Promise.race([t.closedAt, new Promise((_, reject) => setTimeout(() => reject(new Error('connection left open')), 5000))]);
    const r = await client(gw.smtpPort).send({ from: 'a@example.com', to: ['staff@city.example.lg.jp'] }, message(token()));
    expect(r.ok).toBe(false);
    expect(spoolFiles(gw.dataDir).incoming).toEqual([]);
  });

  it('a message without SIZE, ten times the limit: nothing past the limit reaches the disk, and the answer is 552', async () => {
    const limit = 1024 * 1024;
    const gw = await startGateway({ policy: `limits:\n  maxMessageBytes: ${limit}\n` });
    const t = await Talk.open(gw.smtpPort);
    await t.cmd('EHLO client.example');
    expect(await t.cmd('MAIL FROM:<a@example.com>')).toMatch(/^250/);
    expect(await t.cmd('RCPT TO:<staff@city.example.lg.jp>')).toMatch(/^250/);
    expect(await t.cmd('DATA')).toMatch(/^354/);
    // Watch spool/tmp while the data streams in.
    const tmp = path.join(gw.dataDir, 'spool', 'tmp');
    let largest = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const f of readdirSync(tmp)) largest = Math.max(largest, statSync(path.join(tmp, f), { throwIfNoEntry: false })?.size ?? 0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const chunk = Buffer.from(`${'x'.repeat(998)}\r\n`.repeat(1024));
    t.write(message(token()));
    for (let i = 0; i < 10; i++) {
      t.write(chunk);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await t.cmd('\r\n.')).toMatch(/^552 5\.3\.4 /);
    watching = false;
    await watch;
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(limit + 128 * 1024);
    expect(spoolFiles(gw.dataDir).tmp).toEqual([]);
    expect(spoolFiles(gw.dataDir).incoming).toEqual([]);
  });

  it('refuses a message over policy limits.maxMessageBytes with 552 and spools nothing; SIZE= over the limit is refused at MAIL FROM', async () => {
    const limit = 20_000;
    const gw = await startGateway({ policy: `limits:\n  maxMessageBytes: ${limit}\n` });
    const t = await Talk.open(gw.smtpPort);
    const ehlo = await t.cmd('EHLO client.example');
    expect(ehlo).toMatch(new RegExp(`^250[- ]SIZE ${limit}\\r$`, 'm'));

    // Declared too big: refused before any data is sent.
    expect(await t.cmd(`MAIL FROM:<a@example.com> SIZE=${limit + 1}`)).toMatch(/^552 /);
    // Declared small, but the data is bigger: the whole message is read, then refused.
    expect(await t.cmd(`MAIL FROM:<a@example.com> SIZE=1000`)).toMatch(/^250/);
    expect(await t.cmd('RCPT TO:<staff@city.example.lg.jp>')).toMatch(/^250/);
    expect(await t.cmd('DATA')).toMatch(/^354/);
    t.write(message(token(), { bodyBytes: 3 * limit }));
    expect(await t.cmd('\r\n.')).toMatch(/^552 5\.3\.4 /);
    // The session goes on: a message within the limit is accepted.
    expect(await t.cmd('MAIL FROM:<a@example.com>')).toMatch(/^250/);
    expect(await t.cmd('RCPT TO:<staff@city.example.lg.jp>')).toMatch(/^250/);
    expect(await t.cmd('DATA')).toMatch(/^354/);
    t.write(message(token(), { bodyBytes: limit / 4 }));
    const ok = await t.cmd('\r\n.');
    expect(ok).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-Z]+/);
    const id = /queued as ([0-9A-Z]+)/.exec(ok)![1]!;

    // Exactly one message got into the spool/transfer log: the one within the limit.
    await waitFor('the accepted message to be sanitized', () => transfers(gw.dataDir).some((l) => l.queueId === id));
    expect(new Set(transfers(gw.dataDir).map((l) => l.queueId))).toEqual(new Set([id]));
    expect(spoolFiles(gw.dataDir).tmp).toEqual([]);

    // Through nodemailer too (it sends SIZE= from the message length).
    const big = await client(gw.smtpPort).send({ from: 'a@example.com', to: ['staff@city.example.lg.jp'] }, message(token(), { bodyBytes: 2 * limit }));
    expect(big).toMatchObject({ ok: false });
    expect(big.code === 552 || /size/i.test(big.response), big.response).toBe(true);
  });
});
