// Permanent failures and expiry: a DSN goes back to the envelope sender through
// delivery.bounceRelay (the Internet-side relay), from the null sender; the null
// sender itself is never bounced.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, freePort, message, sleep, spoolEmpty, startGateway, startSink, Talk, token, transfers, waitFor, type SinkMessage } from './harness.js';

afterEach(cleanup);

/** The message/delivery-status part of a DSN, unfolded. */
function deliveryStatus(m: SinkMessage): string {
  const raw = m.raw.toString('latin1');
  const start = raw.search(/^Content-Type: message\/delivery-status/im);
  expect(start, 'a message/delivery-status part').toBeGreaterThan(0);
  return raw.slice(start).split(/\r\n--/)[0]!;
}

describe('mugaika serve: bounces', () => {
  it('5xx from the next hop: a multipart/report DSN to the sender via the bounce relay; the null sender gets none', async () => {
    const sink = await startSink({
      rcpt: (address) => (address.startsWith('nouser') ? { code: 550, message: '5.1.1 no such user here' } : null),
      data: (from) => (from === 'spam@example.org' ? { code: 554, message: '5.7.1 message refused' } : null),
    });
    const relay = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config: { delivery: { bounceRelay: `127.0.0.1:${relay.port}` } } });
    const c = client(gw.smtpPort);

    // One good and one unknown recipient: the good one is delivered, the other bounced.
    const tok = token();
    const r = await c.send({ from: 'sender@example.com', to: ['ok@city.example.lg.jp', 'nouser@city.example.lg.jp'] }, message(tok));
    expect(r.ok, r.response).toBe(true);
    await waitFor('the DSN at the bounce relay', () => relay.messages.length >= 1);
    expect(sink.withToken(tok).map((m) => m.to)).toEqual([['ok@city.example.lg.jp']]);
    const dsn = relay.messages[0]!;
    expect(dsn.from).toBe(''); // MAIL FROM:<>
    expect(dsn.to).toEqual(['sender@example.com']);
    const raw = dsn.raw.toString('latin1');
    expect(raw).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status;/im);
    expect(raw).toMatch(/^To: <sender@example\.com>\r$/m);
    expect(raw).toMatch(/^Auto-Submitted: auto-replied\r$/m);
    const status = deliveryStatus(dsn);
    expect(status).toContain('Final-Recipient: rfc822; nouser@city.example.lg.jp');
    expect(status).not.toContain('ok@city.example.lg.jp');
    expect(status).toMatch(/^Action: failed\r$/m);
    expect(status).toMatch(/^Status: 5\.1\.1\r$/m);
    expect(status).toMatch(/^Diagnostic-Code: smtp; 550 5\.1\.1 no such user here/m);
    expect(status).toContain(`X-Mugaika-Queue-ID: ${r.queueId}`);
    // The original headers come back (the sanitized message's: the subject holds the token).
    expect(raw).toMatch(/^Content-Type: text\/rfc822-headers/im);

    // 554 at the final dot: every recipient bounced.
    const r2 = await c.send({ from: 'spam@example.org', to: ['x@city.example.lg.jp', 'y@city.example.lg.jp'] }, message(token()));
    expect(r2.ok).toBe(true);
    await waitFor('the second DSN', () => relay.messages.length >= 2);
    const dsn2 = relay.messages[1]!;
    expect(dsn2.to).toEqual(['spam@example.org']);
    expect(deliveryStatus(dsn2).match(/^Final-Recipient:/gm)).toHaveLength(2);
    expect(deliveryStatus(dsn2)).toMatch(/^Status: 5\.7\.1\r$/m);

    // From the null sender: bounced recipients are recorded, but no DSN is made.
    const t = await Talk.open(gw.smtpPort);
    await t.cmd('EHLO client.example');
    expect(await t.cmd('MAIL FROM:<>')).toMatch(/^250/);
    expect(await t.cmd('RCPT TO:<nouser2@city.example.lg.jp>')).toMatch(/^250/);
    expect(await t.cmd('DATA')).toMatch(/^354/);
    t.write(message(token()));
    const queued = await t.cmd('\r\n.');
    const nullId = /queued as ([0-9A-Z]+)/.exec(queued)?.[1];
    expect(nullId, queued).toBeTruthy();
    const bounced = await waitFor('the null sender bounce record', () => transfers(gw.dataDir).find((l) => l.queueId === nullId && l.event === 'bounced'));
    expect(bounced.detail).toContain('null sender: no bounce');
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
    // Nothing was spooled for it, so nothing can still be on its way.
    expect(relay.messages).toHaveLength(2);
    expect(transfers(gw.dataDir).filter((l) => l.event === 'bounce-delivered')).toHaveLength(2);
  });

  it('gives up after delivery.maxAgeHours of temporary failures: a DSN with status 4.4.7 (none for the null sender)', async () => {
    const relay = await startSink();
    const down = await freePort();
    const gw = await startGateway({
      nextHop: `127.0.0.1:${down}`,
      config: { delivery: { maxAgeHours: 0.0008, retryBaseSeconds: 0.3, bounceRelay: `127.0.0.1:${relay.port}` } },
    });
    // First a message from the null sender: it also expires, but is not bounced. It
    // warms the worker up too (the first message in a fresh thread takes about a second).
    const t = await Talk.open(gw.smtpPort);
    await t.cmd('EHLO client.example');
    await t.cmd('MAIL FROM:<>');
    await t.cmd('RCPT TO:<late0@city.example.lg.jp>');
    await t.cmd('DATA');
    t.write(message(token()));
    const nullId = /queued as ([0-9A-Z]+)/.exec(await t.cmd('\r\n.'))?.[1];
    expect(nullId).toBeTruthy();
    await waitFor('the first message sanitized', () => transfers(gw.dataDir).some((l) => l.queueId === nullId && l.event === 'verdict'));

    const r = await client(gw.smtpPort).send({ from: 'sender@example.com', to: ['late@city.example.lg.jp'] }, message(token()));
    expect(r.ok, r.response).toBe(true);
    await waitFor('the expiry DSN', () => relay.messages.length >= 1, 15_000);
    const dsn = relay.messages[0]!;
    expect(dsn.from).toBe('');
    expect(dsn.to).toEqual(['sender@example.com']);
    const status = deliveryStatus(dsn);
    expect(status).toContain('Final-Recipient: rfc822; late@city.example.lg.jp');
    expect(status).toMatch(/^Action: failed\r$/m);
    expect(status).toMatch(/^Status: 4\.4\.7\r$/m);
    expect(status).toMatch(/^Diagnostic-Code: X-Mugaika; gave up after \d+ attempts: /m);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
    const events = transfers(gw.dataDir)
      .filter((l) => l.queueId === r.queueId)
      .map((l) => l.event);
    expect(events.slice(0, 2)).toEqual(['received', 'verdict']);
    expect(events).toContain('deferred');
    expect(events.at(-1)).toBe('bounced');
    const nullBounce = transfers(gw.dataDir).find((l) => l.queueId === nullId && l.event === 'bounced');
    expect(nullBounce?.detail).toContain('null sender: no bounce');
    await sleep(300);
    expect(relay.messages).toHaveLength(1);
  });
});
