// A private authoritative DNS server for the sender-authentication tests:
// Debian's NSD (installed by scripts/system-deps.sh), started from a temporary
// nsd.conf on 127.0.0.1 and a high port (UDP and TCP, for answers too big for
// a datagram), serving the zones the test writes. No privilege drop, no chroot,
// no control socket: everything lives in the temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Nsd {
  /** host:port for the gateway's `dns.servers`. */
  server: string;
  port: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

/** A TXT record's value as zone-file strings of at most 255 characters each. */
export function txt(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255).replace(/(["\\])/g, '\\$1')}"`);
  return parts.length > 1 ? `( ${parts.join(' ')} )` : (parts[0] ?? '""');
}

/** A port free for both UDP and TCP on 127.0.0.1. */
async function freeDnsPort(): Promise<number> {
  for (;;) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => u.close(() => r()));
    if (ok) return port;
  }
}

/**
 * Starts NSD serving `zones` (zone name → resource record lines, relative to
 * the zone, e.g. `@ TXT "v=spf1 -all"`); SOA and NS are added here.
 */
export async function startNsd(zones: Record<string, readonly string[]>): Promise<Nsd> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mugaika-nsd-'));
  const port = await freeDnsPort();
  const zoneConf: string[] = [];
  for (const [name, records] of Object.entries(zones)) {
    const file = `${name}.zone`;
    writeFileSync(
      path.join(dir, file),
      [`$ORIGIN ${name}.`, '$TTL 60', `@ IN SOA ns.${name}. hostmaster.${name}. 1 3600 600 86400 60`, `@ IN NS ns.${name}.`, 'ns IN A 127.0.0.1', ...records, ''].join('\n'),
    );
    zoneConf.push(`zone:\n  name: "${name}"\n  zonefile: "${file}"`);
  }
  const logFile = path.join(dir, 'nsd.log');
  writeFileSync(
    path.join(dir, 'nsd.conf'),
    [
      'server:',
      '  ip-address: 127.0.0.1',
      `  port: ${port}`,
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      `  pidfile: "${dir}/nsd.pid"`,
      '  database: ""',
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  zonelistfile: "${dir}/zone.list"`,
      `  logfile: "${logFile}"`,
      '  server-count: 1',
      '  do-ip6: no',
      '  verbosity: 1',
      'remote-control:',
      '  control-enable: no',
      ...zoneConf,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/sbin/nsd', ['-d', '-c', path.join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8') + stderr;
    } catch {
      return stderr;
    }
  };
  const until = Date.now() + 15_000;
  while (!/nsd started/.test(log())) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`nsd did not start on 127.0.0.1:${port}: ${log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const failed = /error: .*zone/i.exec(log());
  if (failed) {
    child.kill('SIGKILL');
    throw new Error(`nsd could not read a test zone: ${log()}`);
  }
  return {
    server: `127.0.0.1:${port}`,
    port,
    dir,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A UDP and TCP "DNS server" on 127.0.0.1 that takes every query and never answers. */
export async function startSilentDns(): Promise<{ server: string; stop(): Promise<void> }> {
  const port = await freeDnsPort();
  const udp = dgram.createSocket('udp4');
  udp.on('message', () => undefined);
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((s) => {
    sockets.add(s);
    s.on('data', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
  return {
    server: `127.0.0.1:${port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
