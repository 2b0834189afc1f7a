// ClamAV's daemon as the core's MalwareScanner: one connection to its Unix
// socket per file, the bytes sent with INSTREAM (zINSTREAM: chunks each after
// its length as 4 bytes big-endian, then a zero length), and its one-line
// answer read back ("stream: OK", "stream: <signature> FOUND", or an error
// such as "INSTREAM size limit exceeded" past its StreamMaxLength). Any answer
// the daemon does not give, in time and whole, is `unavailable`: the core
// decides what that means (policy scan.unavailable). Never rejects.
import type { MalwareScanner, ScanResult } from '../core/ports.js';
import { pingClamd } from './clamd-health.js';
import { talkToClamd } from './clamd-socket.js';

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

async function scanOnce(opts: ClamdOptions, bytes: Uint8Array, until: number): Promise<ScanResult> {
  const waited = Math.max(0, until - Date.now());
  // One chunk at a time (send waits for each to be flushed), so that clamd's
  // answer to a stream past its StreamMaxLength is read before a later write fails.
  const talk = await talkToClamd(opts.socketPath, until, MAX_REPLY, async (send, over) => {
    await send(Buffer.from('zINSTREAM\0', 'latin1'));
    for (let at = 0; at < bytes.byteLength && !over(); at += CHUNK) await send(frame(bytes.subarray(at, at + CHUNK)));
    if (!over()) await send(Buffer.alloc(4));
  });
  if (talk.end === 'answer') return parseReply(talk.untrustedAnswer);
  if (talk.end === 'too-long') return unavailable('failed', 'clamd answered more than one line');
  const timeout = unavailable('timeout', `clamd at ${opts.socketPath} did not answer within ${waited} ms`);
  if (talk.end === 'timeout') return timeout;
  // clamd closes at once after some errors (size limit): what it said before is its answer.
  if (talk.untrustedAnswer.length > 0) return parseReply(talk.untrustedAnswer);
  const why = talk.error ? talk.error.message : 'the connection closed without an answer';
  if (!talk.connected) return unavailable('unreachable', `clamd at ${opts.socketPath} is not reachable: ${why}`);
  const stopped = unavailable('failed', `clamd at ${opts.socketPath} stopped mid-scan: ${why}`);
  if (talk.sent === 0) return stopped;
  // A write can fail (EPIPE) before the answer clamd sent as it closed has
  // been read: Node then drops the socket and the answer with it. A daemon
  // that closed a stream it was being fed, yet still answers, closed it at
  // its StreamMaxLength; one that does not answer has gone. The file's time
  // still bounds the question: a PING unanswered by then is a timeout.
  const alive = await pingClamd(opts.socketPath, Math.max(1, Math.min(5000, until - Date.now())));
  if (alive) return unavailable('limit', `clamd closed the stream after ${talk.sent} bytes and still answers: the file is over its StreamMaxLength`);
  return Date.now() >= until ? timeout : stopped;
}

export function createClamdScanner(opts: ClamdOptions): MalwareScanner {
  return {
    scan: (untrustedBytes, deadline) => scanOnce(opts, untrustedBytes, Math.min(deadline, Date.now() + opts.timeoutMs)),
  };
}
