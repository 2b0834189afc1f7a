// The two SMTP sinks of the relay benchmark (bench/relay.ts), both on 127.0.0.1:
// Postfix's smtp-sink counting arrivals for the bursts, and an smtp-server in
// the bench's own process that knows each paced message by its Message-ID
// (mugaika keeps the original as X-Mugaika-Original-Message-Id), on the
// driver's clock.
import { spawn } from 'node:child_process';
import { SMTPServer } from 'smtp-server';
import { freePort, SMTP_SINK, waitForPort } from '../test/helpers/postfix.js';

/** Resolves on the next arrival (a waiter called) or after `ms`, whichever is first. */
function nextArrival(waiters: Set<() => void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      waiters.delete(done);
      resolve();
    };
    waiters.add(done);
    setTimeout(done, ms);
  });
}

export interface CountingSink {
  port: number;
  /** Messages smtp-sink has received so far. */
  count(): number;
  /** performance.now() when the count first reached n, or null if it did not within timeoutMs. */
  reached(n: number, timeoutMs: number): Promise<number | null>;
  close(): Promise<void>;
}

/** smtp-sink -c prints "sess=N quit=N mesg=N" (CR-separated) whenever a message or session ends. */
export async function startCountingSink(): Promise<CountingSink> {
  const port = await freePort();
  const child = spawn(SMTP_SINK, ['-4', '-c', '-u', 'nobody', `127.0.0.1:${port}`, '1024'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let count = 0;
  const times: number[] = []; // times[n-1] = when the n-th message was counted
  const waiters = new Set<() => void>();
  let errors = '';
  child.stderr.setEncoding('latin1').on('data', (c: string) => (errors += c));
  child.stdout.setEncoding('latin1').on('data', (chunk: string) => {
    const now = performance.now();
    for (const m of chunk.matchAll(/mesg=(\d+)/g)) {
      const n = Number(m[1]);
      while (count < n) times[count++] = now;
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, 5000);
  } catch (err) {
    child.kill();
    throw new Error(`smtp-sink did not start: ${(err as Error).message}\n${errors}`);
  }
  return {
    port,
    count: () => count,
    async reached(n, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (count < n && performance.now() < deadline) {
        await nextArrival(waiters, 200);
      }
      return count >= n ? times[n - 1]! : null;
    },
    async close() {
      child.kill();
      await exited;
    },
  };
}

export interface Arrival {
  at: number;
  verdict: string | null;
}

export interface KeyedSink {
  port: number;
  arrivals: Map<string, Arrival>;
  /** Resolves once every key has arrived, or after timeoutMs. */
  waitFor(keys: string[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startKeyedSink(): Promise<KeyedSink> {
  const arrivals = new Map<string, Arrival>();
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    logger: false,
    maxClients: 200,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const at = performance.now();
        const raw = Buffer.concat(chunks);
        const end = raw.indexOf('\r\n\r\n');
        const header = raw.subarray(0, end < 0 ? Math.min(raw.length, 8192) : end).toString('latin1');
        // mugaika gives the message a new Message-ID and keeps the old one here.
        const key = /^X-Mugaika-Original-Message-Id:\s*<([^>]+)>/im.exec(header)?.[1] ?? /^Message-ID:\s*<([^>]+)>/im.exec(header)?.[1];
        if (key && !arrivals.has(key)) arrivals.set(key, { at, verdict: /^X-Mugaika-Verdict:\s*(\S+)/im.exec(header)?.[1] ?? null });
        callback(null, 'Ok');
        for (const w of waiters) w();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as { port: number }).port,
    arrivals,
    async waitFor(keys, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (keys.some((k) => !arrivals.has(k)) && performance.now() < deadline) {
        await nextArrival(waiters, 250);
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
