// One rasterizer process: started ahead of need, given exactly one document,
// killed with SIGKILL when it is done, fails or runs out of time.
//
// The child's stdout is one end of a Unix socket pair the parent makes (a
// listening socket in a private 0700 folder, connected to and removed at
// once); the parent reads its end with a fixed 1 MiB read buffer (net's
// `onread`). A stdio pipe from spawn() would deliver 64 KiB chunks, each a
// new Buffer through stream machinery: for 6.5 MB of pixels a page, that
// halved the rate pages could cross.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ByteReader } from './byte-reader.js';
import { encodeJob, type RasterJob, READY_LINE } from './protocol.js';
import type { OneShotProcess, ProcessExit } from '../warm-pool.js';
import type { RasterizerCommand } from './sandbox.js';

/**
 * A rasterizer; `ready` once it has loaded and warmed mupdf. kill() sends
 * SIGKILL as soon as the sandbox is fully set up (at once if it is).
 */
export interface RasterizerProcess extends OneShotProcess {
  /** Frames from the child: untrusted. */
  readonly frames: ByteReader;
  /** Hands over the job and the document; the child starts work at EOF. */
  send(job: RasterJob, untrustedPdf: Uint8Array): void;
}

const STDERR_KEEP = 4096;
/** How long a kill may wait for the sandbox to finish setting up. */
const SETUP_GRACE_MS = 3000;
const READ_BUFFER_BYTES = 1 << 20;

/** A connected pair of Unix stream sockets: ours reads into `onread`, theirs goes to the child. */
async function socketPair(onread: (bytes: Uint8Array) => boolean): Promise<{ ours: net.Socket; theirs: net.Socket }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mugaika-raster-'));
  const server = net.createServer();
  try {
    const address = path.join(dir, 'frames');
    server.listen(address);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const ours = net.connect({ path: address, onread: { buffer, callback: (n: number, buf: Uint8Array) => onread(buf.subarray(0, n)) } });
    const [[theirs]] = await Promise.all([accepted, once(ours, 'connect')]);
    return { ours, theirs };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function startRasterizer(command: RasterizerCommand): RasterizerProcess {
  let child: ChildProcess | null = null;
  let ours: net.Socket | null = null;
  let alive = true;
  let ready = false;
  let killWanted = false;
  let sent = false;
  let tail = '';
  let markReady: (ok: boolean) => void = () => {};
  const readyPromise = new Promise<boolean>((resolve) => (markReady = resolve));
  let markExited: (exit: ProcessExit) => void = () => {};
  const exited = new Promise<ProcessExit>((resolve) => (markExited = resolve));
  const ended = (exit: ProcessExit): void => {
    alive = false;
    markReady(false);
    markExited(exit);
  };
  const frames = new ByteReader(() => ours?.resume());

  const sigkill = (): void => {
    if (alive) child?.kill('SIGKILL');
  };

  const started = (async (): Promise<ChildProcess | null> => {
    let pair: { ours: net.Socket; theirs: net.Socket };
    try {
      pair = await socketPair((bytes) => frames.push(bytes));
    } catch (err) {
      frames.end();
      ended({ code: null, signal: null, error: `no socket for the rasterizer's output: ${err instanceof Error ? err.message : String(err)}` });
      return null;
    }
    ours = pair.ours;
    if (killWanted) {
      // Killed (pool closed) before it existed: nothing to start.
      pair.theirs.destroy();
      ours.destroy();
      frames.end();
      ended({ code: null, signal: 'SIGKILL' });
      return null;
    }
    // EOF once the child (and whatever it forked) has let go of its end, after
    // everything it wrote has been read.
    ours.on('end', () => frames.end());
    ours.on('error', () => frames.end());
    const proc = spawn(command.file, command.args, { env: command.env, stdio: ['pipe', pair.theirs, 'pipe'] });
    // The child holds its own copy of the socket now.
    pair.theirs.destroy();
    child = proc;
    proc.stderr!.setEncoding('latin1');
    proc.stderr!.on('data', (text: string) => {
      tail = (tail + text).slice(-STDERR_KEEP);
      if (!ready && tail.includes(READY_LINE)) {
        ready = true;
        markReady(true);
        if (killWanted) sigkill();
      }
    });
    // A child that dies before reading its input makes writes fail with EPIPE:
    // the exit status tells what happened, the write error adds nothing.
    proc.stdin!.on('error', () => {});
    proc.once('error', (err) => {
      ours?.destroy();
      frames.end();
      ended({ code: null, signal: null, error: err.message });
    });
    // 'close', not 'exit': it comes once every holder of the child's stdin and
    // stderr is gone, i.e. also the sandboxed node behind bubblewrap. Frames it
    // wrote before may still wait unread in our socket.
    proc.once('close', (code, signal) => {
      // Nobody is reading a process that died before it got a job (a crash while warm).
      if (!sent) {
        ours?.destroy();
        frames.end();
      }
      ended({ code, signal });
    });
    if (killWanted && !ready) setTimeout(sigkill, SETUP_GRACE_MS).unref();
    return proc;
  })();

  return {
    frames,
    exited,
    ready: readyPromise,
    isAlive: () => alive,
    send(job, untrustedPdf) {
      sent = true;
      void started.then((proc) => {
        if (!proc?.stdin) return;
        proc.stdin.write(encodeJob(job));
        proc.stdin.end(untrustedPdf);
      });
    },
    kill() {
      // Our end of the socket goes once the process is gone: whoever killed it
      // has read what they wanted (a paused socket would never see its EOF).
      void exited.then(() => {
        ours?.destroy();
        frames.end();
      });
      if (!alive || killWanted) return;
      killWanted = true;
      if (!child) return; // started() kills it once it exists
      if (ready) sigkill();
      else setTimeout(sigkill, SETUP_GRACE_MS).unref();
    },
    stderrTail: () => tail.replace(/[^\x20-\x7e\n]/g, '?'),
  };
}
