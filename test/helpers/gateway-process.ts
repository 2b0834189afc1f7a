// Runs the real `node bin/mugaika.js serve` (the compiled gateway, built by
// test/global-setup.ts or `npm run build`) as a child process and reads its
// JSON log: the 'mugaika gateway started' line gives the actual ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MUGAIKA_BIN = path.join(ROOT, 'bin', 'mugaika.js');

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  smtpPort: number;
  webPort: number;
  dataDir: string;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** Non-JSON output (stderr, crashes). */
  text: string[];
  /** Peak resident set size so far (VmHWM from /proc), in bytes. */
  peakRss(): number;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** stop() and remove the data dir. */
  destroy(): Promise<void>;
}

export interface GatewayOptions {
  /** MUGAIKA_NEXT_HOP; without it mail goes to DATA_DIR/maildir. */
  nextHop?: string;
  /** MUGAIKA_SMTP_LISTEN; 127.0.0.1:0 (a free port) by default. */
  smtpListen?: string;
  dataDir?: string;
  /** A config file (--config). */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Options for node itself, before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export async function startGatewayProcess(options: GatewayOptions = {}): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'mugaika-gw-'));
  const args = [...(options.nodeArgs ?? []), MUGAIKA_BIN, 'serve', ...(options.configFile ? ['--config', options.configFile] : [])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MUGAIKA_SMTP_LISTEN: options.smtpListen ?? '127.0.0.1:0',
      MUGAIKA_WEB_LISTEN: '127.0.0.1:0',
      MUGAIKA_DATA_DIR: dataDir,
      MUGAIKA_NEXT_HOP: options.nextHop ?? '',
      ...options.env,
    },
  });
  const logs: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'mugaika gateway started') resolve(entry);
        } catch {
          text.push(line);
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => text.push(chunk));
    void exit.then(() => reject(new Error(`mugaika serve exited (code ${child.exitCode}, signal ${child.signalCode}) before it started:\n${text.join('')}`)));
    setTimeout(() => reject(new Error(`mugaika serve did not start within ${options.startTimeoutMs ?? 20_000} ms:\n${text.join('')}`)), options.startTimeoutMs ?? 20_000).unref();
  });

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exit;
    clearTimeout(timer);
  };

  let line: Record<string, unknown>;
  try {
    line = await started;
  } catch (err) {
    await stop(1000);
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const portOf = (hostPort: unknown): number => Number(/:(\d+)$/.exec(String(hostPort))?.[1]);
  const pid = child.pid!;
  let peak = 0;
  return {
    child,
    pid,
    smtpPort: portOf(line.smtp),
    webPort: portOf(line.web),
    dataDir,
    logs,
    text,
    peakRss() {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        // exited: the last reading stands
      }
      return peak;
    },
    stop,
    async destroy() {
      await stop();
      if (!options.dataDir && !process.env.MUGAIKA_KEEP_TEMP) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
