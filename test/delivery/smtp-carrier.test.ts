// The SMTP carrier against real SMTP sessions on 127.0.0.1: smtp-server sinks that
// accept, refuse or stall, a port with nothing listening, and a server that never greets.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { SMTPServer, type SMTPServerError } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpCarrier, parseEnhancedStatus, type SmtpCarrierOptions } from '../../src/delivery/smtp-carrier.js';
import type { AttemptResult, Carrier } from '../../src/delivery/types.js';

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  secure: boolean;
}

interface Sink {
  port: number;
  received: Received[];
  /** TCP connections the sink accepted. */
  connections: () => number;
  /** What clients wrote, line by line (readable only on a sink without STARTTLS). */
  clientLines: string[];
  close: () => Promise<void>;
}

const smtpError = (responseCode: number, message: string): SMTPServerError => Object.assign(new Error(message), { responseCode });

interface SinkBehaviour {
  mailFrom?: (address: string) => SMTPServerError | null;
  rcptTo?: (address: string) => SMTPServerError | null;
  data?: () => SMTPServerError | null;
  /** Milliseconds to wait before answering the final dot; Infinity never answers. */
  dataDelayMs?: number;
  /** Hide STARTTLS so the test can read the client's commands off the wire. */
  plain?: boolean;
  /** Advertised SIZE limit. */
  size?: number;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  // Carriers first (they close their pooled sessions), then the servers.
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function startSink(behaviour: SinkBehaviour = {}): Promise<Sink> {
  const received: Received[] = [];
  const clientLines: string[] = [];
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    logger: false,
    hideSTARTTLS: behaviour.plain ?? false,
    ...(behaviour.size ? { size: behaviour.size } : {}),
    onMailFrom(address, _session, callback) {
      callback(behaviour.mailFrom?.(address.address) ?? null);
    },
    onRcptTo(address, _session, callback) {
      callback(behaviour.rcptTo?.(address.address) ?? null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (behaviour.dataDelayMs === Infinity) return;
        setTimeout(() => answer(), behaviour.dataDelayMs ?? 0);
      });
      const answer = (): void => {
        const refusal = behaviour.data?.() ?? null;
        if (refusal) return callback(refusal);
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '(none)',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        });
        callback(null, 'Ok: queued');
      };
    },
  });
  let connections = 0;
  server.server.on('connection', (socket: net.Socket) => {
    connections += 1;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      const lines = pending.split('\r\n');
      pending = lines.pop() ?? '';
      clientLines.push(...lines);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as net.AddressInfo).port;
  const sink: Sink = {
    port,
    received,
    connections: () => connections,
    clientLines,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  cleanups.push(sink.close);
  return sink;
}

function carrierFor(port: number, overrides: Partial<SmtpCarrierOptions> = {}): Carrier {
  const carrier = createSmtpCarrier({ host: '127.0.0.1', port, name: 'mugaika.test.example', maxConnections: 2, connectionTimeoutMs: 5_000, ...overrides });
  cleanups.push(() => carrier.close());
  return carrier;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A message with 8-bit UTF-8, a line that needs dot-stuffing and a lone dot line. */
const message = (n = 1): Buffer =>
  Buffer.from(
    [
      'From: sender@example.jp',
      'To: a@city.example.lg.jp',
      `Subject: =?UTF-8?B?${Buffer.from(`試験 ${n}`).toString('base64')}?=`,
      `Message-ID: <test-${n}@example.jp>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      '本文です。',
      '.starts with a dot',
      '.',
      '..two dots',
      `message ${n}`,
      '',
    ].join('\r\n'),
  );

const A = 'a@city.example.lg.jp';
const B = 'b@city.example.lg.jp';
const sorted = (r: AttemptResult) => ({ ...r, accepted: [...r.accepted].sort() });

describe('SMTP carrier', () => {
  it('delivers the exact bytes to every recipient over opportunistic STARTTLS (self-signed certificate)', async () => {
    const sink = await startSink();
    const carrier = carrierFor(sink.port);
    const raw = message();
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, raw);
    expect(sorted(result)).toEqual({ accepted: [A, B], temporary: [], permanent: [] });
    expect(sink.received).toHaveLength(1);
    const got = sink.received[0]!;
    expect(got.from).toBe('sender@example.jp');
    expect(got.to).toEqual([A, B]);
    expect(got.secure).toBe(true);
    expect(sha256(got.raw)).toBe(sha256(raw));
    expect(carrier.name).toBe(`smtp:127.0.0.1:${sink.port}`);
  });

  it('sends the null sender as MAIL FROM:<>', async () => {
    const sink = await startSink({ plain: true });
    const carrier = carrierFor(sink.port);
    const result = await carrier.send({ mailFrom: null, rcptTo: [A] }, message());
    expect(result).toEqual({ accepted: [A], temporary: [], permanent: [] });
    expect(sink.received[0]!.from).toBe('');
    const mailFrom = sink.clientLines.filter((l) => /^MAIL FROM:/i.test(l));
    expect(mailFrom).toHaveLength(1);
    expect(mailFrom[0]).toMatch(/^MAIL FROM:<>( |$)/);
    expect(sink.clientLines).toContain('EHLO mugaika.test.example');
    expect(sink.received[0]!.secure).toBe(false);
  });

  it('reuses pooled connections for several messages', async () => {
    const sink = await startSink();
    const one = carrierFor(sink.port, { maxConnections: 1 });
    const raws = [1, 2, 3, 4, 5].map(message);
    for (const raw of raws) expect((await one.send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, raw)).accepted).toEqual([A]);
    expect(sink.connections()).toBe(1);
    expect(sink.received.map((r) => sha256(r.raw))).toEqual(raws.map(sha256));

    // Concurrent sends share at most maxConnections sessions.
    const before = sink.connections();
    const two = carrierFor(sink.port, { maxConnections: 2 });
    const results = await Promise.all([6, 7, 8, 9, 10, 11, 12, 13].map((n) => two.send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, message(n))));
    for (const r of results) expect(sorted(r)).toEqual({ accepted: [A, B], temporary: [], permanent: [] });
    expect(sink.connections() - before).toBeLessThanOrEqual(2);
    expect(sink.received).toHaveLength(13);
  });

  it('maps an internationalized domain back to the recipient as given', async () => {
    const sink = await startSink({ plain: true });
    const carrier = carrierFor(sink.port);
    const idn = 'jyumin@例え.jp';
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [idn, A] }, message());
    expect(sorted(result)).toEqual({ accepted: [A, idn].sort(), temporary: [], permanent: [] });
    // On the wire the domain is punycoded (smtp-server hands it back decoded).
    expect(sink.clientLines.filter((l) => l.startsWith('RCPT TO:'))).toEqual(['RCPT TO:<jyumin@xn--r8jz45g.jp>', `RCPT TO:<${A}>`]);
  });

  it('550 5.1.1 for one recipient: that one permanent, the other accepted and delivered', async () => {
    const sink = await startSink({ rcptTo: (a) => (a === B ? smtpError(550, `5.1.1 <${B}>: Recipient address rejected: User unknown`) : null) });
    const carrier = carrierFor(sink.port);
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, message());
    expect(result.accepted).toEqual([A]);
    expect(result.temporary).toEqual([]);
    expect(result.permanent).toEqual([{ rcpt: B, code: 550, status: '5.1.1', reason: `550 5.1.1 <${B}>: Recipient address rejected: User unknown` }]);
    expect(sink.received.map((r) => r.to)).toEqual([[A]]);
  });

  it('every recipient refused: each gets its own reply (550 permanent, 450 temporary)', async () => {
    const sink = await startSink({ rcptTo: (a) => (a === A ? smtpError(550, '5.1.1 no such user') : smtpError(450, '4.2.1 mailbox busy')) });
    const carrier = carrierFor(sink.port);
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, message());
    expect(result.accepted).toEqual([]);
    expect(result.permanent).toEqual([{ rcpt: A, code: 550, status: '5.1.1', reason: '550 5.1.1 no such user' }]);
    expect(result.temporary).toEqual([{ rcpt: B, code: 450, status: '4.2.1', reason: '450 4.2.1 mailbox busy' }]);
    expect(sink.received).toHaveLength(0);
  });

  it('451 4.3.0 to RCPT: temporary for that recipient, the other delivered', async () => {
    const sink = await startSink({ rcptTo: (a) => (a === B ? smtpError(451, '4.3.0 try again later') : null) });
    const carrier = carrierFor(sink.port);
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, message());
    expect(result).toEqual({ accepted: [A], temporary: [{ rcpt: B, code: 451, status: '4.3.0', reason: '451 4.3.0 try again later' }], permanent: [] });
  });

  it('451 4.3.0 to DATA: every recipient temporary', async () => {
    const sink = await startSink({ data: () => smtpError(451, '4.3.0 local error in processing') });
    const carrier = carrierFor(sink.port, { maxConnections: 1 });
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, message());
    expect(result.accepted).toEqual([]);
    expect(result.permanent).toEqual([]);
    expect(result.temporary).toEqual([A, B].map((rcpt) => ({ rcpt, code: 451, status: '4.3.0', reason: '451 4.3.0 local error in processing' })));
    // The session survives a refused message (RSET): the next one is answered on it.
    expect((await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message(2))).temporary).toHaveLength(1);
    expect(sink.connections()).toBe(1);
  });

  it('554 to DATA: every recipient permanent', async () => {
    const sink = await startSink({ data: () => smtpError(554, '5.6.0 content rejected') });
    const carrier = carrierFor(sink.port);
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, message());
    expect(result.accepted).toEqual([]);
    expect(result.temporary).toEqual([]);
    expect(result.permanent).toEqual([A, B].map((rcpt) => ({ rcpt, code: 554, status: '5.6.0', reason: '554 5.6.0 content rejected' })));
  });

  it('554 to DATA without an enhanced status: permanent, status null', async () => {
    const sink = await startSink({ data: () => smtpError(554, 'Transaction failed') });
    const result = await carrierFor(sink.port).send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message());
    expect(result.permanent).toEqual([{ rcpt: A, code: 554, status: null, reason: '554 Transaction failed' }]);
  });

  it('550 to MAIL FROM: every recipient permanent', async () => {
    const sink = await startSink({ mailFrom: () => smtpError(550, '5.7.1 sender rejected') });
    const result = await carrierFor(sink.port).send({ mailFrom: 'spam@example.jp', rcptTo: [A, B] }, message());
    expect(result.accepted).toEqual([]);
    expect(result.permanent.map((f) => [f.rcpt, f.code, f.status])).toEqual([
      [A, 550, '5.7.1'],
      [B, 550, '5.7.1'],
    ]);
  });

  it('a message over the size the peer advertises: permanent 5.3.4, nothing sent', async () => {
    const sink = await startSink({ size: 100 });
    const result = await carrierFor(sink.port).send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message());
    expect(result.accepted).toEqual([]);
    expect(result.permanent).toEqual([{ rcpt: A, code: null, status: '5.3.4', reason: expect.stringMatching(/larger than allowed 100/) }]);
    expect(sink.received).toHaveLength(0);
  });

  it('declares SIZE and BODY=8BITMIME when the peer supports them', async () => {
    const sink = await startSink({ plain: true, size: 1_000_000 });
    const raw = message();
    expect((await carrierFor(sink.port).send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, raw)).accepted).toEqual([A]);
    expect(sink.clientLines.find((l) => l.startsWith('MAIL FROM:'))).toBe(`MAIL FROM:<sender@example.jp> BODY=8BITMIME SIZE=${raw.length}`);
  });

  it('421 to RCPT (server closing): temporary', async () => {
    const sink = await startSink({ rcptTo: () => smtpError(421, '4.3.2 shutting down') });
    const result = await carrierFor(sink.port).send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message());
    expect(result.accepted).toEqual([]);
    expect(result.permanent).toEqual([]);
    expect(result.temporary).toHaveLength(1);
    expect(result.temporary[0]).toMatchObject({ rcpt: A, code: 421 });
  });

  it('nothing listening (connection refused): every recipient temporary, code null', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = await carrierFor(port).send({ mailFrom: 'sender@example.jp', rcptTo: [A, B] }, message());
    expect(result.accepted).toEqual([]);
    expect(result.permanent).toEqual([]);
    expect(result.temporary.map((f) => [f.rcpt, f.code, f.status])).toEqual([
      [A, null, null],
      [B, null, null],
    ]);
    expect(result.temporary[0]!.reason).toMatch(/ECONNREFUSED/);
  });

  it('a server that never greets: temporary after the greeting timeout, code null', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const port = (silent.address() as net.AddressInfo).port;
    const started = Date.now();
    const result = await carrierFor(port, { connectionTimeoutMs: 300 }).send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message());
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.accepted).toEqual([]);
    expect(result.permanent).toEqual([]);
    expect(result.temporary).toHaveLength(1);
    expect(result.temporary[0]).toMatchObject({ rcpt: A, code: null, status: null });
    expect(result.temporary[0]!.reason).toMatch(/time/i);
  });

  it('after close(), send answers temporary without touching the network', async () => {
    const sink = await startSink();
    const carrier = carrierFor(sink.port);
    await carrier.close();
    const result = await carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message());
    expect(result).toEqual({ accepted: [], temporary: [{ rcpt: A, code: null, status: null, reason: 'SMTP carrier is closed' }], permanent: [] });
    expect(sink.connections()).toBe(0);
  });

  it('close() lets an in-flight delivery finish', async () => {
    const sink = await startSink({ dataDelayMs: 400 });
    const carrier = carrierFor(sink.port);
    const sending = carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message());
    await new Promise((r) => setTimeout(r, 150));
    await carrier.close();
    expect(await sending).toEqual({ accepted: [A], temporary: [], permanent: [] });
    expect(sink.received).toHaveLength(1);
  });

  it('close() cuts off a delivery that outlasts the grace period: temporary', async () => {
    const sink = await startSink({ dataDelayMs: Infinity });
    const carrier = carrierFor(sink.port, { closeGraceMs: 200 });
    const sending = carrier.send({ mailFrom: 'sender@example.jp', rcptTo: [A] }, message());
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    await carrier.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    const result = await sending;
    expect(result.accepted).toEqual([]);
    expect(result.temporary).toHaveLength(1);
    expect(result.temporary[0]).toMatchObject({ rcpt: A, code: null });
  });

  it('parses enhanced status codes only when their class matches the reply', () => {
    expect(parseEnhancedStatus('550 5.1.1 <x@y>: User unknown')).toBe('5.1.1');
    expect(parseEnhancedStatus('451-4.3.0 first line\n451 4.3.0 second')).toBe('4.3.0');
    expect(parseEnhancedStatus('550 4.1.1 mismatched class')).toBeNull();
    expect(parseEnhancedStatus('550 User unknown 5.1.1')).toBeNull();
    expect(parseEnhancedStatus('250 2.0.0 Ok')).toBe('2.0.0');
  });
});
