// One rasterizer process: started ahead of need, given exactly one document,
// killed with SIGKILL when it is done, fails or runs out of time.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { encodeJob, type RasterJob, READY_LINE } from './protocol.js';
import type { RasterizerCommand } from './sandbox.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

export interface RasterizerProcess {
  readonly pid: number | undefined;
  /** Frames from the child: untrusted. */
  readonly frames: Readable;
  readonly exited: Promise<ProcessExit>;
  /** Resolves true once the child has loaded and warmed mupdf, false if it exited first. */
  readonly ready: Promise<boolean>;
  isAlive(): boolean;
  /** Hands over the job and the document; the child starts work at EOF. */
  send(job: RasterJob, untrustedPdf: Uint8Array): void;
  /** SIGKILL, as soon as the sandbox is fully set up (at once if it is). */
  kill(): void;
  /** The last few KiB the child wrote to stderr, printable ASCII only. */
  stderrTail(): string;
}

const STDERR_KEEP = 4096;
/** How long a kill may wait for the sandbox to finish setting up. */
const SETUP_GRACE_MS = 3000;

export function startRasterizer(command: RasterizerCommand): RasterizerProcess {
  const child = spawn(command.file, command.args, { env: command.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let alive = true;
  let ready = false;
  let killWanted = false;
  let tail = '';
  let markReady: (ok: boolean) => void = () => {};
  const readyPromise = new Promise<boolean>((resolve) => (markReady = resolve));

  const sigkill = (): void => {
    if (alive) child.kill('SIGKILL');
  };
  child.stderr.setEncoding('latin1');
  child.stderr.on('data', (text: string) => {
    tail = (tail + text).slice(-STDERR_KEEP);
    if (!ready && tail.includes(READY_LINE)) {
      ready = true;
      markReady(true);
      if (killWanted) sigkill();
    }
  });
  // A child that dies before reading its input makes writes fail with EPIPE:
  // the exit status tells what happened, the write error adds nothing.
  child.stdin.on('error', () => {});
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (err) => {
      alive = false;
      markReady(false);
      resolve({ code: null, signal: null, error: err.message });
    });
    // 'close', not 'exit': it comes once every holder of the child's pipes is
    // gone, i.e. also the sandboxed node behind bubblewrap.
    child.once('close', (code, signal) => {
      alive = false;
      markReady(false);
      resolve({ code, signal });
    });
  });
  return {
    pid: child.pid,
    frames: child.stdout,
    exited,
    ready: readyPromise,
    isAlive: () => alive,
    send(job, untrustedPdf) {
      child.stdin.write(encodeJob(job));
      child.stdin.end(untrustedPdf);
    },
    kill() {
      if (!alive || killWanted) return;
      killWanted = true;
      if (ready) sigkill();
      else setTimeout(sigkill, SETUP_GRACE_MS).unref();
    },
    stderrTail: () => tail.replace(/[^\x20-\x7e\n]/g, '?'),
  };
}
