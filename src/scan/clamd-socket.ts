// One conversation with clamd over its Unix socket: connect, write a request,
// read one NUL-terminated answer, bounded in size and time. Settles once and
// never rejects; what the answer (or its absence) means is the caller's
// (clamd.ts for INSTREAM, clamd-health.ts for PING).
import net from 'node:net';

export type Talk =
  /** Everything clamd sent, up to and including the chunk with its NUL (latin1). */
  | { end: 'answer'; untrustedAnswer: string }
  /** More than `maxReply` bytes without a NUL. */
  | { end: 'too-long' }
  /** No answer by `until`. */
  | { end: 'timeout' }
  /** The socket closed before a NUL: what was read by then (maybe nothing), whether it ever connected, the bytes flushed, the socket's error if any. */
  | { end: 'closed'; untrustedAnswer: string; connected: boolean; sent: number; error: Error | null };

/** Writes `b` and resolves once it is flushed; rejects when the write fails. */
export type Send = (b: Buffer) => Promise<void>;

/** `request` writes with `send` once connected; `over()` says the conversation has ended (stop writing). */
export function talkToClamd(socketPath: string, until: number, maxReply: number, request: (send: Send, over: () => boolean) => Promise<void>): Promise<Talk> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: socketPath });
    const reply: Buffer[] = [];
    let replyBytes = 0;
    let connected = false;
    let sent = 0;
    let error: Error | null = null;
    let settled = false;
    const done = (t: Talk): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(t);
    };
    const timer = setTimeout(() => done({ end: 'timeout' }), Math.max(0, until - Date.now()));
    const answer = (): string => Buffer.concat(reply).toString('latin1');

    socket.on('connect', () => {
      connected = true;
      // Each write is flushed before the next may start: clamd answers and
      // closes as soon as a stream passes its StreamMaxLength, and that answer
      // is read before a later write fails on the closed socket.
      // (setImmediate: after the event loop has polled for that answer.)
      const send: Send = (b) =>
        new Promise((ok, fail) =>
          socket.write(b, (err) => {
            if (err) return fail(err);
            sent += b.byteLength;
            setImmediate(ok);
          }),
        );
      request(send, () => settled).catch(() => undefined); // a write that fails ends in 'error' and 'close', handled there
    });
    socket.on('data', (chunk: Buffer) => {
      reply.push(chunk);
      replyBytes += chunk.length;
      if (chunk.includes(0)) done({ end: 'answer', untrustedAnswer: answer() });
      else if (replyBytes > maxReply) done({ end: 'too-long' });
    });
    socket.on('error', (err) => {
      error = err;
    });
    socket.on('close', () => done({ end: 'closed', untrustedAnswer: answer(), connected, sent, error }));
  });
}
