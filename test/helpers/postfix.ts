// A private Postfix instance for tests and benchmarks: its own config directory,
// queue, data directory and log file under one temporary folder, listening on
// 127.0.0.1 high ports only. The system Postfix (/etc/postfix) is never read,
// started or changed.
//
//   postfix -c DIR/etc start     master daemonizes; `postfix start` returns once
//                                master has opened its listeners (master -w)
//   postfix -c DIR/etc stop      then we wait until `postfix status` says the
//                                master lock is released
//
// Running Postfix needs root (master binds and drops privileges to the
// `postfix` user) and the Debian postfix package: scripts/system-deps.sh
// installs it, and `npm test` runs that script first (pretest).
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, chmodSync, chownSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

export const POSTFIX = '/usr/sbin/postfix';
export const POSTCONF = '/usr/sbin/postconf';
export const POSTQUEUE = '/usr/sbin/postqueue';
export const SMTP_SINK = '/usr/sbin/smtp-sink';
export const SMTP_SOURCE = '/usr/sbin/smtp-source';

const MISSING_HINT = 'run `bash scripts/system-deps.sh` as root (npm test runs it as its pretest step)';

/** Why a private Postfix cannot run here, or null when it can. */
export function postfixUnavailable(): string | null {
  for (const bin of [POSTFIX, POSTCONF, POSTQUEUE]) {
    if (!existsSync(bin)) return `${bin} is missing: the Debian package postfix is not installed; ${MISSING_HINT}`;
  }
  if (process.getuid?.() !== 0) return 'a private Postfix instance must be started as root (its master daemon binds and then drops to the postfix user)';
  try {
    execFileSync('id', ['-u', 'postfix'], { stdio: 'pipe' });
  } catch {
    return `the system user "postfix" does not exist; ${MISSING_HINT}`;
  }
  return null;
}

/** Asks the kernel for a free TCP port on 127.0.0.1 (closed again at once; another process could take it in between). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The services every Postfix needs, as in Debian's master.cf, but with chroot
 * off (a chroot into a temporary queue would lack /etc files) and no public
 * port: the caller adds its own inet listeners.
 */
export const BASE_MASTER_CF = `# Base services of a private test instance (from Debian's master.cf, chroot off)
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

export interface PostfixOptions {
  /** Lines appended to the base main.cf (e.g. examples/postfix/main.cf). */
  mainCf?: string;
  /** Entries appended to the base master.cf: at least one inet smtpd listener. */
  masterCf?: string;
  /**
   * Writes main.cf and master.cf into the config directory itself instead
   * (e.g. docker/postfix/entrypoint.sh); mainCf and masterCf are then unused.
   * The instance's own directories, log and interface are set over it.
   */
  generate?: (configDir: string, root: string) => Promise<void>;
  /** Parameters set last with `postconf -c DIR -e name=value`, as an administrator would adapt a template. */
  postconf?: Record<string, string>;
  /** myhostname, for the logs and Received lines. */
  hostname?: string;
  /** Folder prefix for the temporary directory. */
  prefix?: string;
}

export interface PostfixInstance {
  /** The temporary folder holding etc/, queue/, data/ and postfix.log. */
  root: string;
  configDir: string;
  queueDir: string;
  logFile: string;
  /** The instance's main.cf as postconf -n reads it. */
  settings(): Promise<string>;
  start(): Promise<void>;
  /** Sets main.cf parameters (`postconf -e`); reload() makes a running instance use them. */
  set(settings: Record<string, string>): Promise<void>;
  /** `postfix -c DIR reload`. */
  reload(): Promise<void>;
  /** The master daemon's process id (from queue/pid/master.pid), while it runs. */
  masterPid(): number | null;
  stop(): Promise<void>;
  /** Messages in any of the queues (incoming, active, deferred, hold), from `postqueue -j`. */
  queued(): Promise<Array<{ queue_id: string; queue_name: string; recipients: Array<{ address: string; delay_reason?: string }> }>>;
  /** Resolves once the queue is empty; rejects with the queue and the log tail after timeoutMs. */
  waitForEmptyQueue(timeoutMs?: number): Promise<void>;
  log(): string;
  /** Stops (if running) and removes the folder. */
  destroy(): Promise<void>;
}

const postfixIds = (): { uid: number; gid: number } => ({
  uid: Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim()),
  gid: Number(execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).trim()),
});

async function run(file: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFile(file, args, { encoding: 'utf8' });
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed: ${e.message.trim()}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Writes the configuration of a private instance; start() runs it. */
export async function createPostfix(options: PostfixOptions): Promise<PostfixInstance> {
  const why = postfixUnavailable();
  if (why) throw new Error(why);
  const root = mkdtempSync(path.join(tmpdir(), options.prefix ?? 'mugaika-postfix-'));
  // The postfix user must be able to reach its queue and data directories.
  chmodSync(root, 0o755);
  const configDir = path.join(root, 'etc');
  const queueDir = path.join(root, 'queue');
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'postfix.log');
  for (const d of [configDir, queueDir, dataDir]) mkdirSync(d, { mode: 0o755 });
  const ids = postfixIds();
  chownSync(dataDir, ids.uid, ids.gid);
  chmodSync(dataDir, 0o700);

  const own = {
    queue_directory: queueDir,
    data_directory: dataDir,
    maillog_file: logFile,
    maillog_file_prefixes: root,
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
  };
  if (options.generate) {
    await options.generate(configDir, root);
  } else {
    const base = [
      '# Private test instance: everything lives under one temporary folder.',
      'compatibility_level = 3.6',
      ...Object.entries(own).map(([k, v]) => `${k} = ${v}`),
      `myhostname = ${options.hostname ?? 'postfix.test.invalid'}`,
      'mydomain = test.invalid',
      'alias_maps =',
      'alias_database =',
      'biff = no',
      'smtpd_banner = $myhostname ESMTP',
      '',
    ].join('\n');
    writeFileSync(path.join(configDir, 'main.cf'), `${base}\n${options.mainCf ?? ''}\n`);
    writeFileSync(path.join(configDir, 'master.cf'), `${BASE_MASTER_CF}\n${options.masterCf ?? ''}\n`);
  }
  const set = async (settings: Record<string, string>): Promise<void> => {
    const pairs = Object.entries(settings).map(([name, value]) => `${name}=${value}`);
    if (pairs.length > 0) await run(POSTCONF, ['-c', configDir, '-e', ...pairs]);
  };
  if (options.generate) await set({ ...own, ...(options.hostname ? { myhostname: options.hostname } : {}) });
  await set(options.postconf ?? {});

  let running = false;
  const logTail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const isRunning = async (): Promise<boolean> => {
    try {
      await execFile(POSTFIX, ['-c', configDir, 'status']);
      return true;
    } catch {
      return false;
    }
  };

  const instance: PostfixInstance = {
    root,
    configDir,
    queueDir,
    logFile,
    settings: () => run(POSTCONF, ['-c', configDir, '-n']),
    async start() {
      // `postfix start` runs `postfix check` first: warnings go to the log, errors fail it.
      try {
        await run(POSTFIX, ['-c', configDir, 'start']);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- ${logFile} ---\n${logTail()}`);
      }
      running = true;
    },
    set,
    masterPid() {
      try {
        const pid = Number(readFileSync(path.join(queueDir, 'pid', 'master.pid'), 'utf8').trim());
        return Number.isInteger(pid) && pid > 0 ? pid : null;
      } catch {
        return null;
      }
    },
    async reload() {
      await run(POSTFIX, ['-c', configDir, 'reload']);
    },
    async stop() {
      if (!running) return;
      running = false;
      await run(POSTFIX, ['-c', configDir, 'stop']).catch(() => undefined);
      // `postfix stop` signals the master and returns; wait for the master to let go of its lock.
      const deadline = Date.now() + 10_000;
      while ((await isRunning()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (await isRunning()) await run(POSTFIX, ['-c', configDir, 'abort']).catch(() => undefined);
    },
    async queued() {
      const out = await run(POSTQUEUE, ['-c', configDir, '-j']);
      return out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { queue_id: string; queue_name: string; recipients: Array<{ address: string; delay_reason?: string }> });
    },
    async waitForEmptyQueue(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let left = await instance.queued();
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        left = await instance.queued();
      }
      if (left.length > 0) throw new Error(`Postfix queue not empty after ${timeoutMs} ms: ${JSON.stringify(left)}\n--- ${logFile} ---\n${logTail()}`);
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async destroy() {
      await instance.stop();
      if (!process.env.MUGAIKA_KEEP_TEMP) rmSync(root, { recursive: true, force: true });
    },
  };
  return instance;
}
