// The relay benchmark (`npx tsx bench/relay.ts`): mugaika serve end to end,
// beside Postfix's pass-through rate measured in the same run, the same way.
//
//   driver ----SMTP----> target ----SMTP----> sink            (all on 127.0.0.1)
//
//   target  mugaika   `node bin/mugaika.js serve` (spool with fsync, worker
//                     sanitization), MUGAIKA_NEXT_HOP = the sink
//           postfix   a private Postfix instance (test/helpers/postfix.ts:
//                     temporary config and queue) with no content filter,
//                     transport_maps = the sink; Postfix fsyncs its queue files
//                     before it answers 250, as mugaika does its spool
//           direct    no target: driver straight into the sink (the harness's
//                     own ceiling on this machine)
//
// Two phases per target:
//   burst   throughput. Driver: smtp-source (Postfix's C load generator,
//           SESSIONS parallel sessions, connections kept open with -d); sink:
//           smtp-sink -c (C, counts arrivals). Both cost next to nothing, so
//           the 2 CPUs go to the target. Rate = BURST messages / (start ->
//           the last one counted at the sink). The first message after start
//           (cold start: mugaika's worker threads load their code) and a
//           warm-up of 500 messages (V8 still compiling mugaika's hot code
//           in its isolates) are sent and waited for before, for both targets.
//   paced   end-to-end latency. Driver: a nodemailer pool; sink: an
//           smtp-server in this process that knows each message by its
//           Message-ID (mugaika keeps the original in
//           X-Mugaika-Original-Message-Id), on the same clock as the driver.
//           PACED messages at a steady rate, the same for both targets: half
//           of mugaika's burst rate, so the gateway is busy but not saturated.
//           Latency = the client's 250 -> arrival at the sink.
//
// Mails (bench/relay-mails.ts): generated deterministically, ~10 KB on the
// wire, Japanese business text and one in 20 an HTML newsletter. The sinks
// are in bench/relay-sinks.ts.
//
// Also the peak RSS of the mugaika process (VmHWM, /proc/<pid>/status; worker
// threads included). A table on stdout, the figures in .bench/relay.json.
// Needs root and the Debian postfix package (bash scripts/system-deps.sh).
// Options: --quick (fewer messages); --config FILE (the burst gateway's config
// file); --cpu-prof DIR (V8 CPU profiles of the burst gateway, one file per
// thread, for finding where its time goes).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { startGatewayProcess, type GatewayProcess } from '../test/helpers/gateway-process.js';
import { createPostfix, freePort, postfixUnavailable, SMTP_SOURCE, waitForPort } from '../test/helpers/postfix.js';
import { mails, RCPT, type Mail } from './relay-mails.js';
import { startCountingSink, startKeyedSink, type CountingSink, type KeyedSink } from './relay-sinks.js';

const QUICK = process.argv.includes('--quick');
/** --cpu-prof DIR: the burst gateway writes V8 CPU profiles (one per thread) into DIR. */
/** --config FILE: the burst gateway runs with this config file (e.g. to try another work.workers). */
const CONFIG_FILE = process.argv.includes('--config') ? path.resolve(process.argv[process.argv.indexOf('--config') + 1]!) : undefined;
const PROFILE_DIR = process.argv.includes('--cpu-prof') ? path.resolve(process.argv[process.argv.indexOf('--cpu-prof') + 1] ?? '.bench/profiles') : null;
const PLAN = {
  /**
   * Messages sent (8 sessions) before each burst, both targets alike: V8 keeps
   * compiling hot code in the gateway's four isolates for its first few hundred
   * messages, which a months-long gateway pays once. The cold start is reported apart.
   */
  burstWarmup: QUICK ? 100 : 500,
  /** Messages at 20/s before the paced phase. */
  pacedWarmup: 20,
  burst: QUICK ? 200 : 600,
  paced: QUICK ? 100 : 250,
  /** Parallel client sessions (smtp-source processes; nodemailer pool size). */
  sessions: 8,
  /** Give up waiting for a phase's arrivals after this long. */
  phaseTimeoutMs: 60_000,
};
/** The target: mugaika relays at least this fraction of Postfix's pass-through rate. */
const TARGET_RATIO = 0.5;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const OUT_DIR = path.join(ROOT, '.bench');
const OUT_FILE = path.join(OUT_DIR, 'relay.json');

// ---------------------------------------------------------------------------
// Burst: smtp-source -> target -> smtp-sink
// ---------------------------------------------------------------------------

interface MailFile {
  file: string;
  kind: Mail['kind'];
}

/** smtp-source -F sends a file's lines with CRLF appended: write them with LF. */
function writeMailFiles(dir: string, target: string): MailFile[] {
  // 19 text variants (both charsets, with and without a URL) and one HTML newsletter.
  return mails(target, 'file', 20).map((m, i) => {
    const file = path.join(dir, `${target}-${i}.eml`);
    writeFileSync(file, m.raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    return { file, kind: m.kind };
  });
}

interface BurstResult {
  messages: number;
  arrived: number;
  /** Start of smtp-source -> the last message counted at the sink. */
  seconds: number;
  perSecond: number;
  /** Start -> the last 250 the clients got (how fast the target accepts). */
  acceptSeconds: number;
  acceptPerSecond: number;
  failedClients: number;
  /** CPU time of the target's processes (all threads and children) per relayed message, ms. */
  targetCpuMsPerMessage?: number;
  /** Share of the whole machine's CPU time that was busy during the burst (anything running), %. */
  machineBusyPercent: number;
}

/** Clock ticks (utime+stime+cutime+cstime) of a process and all its live descendants. */
function treeTicks(rootPid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // after "pid (comm) ": state ppid ... utime(idx 11) stime cutime cstime
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // gone
    }
  }
  let sum = 0;
  const todo = [rootPid];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    sum += stats.get(pid)?.ticks ?? 0;
    for (const [child, st] of stats) if (st.ppid === pid) todo.push(child);
  }
  return sum;
}

/** [busy, total] clock ticks of the whole machine since boot. */
function machineTicks(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return [total - (f[3] ?? 0) - (f[4] ?? 0), total];
}
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * Sends `total` messages with `sessions` smtp-source processes running at once,
 * each sending one file up to CHUNK times over one connection (-d). The files
 * take turns, so the HTML one (1 in 20) is spread over the whole run.
 */
async function smtpSource(port: number, files: MailFile[], total: number, sessions: number): Promise<{ seconds: number; failed: number; output: string }> {
  const CHUNK = 10;
  const perFile = files.map((_, i) => Math.floor(total / files.length) + (i < total % files.length ? 1 : 0));
  const jobs: Array<{ f: MailFile; count: number }> = [];
  for (let round = 0; jobs.reduce((n, j) => n + j.count, 0) < total; round++) {
    files.forEach((f, i) => {
      const count = Math.min(CHUNK, perFile[i]! - round * CHUNK);
      if (count > 0) jobs.push({ f, count });
    });
  }
  const t0 = performance.now();
  let failed = 0;
  let output = '';
  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const code = await new Promise<number>((resolve) => {
        const child = spawn(
          SMTP_SOURCE,
          ['-4', '-d', '-s', '1', '-m', String(job.count), '-F', job.f.file, '-f', 'yamada@example.co.jp', '-t', RCPT, '-M', 'bench-driver.example.jp', `127.0.0.1:${port}`],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
        child.once('exit', (c) => resolve(c ?? 1));
      });
      if (code !== 0) failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(sessions, jobs.length) }, worker));
  return { seconds: (performance.now() - t0) / 1000, failed, output };
}

async function burst(port: number, sink: CountingSink, files: MailFile[], total: number, targetPid?: number | null): Promise<BurstResult> {
  const base = sink.count();
  const cpu0 = targetPid ? treeTicks(targetPid) : 0;
  const [busy0, all0] = machineTicks();
  const t0 = performance.now();
  const sent = await smtpSource(port, files, total, PLAN.sessions);
  const doneAt = await sink.reached(base + total, PLAN.phaseTimeoutMs);
  const arrived = sink.count() - base;
  const seconds = ((doneAt ?? performance.now()) - t0) / 1000;
  const cpu = targetPid ? treeTicks(targetPid) - cpu0 : 0;
  const [busy1, all1] = machineTicks();
  if (sent.failed > 0) process.stderr.write(`smtp-source: ${sent.failed} client(s) failed:\n${sent.output.slice(-2000)}\n`);
  return {
    messages: total,
    arrived,
    seconds,
    perSecond: arrived / seconds,
    acceptSeconds: sent.seconds,
    acceptPerSecond: total / sent.seconds,
    failedClients: sent.failed,
    ...(targetPid ? { targetCpuMsPerMessage: ((cpu / TICKS_PER_SECOND) * 1000) / Math.max(1, arrived) } : {}),
    machineBusyPercent: (100 * (busy1 - busy0)) / Math.max(1, all1 - all0),
  };
}

/** One message alone (time to the sink: the cold start), then WARMUP more, all waited for. */
async function warmUp(port: number, sink: CountingSink, files: MailFile[]): Promise<number> {
  const base = sink.count();
  const t0 = performance.now();
  await smtpSource(port, files.slice(0, 1), 1, 1);
  const first = await sink.reached(base + 1, PLAN.phaseTimeoutMs);
  await smtpSource(port, files, PLAN.burstWarmup, PLAN.sessions);
  await sink.reached(base + 1 + PLAN.burstWarmup, PLAN.phaseTimeoutMs);
  return (first ?? NaN) - t0;
}

// ---------------------------------------------------------------------------
// Paced: nodemailer -> target -> smtp-server sink (one clock)
// ---------------------------------------------------------------------------

interface PacedResult {
  messages: number;
  arrived: number;
  offeredPerSecond: number;
  /** Client's 250 -> arrival at the sink, ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Submission -> client's 250, ms. */
  acceptMs: { p50: number; p99: number };
  refused: number;
}

const quantile = (sorted: number[], q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);

async function paced(port: number, sink: KeyedSink, batch: Mail[], ratePerSecond: number): Promise<PacedResult> {
  const transport = nodemailer.createTransport({
    pool: true,
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    maxConnections: PLAN.sessions,
    maxMessages: Infinity,
    name: 'bench-driver.example.jp',
    logger: false,
  });
  transport.on('error', () => undefined);
  const submitted = new Map<string, number>();
  const accepted = new Map<string, number>();
  let refused = 0;
  const t0 = performance.now();
  await Promise.all(
    batch.map(async (m, i) => {
      const wait = t0 + (i * 1000) / ratePerSecond - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      submitted.set(m.key, performance.now());
      try {
        await transport.sendMail({ envelope: { from: 'yamada@example.co.jp', to: [RCPT] }, raw: m.raw });
        accepted.set(m.key, performance.now());
      } catch {
        refused++;
      }
    }),
  );
  const keys = batch.map((m) => m.key).filter((k) => accepted.has(k));
  await sink.waitFor(keys, PLAN.phaseTimeoutMs);
  transport.close();
  const got = keys.filter((k) => sink.arrivals.has(k));
  // One clock, one process: the sink may see a message before the driver's promise for its 250 has run.
  const latency = got.map((k) => Math.max(0, sink.arrivals.get(k)!.at - accepted.get(k)!)).sort((a, b) => a - b);
  const accept = keys.map((k) => accepted.get(k)! - submitted.get(k)!).sort((a, b) => a - b);
  return {
    messages: batch.length,
    arrived: got.length,
    offeredPerSecond: ratePerSecond,
    latencyMs: { p50: quantile(latency, 0.5), p90: quantile(latency, 0.9), p99: quantile(latency, 0.99), max: latency[latency.length - 1] ?? NaN },
    acceptMs: { p50: quantile(accept, 0.5), p99: quantile(accept, 0.99) },
    refused,
  };
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

function ensureBuilt(): void {
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  let built = 0;
  try {
    built = statSync(path.join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    // not built yet
  }
  if (built < newest(path.join(ROOT, 'src'))) {
    process.stderr.write('building dist/ (src/ is newer)...\n');
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  }
}

interface TargetResult {
  /** First message after start: submission -> arrival, ms. */
  coldStartMs?: number;
  burst: BurstResult;
  paced?: PacedResult;
  verdicts?: Record<string, number>;
  peakRssMiB?: number;
}

interface Sinks {
  counting: CountingSink;
  keyed: KeyedSink;
  files: (target: string) => MailFile[];
}

async function runDirect(s: Sinks): Promise<TargetResult> {
  const files = s.files('direct');
  await warmUp(s.counting.port, s.counting, files);
  return { burst: await burst(s.counting.port, s.counting, files, PLAN.burst) };
}

async function runMugaika(s: Sinks): Promise<TargetResult> {
  const files = s.files('mugaika');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mugaika-bench-gw-'));
  const gateways: GatewayProcess[] = [];
  const sampler = setInterval(() => gateways.forEach((g) => g.peakRss()), 200);
  try {
    // Burst: next hop smtp-sink.
    const g1 = await startGatewayProcess({ nextHop: `127.0.0.1:${s.counting.port}`, dataDir, configFile: CONFIG_FILE, nodeArgs: PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [] });
    gateways.push(g1);
    const coldStartMs = await warmUp(g1.smtpPort, s.counting, files);
    const b = await burst(g1.smtpPort, s.counting, files, PLAN.burst, g1.pid);
    await g1.stop();
    // Paced: the same data dir, next hop the keyed sink.
    const g2 = await startGatewayProcess({ nextHop: `127.0.0.1:${s.keyed.port}`, dataDir });
    gateways.push(g2);
    await paced(g2.smtpPort, s.keyed, mails('mugaika', 'warmup', PLAN.pacedWarmup), 20);
    const rate = Math.max(1, Math.round(b.perSecond / 2));
    const p = await paced(g2.smtpPort, s.keyed, mails('mugaika', 'paced', PLAN.paced), rate);
    await g2.stop();
    const verdicts: Record<string, number> = {};
    for (const g of gateways) for (const l of g.logs) if (l.msg === 'sanitized') verdicts[String(l.verdict)] = (verdicts[String(l.verdict)] ?? 0) + 1;
    return { coldStartMs, burst: b, paced: p, verdicts, peakRssMiB: Math.max(...gateways.map((g) => g.peakRss())) / 1024 / 1024 };
  } finally {
    clearInterval(sampler);
    for (const g of gateways) await g.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runPostfix(s: Sinks, pacedRate: number): Promise<TargetResult> {
  const files = s.files('postfix');
  const port = await freePort();
  const route = (sinkPort: number): Record<string, string> => ({ transport_maps: `inline:{ city.example.lg.jp=relay:[127.0.0.1]:${sinkPort} }` });
  const postfix = await createPostfix({
    prefix: 'mugaika-bench-postfix-',
    hostname: 'postfix-bench.test.invalid',
    // The same relay settings as examples/postfix/main.cf, without the content filter.
    mainCf: ['mydestination =', 'relay_domains = city.example.lg.jp', 'mynetworks = 127.0.0.0/8 [::1]/128'].join('\n'),
    masterCf: `127.0.0.1:${port} inet n - n - - smtpd`,
    postconf: route(s.counting.port),
  });
  try {
    await postfix.start();
    await waitForPort(port);
    const coldStartMs = await warmUp(port, s.counting, files);
    const b = await burst(port, s.counting, files, PLAN.burst, postfix.masterPid());
    await postfix.waitForEmptyQueue(30_000);
    await postfix.set(route(s.keyed.port));
    await postfix.reload();
    await paced(port, s.keyed, mails('postfix', 'warmup', PLAN.pacedWarmup), 20);
    const p = await paced(port, s.keyed, mails('postfix', 'paced', PLAN.paced), pacedRate);
    await postfix.waitForEmptyQueue(30_000);
    return { coldStartMs, burst: b, paced: p };
  } finally {
    await postfix.destroy();
  }
}

// ---------------------------------------------------------------------------

const f1 = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1));

async function main(): Promise<void> {
  const why = postfixUnavailable();
  if (why) {
    process.stderr.write(`bench/relay.ts needs a private Postfix and its smtp-source/smtp-sink: ${why}\n`);
    process.exit(1);
  }
  ensureBuilt();
  // Anything else running on the machine skews every figure: say how busy it was.
  const loadAtStart = os.loadavg();
  const started = performance.now();
  const sample = mails('size', 'probe', 40);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const textBytes = mean(sample.filter((m) => m.kind === 'text').map((m) => m.raw.length));
  const htmlBytes = mean(sample.filter((m) => m.kind === 'html').map((m) => m.raw.length));

  const filesDir = mkdtempSync(path.join(os.tmpdir(), 'mugaika-bench-mails-'));
  const sinks: Sinks = { counting: await startCountingSink(), keyed: await startKeyedSink(), files: (target) => writeMailFiles(filesDir, target) };
  let direct: TargetResult;
  let mugaika: TargetResult;
  let postfix: TargetResult;
  try {
    direct = await runDirect(sinks);
    // mugaika first: half its burst rate is the paced rate for both.
    mugaika = await runMugaika(sinks);
    postfix = await runPostfix(sinks, mugaika.paced!.offeredPerSecond);
  } finally {
    await sinks.counting.close();
    await sinks.keyed.close();
    rmSync(filesDir, { recursive: true, force: true });
  }

  const ratio = mugaika.burst.perSecond / postfix.burst.perSecond;
  const rows: Array<[string, TargetResult]> = [
    ['direct (harness)', direct],
    ['postfix', postfix],
    ['mugaika', mugaika],
  ];
  const lines = [
    `relay benchmark: ${PLAN.burst} mails per burst after ${PLAN.burstWarmup} to warm up (1 in 20 HTML), ${PLAN.sessions} client sessions, ${PLAN.paced} paced; ${os.availableParallelism()} CPUs, ${os.cpus()[0]?.model ?? ''}`,
    `mail size on the wire: text ${(textBytes / 1024).toFixed(1)} KB, html ${(htmlBytes / 1024).toFixed(1)} KB`,
    '',
    'target             relayed msg/s   accepted msg/s   CPU ms/msg   paced @rate: 250->sink p50 / p99 ms   cold start ms',
    ...rows.map(([name, r]) =>
      [
        name.padEnd(18),
        f1(r.burst.perSecond).padStart(13),
        f1(r.burst.acceptPerSecond).padStart(16),
        f1(r.burst.targetCpuMsPerMessage).padStart(12),
        (r.paced ? `@${r.paced.offeredPerSecond}/s: ${f1(r.paced.latencyMs.p50)} / ${f1(r.paced.latencyMs.p99)}` : '-').padStart(38),
        f1(r.coldStartMs).padStart(15),
      ].join(' '),
    ),
    '',
    `mugaika / postfix pass-through rate: ${ratio.toFixed(2)} (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`,
    `mugaika end-to-end latency, client 250 -> sink, at ${mugaika.paced!.offeredPerSecond} msg/s: p50 ${f1(mugaika.paced!.latencyMs.p50)} ms, p99 ${f1(mugaika.paced!.latencyMs.p99)} ms`,
    `mugaika peak RSS (VmHWM): ${f1(mugaika.peakRssMiB)} MiB; verdicts: ${JSON.stringify(mugaika.verdicts)}`,
    `machine CPU busy during the bursts: postfix ${f1(postfix.burst.machineBusyPercent)} %, mugaika ${f1(mugaika.burst.machineBusyPercent)} %; load average at start ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`,
    `took ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const short =
    [direct.burst, postfix.burst, mugaika.burst].some((b) => b.arrived < b.messages || b.failedClients > 0) || [postfix.paced!, mugaika.paced!].some((p) => p.arrived < p.messages || p.refused > 0);
  if (short) process.stdout.write('WARNING: some messages were refused or did not arrive within the time limit (see .bench/relay.json)\n');

  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(
    OUT_FILE,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        quick: QUICK,
        loadAverageAtStart: loadAtStart,
        plan: PLAN,
        mailBytes: { text: Math.round(textBytes), html: Math.round(htmlBytes) },
        target: { ratio: TARGET_RATIO, measured: ratio, pass: ratio >= TARGET_RATIO },
        mugaika,
        postfix,
        direct,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`figures written to ${path.relative(process.cwd(), OUT_FILE)}\n`);
}

await main();
