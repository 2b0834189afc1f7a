// A private ClamAV daemon for the scanning tests: Debian's clamd (clamav-daemon,
// installed by scripts/system-deps.sh) started in the foreground from a
// temporary clamd.conf, its socket and signature database in a temporary
// folder, as the unprivileged `clamav` user when the tests run as root. No
// freshclam, no network: the database is one .hdb line the test writes, the
// MD5 of the EICAR test file (built here from pieces, so that no file of this
// repository is itself the test file).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './run.js';

/** The EICAR anti-virus test file: harmless, and every scanner's agreed test. */
export const EICAR = Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE', '!$H+H*'].join(''), 'latin1');
/** The name our .hdb gives it; clamd reports signatures of a database it does not know as `.UNOFFICIAL`. */
export const EICAR_SIGNATURE = 'Mugaika.Test.EICAR.UNOFFICIAL';

export interface Clamd {
  socket: string;
  dir: string;
  log(): string;
  /** SIGSTOP: connections are taken by the kernel and never answered. */
  pause(): void;
  /** SIGKILL, and waits for it to be gone (its socket file stays, refusing connections). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether clamd answers PING on `socket`. */
const pong = (socket: string): Promise<boolean> =>
  new Promise((resolve) => {
    const c = net.createConnection({ path: socket });
    let got = '';
    c.on('connect', () => c.write('zPING\0'));
    c.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\0')) {
        c.destroy();
        resolve(got.startsWith('PONG'));
      }
    });
    c.on('error', () => resolve(false));
  });

/** Starts clamd; `streamMaxLength` is its StreamMaxLength (e.g. '1M'); `socket` where it listens (in a folder anyone may write to). */
export async function startClamd(opts: { streamMaxLength?: string; socket?: string } = {}): Promise<Clamd> {
  const dir = tempDir('mugaika-clamd-');
  const db = path.join(dir, 'db');
  mkdirSync(db);
  writeFileSync(path.join(db, 'test.hdb'), `${createHash('md5').update(EICAR).digest('hex')}:${EICAR.length}:Mugaika.Test.EICAR\n`);
  const socket = opts.socket ?? path.join(dir, 'clamd.sock');
  const conf = path.join(dir, 'clamd.conf');
  writeFileSync(
    conf,
    [
      `LocalSocket ${socket}`,
      'LocalSocketMode 666',
      `DatabaseDirectory ${db}`,
      `TemporaryDirectory ${dir}`,
      `PidFile ${dir}/clamd.pid`,
      'Foreground yes',
      `StreamMaxLength ${opts.streamMaxLength ?? '25M'}`,
      'SelfCheck 0',
      '',
    ].join('\n'),
  );
  let ids: { uid: number; gid: number } | null = null;
  if (process.getuid?.() === 0) {
    ids = { uid: Number(execFileSync('id', ['-u', 'clamav']).toString()), gid: Number(execFileSync('id', ['-g', 'clamav']).toString()) };
    chownSync(dir, ids.uid, ids.gid);
    for (const e of readdirSync(dir)) chownSync(path.join(dir, e), ids.uid, ids.gid);
  }
  const child: ChildProcess = spawn('/usr/sbin/clamd', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (log += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Loading even one signature takes clamd a while on a busy machine: wait with room.
  const until = Date.now() + 120_000;
  while (!(await pong(socket))) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`clamd did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    socket,
    dir,
    log: () => log,
    pause: () => void child.kill('SIGSTOP'),
    kill,
    stop: kill,
  };
}
