// One LibreOffice converter process (a sandbox running convert.py): started
// ahead of need, it reports READY once LibreOffice is up, takes exactly one
// document and exits. It is killed with SIGKILL on the deadline or on close;
// the sandbox's PID namespace (or PR_SET_PDEATHSIG outside one) takes soffice
// down with it.
import { spawn } from 'node:child_process';
import type { OneShotProcess, ProcessExit } from '../warm-pool.js';
import type { OfficeCommand } from './sandbox.js';
import type { SheetValuesRequest } from '../../core/ports.js';
import type { OfficeFormat } from './types.js';

/** A LibreOffice sandbox; `ready` once LibreOffice is up and waiting. */
export interface OfficeProcess extends OneShotProcess {
  /** Hands over the one document (and, for a workbook, what to answer of its sheets); the process starts work at EOF. */
  send(format: OfficeFormat, untrustedBytes: Uint8Array, sheets?: SheetValuesRequest): void;
  /** Everything the process wrote to stdout after READY: untrusted. */
  answer(): Buffer;
}

const READY = Buffer.from('READY\n');
const STDERR_KEEP = 2048;

/**
 * `maxAnswerBytes` bounds what is kept from stdout: a process that writes
 * more is killed (its answer is then incomplete and fails to parse).
 */
export function startOfficeProcess(command: OfficeCommand, maxAnswerBytes: number, onExit?: () => void): OfficeProcess {
  const child = spawn(command.file, command.args, { env: command.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let alive = true;
  let tail = '';
  let stdout = Buffer.alloc(0);
  let isReady = false;
  let markReady: (ready: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => (markReady = resolve));

  const kill = (): void => {
    if (!alive || child.pid === undefined) return;
    // The process group: outside a sandbox, convert.py and anything it left.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };

  child.stdout.on('data', (chunk: Buffer) => {
    stdout = Buffer.concat([stdout, chunk]);
    if (!isReady && stdout.length >= READY.length) {
      if (!stdout.subarray(0, READY.length).equals(READY)) {
        kill();
        return;
      }
      isReady = true;
      stdout = stdout.subarray(READY.length);
      markReady(true);
    }
    if (stdout.length > maxAnswerBytes) kill();
  });
  child.stderr.setEncoding('latin1');
  child.stderr.on('data', (text: string) => {
    tail = (tail + text).slice(-STDERR_KEEP);
  });
  // A process that dies before reading its input makes writes fail with
  // EPIPE: the exit status tells what happened, the write error adds nothing.
  child.stdin.on('error', () => {});

  const exited = new Promise<ProcessExit>((resolve) => {
    const done = (exit: ProcessExit): void => {
      if (!alive) return;
      alive = false;
      markReady(false);
      onExit?.();
      resolve(exit);
    };
    child.once('error', (err) => done({ code: null, signal: null, error: err.message }));
    // 'close', not 'exit': all of stdout has been read by then.
    child.once('close', (code, signal) => done({ code, signal }));
  });

  return {
    ready,
    exited,
    isAlive: () => alive,
    send(format, untrustedBytes, sheets) {
      const values = sheets ? ` sheets=${Math.floor(sheets.maxCellsPerSheet)},${Math.floor(sheets.maxBytes)},${sheets.hidden}` : '';
      child.stdin.write(`${format}${values}\n`);
      child.stdin.end(untrustedBytes);
    },
    answer: () => stdout,
    kill,
    stderrTail: () => tail.replace(/[^\x20-\x7e\n]/g, '?').trim(),
  };
}
