// ClamAV's daemon as the core's MalwareScanner: one connection to its Unix
// socket per file, the bytes sent with INSTREAM (zINSTREAM: chunks each after
// its length as 4 bytes big-endian, then a zero length), and its one-line
// answer read back ("stream: OK", "stream: <signature> FOUND", or an error
// such as "INSTREAM size limit exceeded" past its StreamMaxLength). Any answer
// the daemon does not give, in time and whole, is `unavailable`: the core
// decides what that means (policy scan.unavailable). Never rejects.
import net from 'node:net';
import type { MalwareScanner, ScanResult } from '../core/ports.js';
import { pingClamd } from './clamd-health.js';

export interface ClamdOptions {
  /** clamd's LocalSocket. */
  socketPath: string;
  /** How long one file may take, connection included, ms (the message's own deadline may cut it shorter). */
  timeoutMs: number;
}

/** Bytes per INSTREAM chunk. */
const CHUNK = 64 * 1024;
/** clamd's answers are one short line; more than this is not clamd. */
const MAX_REPLY = 4096;

const unavailable = (reason: Extract<ScanResult, { verdict: 'unavailable' }>['reason'], detail: string): ScanResult => ({ verdict: 'unavailable', reason, detail: detail.slice(0, 300) });

/** A signature name as shown to people: printable ASCII without spaces or brackets, bounded. */
const signatureName = (untrusted: string): string => untrusted.replace(/[^A-Za-z0-9._:/+-]/g, '_').slice(0, 100) || '?';

/** Reads clamd's answer to one stream. */
export function parseReply(untrustedReply: string): ScanResult {
  const line = untrustedReply.replace(/\0+$/, '').trim();
  if (line === 'stream: OK') return { verdict: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(line);
  if (found) return { verdict: 'found', signature: signatureName(found[1]!) };
  if (/size limit exceeded/i.test(line)) return unavailable('limit', `clamd: ${line}`);
  return unavailable('failed', `clamd answered: ${line.replace(/[^\x20-\x7e]/g, '?')}`);
}

/** The INSTREAM frame of one chunk: its length (4 bytes, big-endian), then the bytes. */
const frame = (chunk: Uint8Array): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(chunk.byteLength);
  return Buffer.concat([head, chunk]);
};

function scanOnce(opts: ClamdOptions, bytes: Uint8Array, until: number): Promise<ScanResult> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: opts.socketPath });
    const reply: Buffer[] = [];
    let replyBytes = 0;
    let connected = false;
    let sent = 0;
    let failure: Error | null = null;
    let settled = false;
    const done = (r: ScanResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const waited = Math.max(0, until - Date.now());
    const timer = setTimeout(() => done(unavailable('timeout', `clamd at ${opts.socketPath} did not answer within ${waited} ms`)), waited);
    const answer = (): string => Buffer.concat(reply).toString('latin1');

    socket.on('connect', () => {
      connected = true;
      void (async () => {
        // One chunk at a time, each flushed before the next: clamd answers and
        // closes as soon as the stream passes its StreamMaxLength, and that
        // answer is read before a later write fails on the closed socket.
        // (setImmediate: after the event loop has polled for that answer.)
        const send = (b: Buffer): Promise<void> =>
          new Promise((ok, fail) =>
            socket.write(b, (err) => {
              if (err) return fail(err);
              sent += b.byteLength;
              setImmediate(ok);
            }),
          );
        await send(Buffer.from('zINSTREAM\0', 'latin1'));
        for (let at = 0; at < bytes.byteLength && !settled; at += CHUNK) await send(frame(bytes.subarray(at, at + CHUNK)));
        if (!settled) await send(Buffer.alloc(4));
      })().catch(() => undefined); // a write that fails ends in 'error' and 'close', handled there
    });
    socket.on('data', (chunk: Buffer) => {
      reply.push(chunk);
      replyBytes += chunk.length;
      if (chunk.includes(0)) done(parseReply(answer()));
      else if (replyBytes > MAX_REPLY) done(unavailable('failed', 'clamd answered more than one line'));
    });
    socket.on('error', (err) => {
      failure = err;
    });
    // clamd closes at once after some errors (size limit): what it said before is its answer.
    socket.on('close', () => {
      if (replyBytes > 0) return done(parseReply(answer()));
      const why = failure ? failure.message : 'the connection closed without an answer';
      if (!connected) return done(unavailable('unreachable', `clamd at ${opts.socketPath} is not reachable: ${why}`));
      const stopped = unavailable('failed', `clamd at ${opts.socketPath} stopped mid-scan: ${why}`);
      if (sent === 0) return done(stopped);
      // A write can fail (EPIPE) before the answer clamd sent as it closed has
      // been read: Node then drops the socket and the answer with it. A daemon
      // that closed a stream it was being fed, yet still answers, closed it at
      // its StreamMaxLength; one that does not answer has gone.
      void pingClamd(opts.socketPath, Math.max(1, Math.min(5000, until - Date.now()))).then((alive) =>
        done(alive ? unavailable('limit', `clamd closed the stream after ${sent} bytes and still answers: the file is over its StreamMaxLength`) : stopped),
      );
    });
  });
}

export function createClamdScanner(opts: ClamdOptions): MalwareScanner {
  return {
    scan: (untrustedBytes, deadline) => scanOnce(opts, untrustedBytes, Math.min(deadline, Date.now() + opts.timeoutMs)),
  };
}
