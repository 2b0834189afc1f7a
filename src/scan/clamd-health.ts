// Whether clamd answers, for the SMTP door: with policy scan.unavailable
// tempfail, a message is not taken (451 at MAIL FROM) while the scanner is
// down, rather than accepted and held. One PING at a time; its answer is kept
// for a few seconds, so a busy door asks clamd once, not once per session.
import net from 'node:net';

/** How long an answer holds, ms. */
const KEEP_MS = 2000;

/** clamd answers `zPING\0` with `PONG\0` when it can take work. */
export function pingClamd(socketPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: socketPath });
    let answer = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('zPING\0'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\0') || answer.length > 64) done(answer.replace(/\0+$/, '').trim() === 'PONG');
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

export interface ScannerHealth {
  /** clamd answered a PING within the last few seconds (or does now). */
  available(): Promise<boolean>;
}

export function createScannerHealth(socketPath: string, timeoutMs: number, now: () => number = Date.now): ScannerHealth {
  let known: { ok: boolean; at: number } | null = null;
  let asking: Promise<boolean> | null = null;
  return {
    available() {
      if (known && now() - known.at < KEEP_MS) return Promise.resolve(known.ok);
      asking ??= pingClamd(socketPath, timeoutMs).then((ok) => {
        known = { ok, at: now() };
        asking = null;
        return ok;
      });
      return asking;
    },
  };
}
