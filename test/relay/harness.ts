// Shared pieces for the relay tests: the real `mugaika serve` as a child process
// (temp data dir, temp config, ports chosen by the OS and read back from its
// 'mugaika gateway started' log line), an SMTP sink standing in for the LGWAN-side
// MTA (or the Internet-side bounce relay), a nodemailer client, a raw SMTP
// dialogue for protocol abuse, and readers for the spool, the transfer log and
// `mugaika queue`. Everything listens on 127.0.0.1 only. Temp data dirs are
// removed after each test unless MUGAIKA_KEEP_TEST_DIRS is set.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { tempDir } from '../helpers/run.js';

export const HOST = '127.0.0.1';
const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'mugaika.js');

// ---------------------------------------------------------------------------
// Cleanup: everything a test starts is registered here and torn down after it.

const cleanups: Array<() => Promise<void>> = [];
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}
/** Call from afterEach/afterAll: stops gateways, closes clients and sinks (newest first). */
export async function cleanup(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
}

// ---------------------------------------------------------------------------
// Waiting.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 15_000, intervalMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

/** A port nothing listens on (bound by the OS, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ---------------------------------------------------------------------------
// Test messages: a unique token in the Subject and in the body, so a message can
// be recognised after sanitization (the subject gets a [無害化] tag, the body text stays).

export const token = (): string => `TOK${randomBytes(6).toString('hex').toUpperCase()}`;

export function message(tok: string, opts: { to?: string; from?: string; bodyBytes?: number } = {}): Buffer {
  const filler = opts.bodyBytes ? `${'x'.repeat(76)}\r\n`.repeat(Math.ceil(opts.bodyBytes / 78)) : '';
  return Buffer.from(
    [
      `From: Sender <${opts.from ?? 'sender@example.com'}>`,
      `To: ${opts.to ?? 'staff@city.example.lg.jp'}`,
      `Subject: relay test ${tok}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      `Message-ID: <${tok}@example.com>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      `本文です。token=${tok}`,
      filler,
    ].join('\r\n'),
    'utf8',
  );
}

export const sample = (name: string): Buffer => readFileSync(path.join(ROOT, 'samples', name));

// ---------------------------------------------------------------------------
// The sink: an SMTP server that records what it accepts.

export interface SinkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** Decoded Subject (mailparser). */
  subject: string;
  /** Decoded text body. */
  text: string;
  messageId: string | null;
  /** When the sink answered 250 (Date.now()). */
  acceptedAt: number;
}

export interface SinkReply {
  code: number;
  message: string;
}

export interface SinkOptions {
  port?: number;
  /** Reply to RCPT TO; null accepts. */
  rcpt?: (address: string, mailFrom: string) => SinkReply | null;
  /** Reply to the final dot; null accepts. */
  data?: (mailFrom: string, rcptTo: string[]) => SinkReply | null;
  /** Wait this long before answering the final dot. */
  dataDelayMs?: number;
}

export interface Sink {
  port: number;
  messages: SinkMessage[];
  /** Messages the sink has accepted whose subject or body holds `tok`. */
  withToken(tok: string): SinkMessage[];
  /** Messages received in full whose reply is still being held back (dataDelayMs). */
  pendingData(): number;
  close(): Promise<void>;
}

const smtpReply = (r: SinkReply): Error => Object.assign(new Error(r.message), { responseCode: r.code });

export async function startSink(opts: SinkOptions = {}): Promise<Sink> {
  const messages: SinkMessage[] = [];
  let holding = 0;
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    logger: false,
    // Plain text keeps the CPU for the gateway (the carrier's STARTTLS is tested with the carrier).
    hideSTARTTLS: true,
    maxClients: 1000,
    onRcptTo(address, session, cb) {
      const r = opts.rcpt?.(address.address, session.envelope.mailFrom ? session.envelope.mailFrom.address : '');
      cb(r ? smtpReply(r) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if (opts.dataDelayMs) {
          holding++;
          await new Promise((r) => setTimeout(r, opts.dataDelayMs));
          holding--;
        }
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((r) => r.address);
        const r = opts.data?.(from, to);
        if (r) return cb(smtpReply(r));
        // Accepted: answer at once (like an MTA that has committed the message), read it afterwards.
        const raw = Buffer.concat(chunks);
        const acceptedAt = Date.now();
        cb(null);
        simpleParser(raw)
          .then(
            (mail) => messages.push({ from, to, raw, acceptedAt, subject: mail.subject ?? '', text: mail.text ?? '', messageId: mail.messageId ?? null }),
            () => messages.push({ from, to, raw, acceptedAt, subject: '', text: '', messageId: null }),
          )
          .catch(() => undefined);
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, HOST, () => resolve());
  });
  const port = (server.server.address() as net.AddressInfo).port;
  let closed = false;
  const sink: Sink = {
    port,
    messages,
    withToken: (tok) => messages.filter((m) => m.subject.includes(tok) || m.text.includes(tok)),
    pendingData: () => holding,
    async close() {
      if (closed) return;
      closed = true;
      // Idle pooled connections of the gateway would hold close() for its 30 s grace.
      for (const c of server.connections) c.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  onCleanup(() => sink.close());
  return sink;
}

// ---------------------------------------------------------------------------
// The gateway: `node bin/mugaika.js serve --config FILE` in a child process.

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface GatewayOptions {
  /** Reuse a data dir (restart); a fresh temp dir by default. */
  dataDir?: string;
  /** Deep-merged over the test defaults (ports 0, one worker, short timeouts). */
  config?: Record<string, unknown>;
  /** Policy YAML; written next to the config and named in `policyFile`. */
  policy?: string;
  /** Extra environment (MUGAIKA_* overrides). */
  env?: Record<string, string>;
  /** Next hop for the defaults (host:port); without it the gateway delivers to its Maildir. */
  nextHop?: string;
  /** A command the gateway runs under, e.g. ['prlimit', '--nofile=512']. */
  under?: string[];
}

export interface Gateway {
  proc: ChildProcess;
  dataDir: string;
  configFile: string;
  smtpPort: number;
  webPort: number;
  logs: LogLine[];
  stderr: () => string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitLog(what: string, pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

export function writeConfig(dir: string, opts: GatewayOptions, dataDir: string): string {
  let config: Record<string, unknown> = {
    dataDir,
    smtp: { listen: `${HOST}:0`, hostname: 'gw.test.invalid' },
    web: { listen: `${HOST}:0` },
    delivery: { retryBaseSeconds: 0.5, connectionTimeoutMs: 2000, ...(opts.nextHop ? { nextHop: opts.nextHop } : {}) },
    work: { workers: 1 },
  };
  if (opts.policy !== undefined) {
    const policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(policyFile, opts.policy);
    config.policyFile = policyFile;
  }
  config = merge(config, opts.config ?? {});
  const file = path.join(dir, `config-${randomBytes(3).toString('hex')}.yaml`);
  // JSON is YAML.
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** The environment for a child: ours without any MUGAIKA_* (they would override the config). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MUGAIKA_')) env[k] = v;
  return { ...env, ...extra };
}

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const dir = opts.dataDir ? path.dirname(opts.dataDir) : tempDir('mugaika-relay-');
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  // Registered first, so it runs after every gateway of the test (restarts included) is gone.
  if (!opts.dataDir && !process.env.MUGAIKA_KEEP_TEST_DIRS) onCleanup(() => rm(dir, { recursive: true, force: true }));
  const configFile = writeConfig(dir, opts, dataDir);
  const argv = [process.execPath, BIN, 'serve', '--config', configFile];
  const [cmd, ...args] = [...(opts.under ?? []), ...argv] as [string, ...string[]];
  const proc = spawn(cmd, args, { cwd: dir, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let stderr = '';
  let pending = '';
  const waiters = new Set<() => void>();
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 0, msg: line });
      }
    }
    for (const w of waiters) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      for (const w of waiters) w();
      resolve(exitInfo);
    }),
  );

  const waitLog = (what: string, pred: (l: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = logs.find(pred);
        if (hit) {
          done();
          resolve(hit);
        } else if (exitInfo) {
          done();
          reject(new Error(`gateway exited (${JSON.stringify(exitInfo)}) before ${what}; stderr: ${stderr.slice(-2000)}; log: ${JSON.stringify(logs.slice(-5))}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; stderr: ${stderr.slice(-2000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const kill = (signal: NodeJS.Signals = 'SIGKILL'): void => {
    if (exitInfo === null) proc.kill(signal);
  };
  onCleanup(async () => {
    kill('SIGKILL');
    await exited;
  });

  const started = await waitLog('the started line', (l) => l.msg === 'mugaika gateway started', 30_000);
  const portOf = (hostPort: unknown): number => Number(/:(\d+)$/.exec(String(hostPort))?.[1]);
  return {
    proc,
    dataDir,
    configFile,
    smtpPort: portOf(started.smtp),
    webPort: portOf(started.web),
    logs,
    stderr: () => stderr,
    exited,
    waitLog,
    kill,
    async stop() {
      kill('SIGTERM');
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------
// Clients.

export interface SendResult {
  ok: boolean;
  /** The SMTP reply code of the final answer (or of the refusal). */
  code: number | null;
  response: string;
  queueId: string | null;
  /** nodemailer's error code (ECONNECTION, EENVELOPE, EMESSAGE…) on failure. */
  error?: string;
}

export interface Client {
  send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<SendResult>;
  close(): void;
}

/** A pooled nodemailer client for the gateway's SMTP port. */
export function client(port: number, maxConnections = 4): Client {
  const transport = nodemailer.createTransport({
    host: HOST,
    port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections,
    maxMessages: Infinity,
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 30_000,
    logger: false,
  });
  transport.on('error', () => undefined);
  let closed = false;
  const c: Client = {
    async send(envelope, raw) {
      try {
        const info = await transport.sendMail({ envelope, raw });
        const response = String(info.response ?? '');
        return { ok: true, code: Number(response.slice(0, 3)) || null, response, queueId: /queued as ([0-9A-Z]+)/.exec(response)?.[1] ?? null };
      } catch (caught) {
        const err = caught as { responseCode?: number; response?: string; message?: string; code?: string };
        return { ok: false, code: err.responseCode ?? null, response: err.response ?? err.message ?? String(caught), queueId: null, error: err.code ?? 'unknown' };
      }
    },
    close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
  onCleanup(async () => c.close());
  return c;
}

/** A raw SMTP dialogue: send lines, read whole (multi-line) replies. */
export class Talk {
  readonly socket: net.Socket;
  private buffer = '';
  private replies: string[] = [];
  private waiting: Array<() => void> = [];
  closed = false;
  readonly closedAt: Promise<number>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (;;) {
        // A reply ends with a line "ddd " (or just "ddd").
        const m = /(?:^|\r\n)(\d{3})(?: [^\r\n]*)?\r\n/.exec(this.buffer);
        if (!m) break;
        const end = m.index + m[0].length;
        this.replies.push(this.buffer.slice(0, end).replace(/^\r\n/, ''));
        this.buffer = this.buffer.slice(end);
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closedAt = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve(Date.now());
      }),
    );
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  /** `from`: the local address to connect from (any of 127.0.0.0/8 works on Linux), to play another client. */
  static async open(port: number, readGreeting = true, from?: string): Promise<Talk> {
    const socket = net.connect({ port, host: HOST, ...(from ? { localAddress: from } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const t = new Talk(socket);
    onCleanup(async () => {
      t.socket.destroy();
    });
    if (readGreeting) await t.reply();
    return t;
  }

  /** The next complete reply; '' if the connection closed first. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closed) return '';
      if (Date.now() > until) throw new Error(`no SMTP reply within ${timeoutMs} ms (buffer: ${JSON.stringify(this.buffer.slice(0, 200))})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, until - Date.now()));
        this.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies.shift()!;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }
}

// ---------------------------------------------------------------------------
// Looking at the gateway from outside.

export interface SpoolFiles {
  incoming: string[];
  outgoing: string[];
  tmp: string[];
}

export function spoolFiles(dataDir: string): SpoolFiles {
  const ls = (sub: string): string[] => {
    const dir = path.join(dataDir, 'spool', sub);
    return existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir) : [];
  };
  return { incoming: ls('incoming'), outgoing: ls('outgoing'), tmp: ls('tmp') };
}

export const spoolEmpty = (dataDir: string): boolean => {
  const s = spoolFiles(dataDir);
  return s.incoming.length === 0 && s.outgoing.length === 0;
};

export interface TransferLine {
  at: string;
  /** The audit action ('received', 'verdict', 'delivered', 'deferred', 'bounced', ...). */
  event: string;
  queueId: string;
  from?: string;
  to?: string[];
  verdict?: string;
  detail?: string;
}

const RELAY_ACTIONS = new Set(['received', 'verdict', 'delivered', 'deferred', 'bounced', 'rejected', 'bounce-delivered', 'bounce-failed']);

/** The relay's records in the gateway's audit log (SQLite under the data dir), oldest first. */
export function transfers(dataDir: string): TransferLine[] {
  const file = path.join(dataDir, 'mugaika.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db.prepare('SELECT time, action, object, details FROM audit_records ORDER BY seq').all() as { time: string; action: string; object: string | null; details: string }[];
    return rows.filter((r) => RELAY_ACTIONS.has(r.action) && r.object).map((r) => ({ ...(JSON.parse(r.details) as Partial<TransferLine>), at: r.time, event: r.action, queueId: r.object! }));
  } finally {
    db.close();
  }
}

/**
 * Runs the real CLI (`mugaika ARGS`) and returns its exit code and output. Asynchronous:
 * the sinks live in this process and must keep answering meanwhile.
 */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface QueueLine {
  id: string;
  stage: string;
  kind: string;
  from: string;
  pending: number;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
}

export async function queueList(dataDir: string): Promise<QueueLine[]> {
  const r = await cli(['queue', 'list', '--json', '--data-dir', dataDir]);
  if (r.code !== 0) throw new Error(`mugaika queue list exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as QueueLine);
}

export async function http(port: number, route: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${HOST}:${port}${route}`);
  return { status: res.status, body: await res.text() };
}

/** The value of a Prometheus sample, e.g. metric(body, 'mugaika_messages_received_total'). */
export function metric(body: string, name: string, labels = ''): number | null {
  const esc = `${name}${labels}`.replace(/[{}"\\[\]().*+?^$|]/g, '\\$&');
  const m = new RegExp(`^${esc} ([0-9.e+-]+)$`, 'm').exec(body);
  return m ? Number(m[1]) : null;
}
