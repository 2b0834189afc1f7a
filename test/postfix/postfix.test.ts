// Postfix in front of mugaika, as examples/postfix/ tells an administrator to
// set it up, end to end on 127.0.0.1:
//
//   nodemailer --> Postfix smtpd (the Internet-facing listener)
//     --(queue, content_filter = mugaika:[127.0.0.1]:<mugaika>)--> mugaika serve
//     --(MUGAIKA_NEXT_HOP)--> Postfix reinjection smtpd (-o content_filter=)
//     --(queue, transport_maps)--> "LGWAN MTA" (an smtp-server sink in this process)
//
// The private Postfix instance lives in a temporary folder (config, queue,
// data, log) and is started with `postfix -c DIR start`, stopped with
// `postfix -c DIR stop`. The example main.cf and master.cf are used as they
// are; only the ports and the LGWAN MTA's address are replaced (postconf -e,
// and the reinjection listener's port in master.cf).
//
// Needs the Debian postfix package and root: `bash scripts/system-deps.sh`
// (npm test's pretest step) installs it. Without it this test fails, by design.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { tempDir } from '../helpers/run.js';
import { createPostfix, freePort, postfixUnavailable, waitForPort, type PostfixInstance } from '../helpers/postfix.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLES = path.join(ROOT, 'examples', 'postfix');
const SAMPLE = path.join(ROOT, 'samples', '02-html-newsletter.eml');
const RCPT = 'kouhou@city.example.lg.jp';
const SENDER = 'news@mail.example.com';

interface Arrival {
  from: string;
  to: string[];
  raw: Buffer;
  at: number;
}

interface Sink {
  port: number;
  arrivals: Arrival[];
  next(timeoutMs: number): Promise<Arrival>;
  close(): Promise<void>;
}

/** The "LGWAN-side MTA": accepts everything and keeps it. */
async function startSink(): Promise<Sink> {
  const arrivals: Arrival[] = [];
  const waiters: Array<(a: Arrival) => void> = [];
  const server = new SMTPServer({
    name: 'lgwan-mta.test.invalid',
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const arrival: Arrival = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          at: Date.now(),
        };
        arrivals.push(arrival);
        waiters.shift()?.(arrival);
        callback(null, 'Ok: delivered to the LGWAN side');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  let taken = 0;
  return {
    port: (server.server.address() as { port: number }).port,
    arrivals,
    next(timeoutMs) {
      if (arrivals.length > taken) return Promise.resolve(arrivals[taken++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nothing arrived at the LGWAN sink within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((a) => {
          clearTimeout(timer);
          taken++;
          resolve(a);
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** master.cf: the example's entries with the reinjection port replaced, plus the Internet-facing listener. */
function masterCf(inboundPort: number, reinjectPort: number): string {
  const example = readFileSync(path.join(EXAMPLES, 'master.cf'), 'utf8');
  if (!/^127\.0\.0\.1:10026\s+inet\b/m.test(example)) throw new Error('examples/postfix/master.cf: no 127.0.0.1:10026 reinjection listener');
  return [
    '# The Internet-facing listener ("smtp inet n - y - - smtpd" in production, port 25)',
    `127.0.0.1:${inboundPort} inet n - n - - smtpd`,
    '',
    example.replace(/^127\.0\.0\.1:10026(?=\s)/m, `127.0.0.1:${reinjectPort}`),
  ].join('\n');
}

const lgwanRoute = (sinkPort: number): string => `inline:{ { city.example.lg.jp = relay:[127.0.0.1]:${sinkPort} }, { .city.example.lg.jp = relay:[127.0.0.1]:${sinkPort} } }`;

describe('Postfix in front of mugaika (examples/postfix)', () => {
  let sink: Sink;
  let gateway: GatewayProcess | undefined;
  let postfix: PostfixInstance | undefined;
  let inboundPort = 0;
  let reinjectPort = 0;
  const dataDir = tempDir('mugaika-postfix-gw-');

  beforeAll(async () => {
    const why = postfixUnavailable();
    if (why) throw new Error(`Postfix integration test cannot run: ${why}`);
    sink = await startSink();
    const mugaikaPort = await freePort();
    inboundPort = await freePort();
    reinjectPort = await freePort();
    // mugaika and Postfix start side by side: each retries until the other listens.
    const startMugaika = async (): Promise<void> => {
      gateway = await startGatewayProcess({ smtpListen: `127.0.0.1:${mugaikaPort}`, nextHop: `127.0.0.1:${reinjectPort}`, dataDir });
    };
    const startPostfix = async (): Promise<void> => {
      postfix = await createPostfix({
        prefix: 'mugaika-postfix-in-',
        hostname: 'postfix-in.test.invalid',
        mainCf: readFileSync(path.join(EXAMPLES, 'main.cf'), 'utf8'),
        masterCf: masterCf(inboundPort, reinjectPort),
        postconf: {
          content_filter: `mugaika:[127.0.0.1]:${mugaikaPort}`,
          transport_maps: lgwanRoute(sink.port),
          // Retry a deferred message after a second, not minutes (the restart test below).
          queue_run_delay: '1s',
          minimal_backoff_time: '1s',
          maximal_backoff_time: '2s',
        },
      });
      await postfix.start();
      await waitForPort(inboundPort);
      await waitForPort(reinjectPort);
    };
    await Promise.all([startMugaika(), startPostfix()]);
  });

  afterAll(async () => {
    await postfix?.destroy();
    await gateway?.destroy();
    await sink?.close();
    if (!process.env.MUGAIKA_KEEP_TEMP) rmSync(dataDir, { recursive: true, force: true });
  });

  const send = async (raw: Buffer): Promise<string> => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: inboundPort, secure: false, ignoreTLS: true, name: 'mail.example.com' });
    try {
      const info = await transport.sendMail({ envelope: { from: SENDER, to: [RCPT] }, raw });
      return info.response;
    } finally {
      transport.close();
    }
  };

  it('uses the example configuration as written', async () => {
    const settings = await postfix!.settings();
    expect(settings).toMatch(/^relay_domains = city\.example\.lg\.jp$/m);
    expect(settings).toMatch(/^mydestination =\s*$/m);
    expect(settings).toMatch(new RegExp(`^content_filter = mugaika:\\[127\\.0\\.0\\.1\\]:${gateway!.smtpPort}$`, 'm'));
    expect(settings).toMatch(/^receive_override_options = no_address_mappings$/m);
    // `postfix check` ran at start: no warning about the example's settings.
    expect(postfix!.log()).not.toMatch(/warning|fatal|error/i);
  });

  it('relays a sample through mugaika to the LGWAN MTA, sanitized, and empties its queue', async () => {
    const response = await send(readFileSync(SAMPLE));
    expect(response).toMatch(/^250 /);
    const arrival = await sink.next(30_000);

    expect(arrival.from).toBe(SENDER);
    expect(arrival.to).toEqual([RCPT]);
    const head = arrival.raw.subarray(0, arrival.raw.indexOf('\r\n\r\n')).toString('latin1');
    expect(head).toMatch(/^X-Mugaika-Verdict: sanitized\r?$/im);
    expect(head).toMatch(/^X-Mugaika-Quarantine-Id: Q-\d{8}-[0-9A-Z]+\r?$/im);
    expect(head).toMatch(/^X-Mugaika-Original-Message-Id: <nl-128\.20260415070000\.123@mail\.example\.com>\r?$/im);
    // The reinjection listener added its Received line: the message went mugaika -> Postfix -> LGWAN.
    expect(head).toMatch(/^Received: from [^\r\n]*\r?\n\s+by postfix-in\.test\.invalid/im);

    const mail = await simpleParser(arrival.raw);
    expect(mail.text).toContain('【無害化通知】');
    expect(mail.text).toContain('hxxps://');
    expect(mail.html).toBe(false);
    expect(arrival.raw.toString('latin1')).not.toMatch(/^Content-Type:\s*text\/html/im);
    expect(await violations(arrival.raw)).toEqual([]);

    // Both legs left Postfix's queue: the original (handed to mugaika) and the sanitized copy.
    await postfix!.waitForEmptyQueue(15_000);
    const log = postfix!.log();
    expect(log).toMatch(
      new RegExp(`postfix/mugaika/smtp\\[\\d+\\]: \\w+: to=<${RCPT}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${gateway!.smtpPort},.* status=sent \\(250 2\\.0\\.0 Ok: queued as`),
    );
    expect(log).toMatch(new RegExp(`postfix/relay/smtp\\[\\d+\\]: \\w+: to=<${RCPT}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${sink.port},.* status=sent`));
    expect(gateway!.logs.some((l) => l.msg === 'sanitized' && l.verdict === 'sanitized')).toBe(true);
  });

  it('keeps the message in its queue while mugaika is down and hands it over once it is back', async () => {
    const port = gateway!.smtpPort;
    await gateway!.stop();

    const before = sink.arrivals.length;
    expect(await send(readFileSync(SAMPLE))).toMatch(/^250 /);
    // Postfix accepted it and cannot reach mugaika: deferred, not bounced. Its log says so at once;
    // which queue folder the file sits in meanwhile is qmgr's business (on two busy cores it has been
    // seen in incoming for over 30 s, "skipped, still being delivered"), so the log is what is waited for.
    const deferred = new RegExp(`postfix/mugaika/smtp\\[\\d+\\]: \\w+: to=<${RCPT}>, relay=none,.* status=deferred \\(connect to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${port}: Connection refused\\)`);
    const deadline = Date.now() + 30_000;
    while (!deferred.test(postfix!.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(postfix!.log(), 'no deferral in the log').toMatch(deferred);
    expect(postfix!.log()).not.toMatch(/status=bounced/);
    expect(await postfix!.queued()).toHaveLength(1);
    expect(sink.arrivals.length).toBe(before);

    // mugaika back on the same port and data dir; Postfix retries on its own (minimal_backoff_time 1s).
    gateway = await startGatewayProcess({ smtpListen: `127.0.0.1:${port}`, nextHop: `127.0.0.1:${reinjectPort}`, dataDir });
    const arrival = await sink.next(30_000);
    expect(arrival.raw.toString('latin1')).toMatch(/^X-Mugaika-Verdict: sanitized\r?$/im);
    await postfix!.waitForEmptyQueue(15_000);
  }, 120_000);
});
