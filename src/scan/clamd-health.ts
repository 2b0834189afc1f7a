// Whether clamd answers, for the SMTP door: with policy scan.unavailable
// tempfail, a message is not taken (451 at MAIL FROM) while the scanner is
// down, rather than accepted and held. One PING at a time; its answer is kept
// for a few seconds, so a busy door asks clamd once, not once per session.
import { talkToClamd } from './clamd-socket.js';

/** How long an answer holds, ms. */
const KEEP_MS = 2000;

/** clamd answers `zPING\0` with `PONG\0` when it can take work. */
export async function pingClamd(socketPath: string, timeoutMs: number): Promise<boolean> {
  const talk = await talkToClamd(socketPath, Date.now() + timeoutMs, 64, (send) => send(Buffer.from('zPING\0', 'latin1')));
  return talk.end === 'answer' && talk.untrustedAnswer.replace(/\0+$/, '').trim() === 'PONG';
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
