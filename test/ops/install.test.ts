// scripts/install.sh and scripts/uninstall.sh, run for real into a throwaway
// root (--root): the service user made by useradd --prefix in that root's
// /etc/passwd, the application, configuration, data dir, unit and command laid
// out as on a Debian machine, the unit checked by `systemd-analyze verify`.
// The installed files are then run as they would be: in a private mount
// namespace, the throwaway root's /etc (overlaid on the host's), /opt/mugaika
// and /var/lib/mugaika are where the unit and the command expect them, and the
// gateway is started with the unit's own ExecStart line, as the unit's user.
// Needs root (useradd, chown, unshare), as npm test does (scripts/system-deps.sh).
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const DOMAIN = 'town.example.lg.jp';
const isRoot = process.getuid?.() === 0;

const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });

/** The same, without blocking the test's thread for the minute an install takes. */
async function shAsync(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [status] = (await once(child, 'exit')) as [number | null];
  return { status, stdout, stderr };
}

/** An install copies ~170 MB and starts node a few times: minutes on a busy machine. */
const SLOW = 600_000;

const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');

/** Every file and folder under dir whose owner is not uid. */
function notOwnedBy(dir: string, uid: number): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const s = lstatSync(p);
    if (s.uid !== uid) out.push(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
  return out;
}

describe.skipIf(!isRoot)('scripts/install.sh into a throwaway root', { timeout: SLOW }, () => {
  let R = '';
  let uid = 0;
  let gid = 0;
  const install = (...extra: string[]) => shAsync('bash', [path.join(REPO, 'scripts/install.sh'), '--root', R, ...extra]);

  /**
   * argv run in a private mount namespace where the throwaway root's installed
   * files are at their real paths: its /etc over the host's, /opt/mugaika and
   * /var/lib/mugaika bound in (over empty tmpfs, so nothing appears on the host).
   */
  const inInstalledLayout = (argv: string[]): string[] => [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    [
      `mount -t overlay overlay -o lowerdir=${R}/etc:/etc /etc`,
      'mount -t tmpfs tmpfs /opt',
      'mkdir /opt/mugaika',
      `mount --bind ${R}/opt/mugaika /opt/mugaika`,
      'mount -t tmpfs tmpfs /var/lib',
      'mkdir /var/lib/mugaika',
      `mount --bind ${R}/var/lib/mugaika /var/lib/mugaika`,
      'cd /',
      'exec "$@"',
    ].join(' && '),
    'sh',
    ...argv,
  ];

  beforeAll(() => {
    R = mkdtempSync(path.join(tmpdir(), 'mugaika-root-'));
    // The service user must reach the installed files, as it does under / .
    chmodSync(R, 0o755);
    mkdirSync(path.join(R, 'etc'));
    // A fresh system's account files: root only.
    for (const [f, m] of [
      ['passwd', 0o644],
      ['group', 0o644],
      ['shadow', 0o640],
      ['gshadow', 0o640],
    ] as const) {
      const rootLine = readFileSync(`/etc/${f}`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('root:'));
      writeFileSync(path.join(R, 'etc', f), `${rootLine}\n`, { mode: m });
    }
  });
  afterAll(() => {
    if (R) rmSync(R, { recursive: true, force: true });
  });

  it('installs: user, application, configuration, data dir, unit, command, first administrator', async () => {
    const r = await install('--domain', DOMAIN, '--admin-email', `joho@${DOMAIN}`);
    expect(r.status, r.stderr).toBe(0);
    // The one-time password, printed once on standard output.
    expect(r.stdout).toMatch(/初期パスワード \/ initial password: [A-Za-z0-9_-]{20}\n/);
    expect(r.stdout).toContain('added kanri (admin)');

    // The system user, in the throwaway root only.
    const users = readFileSync(path.join(R, 'etc/passwd'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('mugaika:'));
    expect(users).toHaveLength(1);
    const [, , u, g, , home, shell] = users[0]!.split(':');
    [uid, gid] = [Number(u), Number(g)];
    expect(uid).toBeGreaterThan(0);
    expect(uid).toBeLessThan(1000); // --system
    expect([home, shell]).toEqual(['/var/lib/mugaika', '/usr/sbin/nologin']);
    expect(readFileSync(path.join(R, 'etc/group'), 'utf8')).toMatch(new RegExp(`^mugaika:x:${gid}:`, 'm'));

    // Owners and modes.
    const owned = (p: string) => [statSync(path.join(R, p)).uid, statSync(path.join(R, p)).gid, mode(path.join(R, p))];
    expect(owned('etc/mugaika')).toEqual([0, gid, '0750']);
    expect(owned('etc/mugaika/mugaika.yaml')).toEqual([0, gid, '0640']);
    expect(owned('etc/mugaika/policy.yaml')).toEqual([0, gid, '0640']);
    expect(owned('var/lib/mugaika')).toEqual([uid, gid, '0700']);
    expect(owned('var/lib/mugaika/keys/master.key')).toEqual([uid, gid, '0600']);
    expect(owned('var/lib/mugaika/keys/audit-signing.key')).toEqual([uid, gid, '0600']);
    expect(notOwnedBy(path.join(R, 'var/lib/mugaika'), uid)).toEqual([]);
    expect(owned('usr/local/bin/mugaika')).toEqual([0, 0, '0755']);
    expect(owned('etc/systemd/system/mugaika.service')).toEqual([0, 0, '0644']);
    expect(owned('opt/mugaika/app/dist/cli/main.js')).toEqual([0, 0, '0644']);
    // Enabled, as systemctl enables it.
    expect(readlinkSync(path.join(R, 'etc/systemd/system/multi-user.target.wants/mugaika.service'))).toBe('/etc/systemd/system/mugaika.service');

    // The application with its production dependencies only.
    const app = path.join(R, 'opt/mugaika/app');
    for (const p of [
      'package.json',
      'bin/mugaika.js',
      'dist/cli/main.js',
      'dist/converters/office/convert.py',
      'policies/default.yaml',
      'node_modules/pino',
      'node_modules/better-sqlite3',
      'node_modules/@node-rs',
    ])
      expect(existsSync(path.join(app, p)), p).toBe(true);
    for (const dev of ['typescript', 'vitest', 'eslint', 'playwright-core']) expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
  });

  it('writes a configuration the gateway accepts, for the domain given and nothing of the example addresses', async () => {
    const file = path.join(R, 'etc/mugaika/mugaika.yaml');
    const config = await loadConfig(file, {});
    expect(config.smtp.relayDomains).toEqual([DOMAIN]);
    expect(config.smtp.hostname).toBe(`mugaika.${DOMAIN}`);
    expect(config.smtp.allowedClients).toEqual(['127.0.0.1/8', '::1/128']);
    expect(config.delivery.nextHop).toBeUndefined();
    expect(config.delivery.bounceRelay).toBeUndefined();
    expect(config.dataDir).toBe('/var/lib/mugaika');
    expect(config.policyFile).toBe('/etc/mugaika/policy.yaml');
    expect(readFileSync(file, 'utf8')).not.toMatch(/city\.example|^\s+[a-zA-Z]+: 192\.0\.2/m);
    expect(readFileSync(path.join(R, 'etc/mugaika/policy.yaml'), 'utf8')).toBe(readFileSync(path.join(REPO, 'policies/default.yaml'), 'utf8'));
  });

  it('writes a unit that systemd-analyze verify accepts, without a warning', () => {
    const unit = path.join(R, 'etc/systemd/system/mugaika.service');
    const r = sh('systemd-analyze', ['verify', unit]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toBe('');
    const text = readFileSync(unit, 'utf8');
    expect(text).toMatch(/^User=mugaika$/m);
    expect(text).toMatch(/^ExecStart=\/\S+\/node \/opt\/mugaika\/app\/bin\/mugaika\.js serve --config \/etc\/mugaika\/mugaika\.yaml$/m);
    // Its exposure as systemd rates it (0 safest, 10 none): the hardening is in force.
    const sec = sh('systemd-analyze', ['security', '--offline=yes', unit]);
    const level = Number(/Overall exposure level for mugaika\.service: ([\d.]+)/.exec(sec.stdout + sec.stderr)?.[1]);
    expect(level).toBeLessThan(4);
  });

  it("runs as installed: the command (as root and as the service user) and the unit's ExecStart, as its user", async () => {
    const wrapper = path.join(R, 'usr/local/bin/mugaika');
    const version = sh('unshare', inInstalledLayout([wrapper, '--version']));
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(`mugaika ${VERSION}`);
    // Root's `mugaika` runs as the service user: the admin made at install is there, and nothing in the data dir becomes root's.
    const list = sh('unshare', inInstalledLayout([wrapper, 'user', 'list', '--json']));
    expect(list.status, list.stderr).toBe(0);
    expect(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { name: string; role: string }).role),
    ).toEqual(['admin']);
    const asService = sh('unshare', inInstalledLayout(['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', wrapper, 'quarantine', 'list']));
    expect(asService.status, asService.stderr).toBe(0);
    expect(notOwnedBy(path.join(R, 'var/lib/mugaika'), uid)).toEqual([]);

    // The unit's ExecStart, as the unit's user, on free ports (the configuration's are fixed).
    const execStart = /^ExecStart=(.+)$/m.exec(readFileSync(path.join(R, 'etc/systemd/system/mugaika.service'), 'utf8'))![1]!.split(' ');
    const child = spawn('unshare', inInstalledLayout(['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--no-new-privs', '--bounding-set=-all', ...execStart]), {
      env: { PATH: '/usr/bin:/bin', MUGAIKA_SMTP_LISTEN: '127.0.0.1:0', MUGAIKA_WEB_LISTEN: '127.0.0.1:0', MUGAIKA_OPS_LISTEN: '127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (l) => resolve(JSON.parse(l) as Record<string, unknown>));
      void exited.then((code) => reject(new Error(`the gateway exited (${code}) before its first line: ${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(first.msg).toBe('mugaika gateway started');
    expect(first.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(first).toMatchObject({ dataDir: '/var/lib/mugaika', version: VERSION, nextHop: 'maildir:/var/lib/mugaika/maildir' });
    // An administrator exists: no hint to make one.
    expect(first.firstAdmin).toBeUndefined();
    expect(notOwnedBy(path.join(R, 'var/lib/mugaika'), uid)).toEqual([]);
  });

  it("lets bubblewrap make its sandbox under the unit's limits (and shows why ProtectKernelTunables stays off)", () => {
    const unit = readFileSync(path.join(R, 'etc/systemd/system/mugaika.service'), 'utf8');
    // What the emulation below stands for, as the unit says it.
    for (const line of ['NoNewPrivileges=yes', 'CapabilityBoundingSet=', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes']) expect(unit).toMatch(new RegExp(`^${line}$`, 'm'));
    for (const off of ['ProtectKernelTunables', 'ProtectKernelLogs', 'ProtectProc', 'ProcSubset', 'PrivateUsers', 'MemoryDenyWriteExecute']) expect(unit).not.toMatch(new RegExp(`^${off}=`, 'm'));
    expect(unit).toMatch(/^RestrictNamespaces=user mnt pid net ipc uts cgroup$/m);
    expect(unit).toMatch(/^SystemCallFilter=@system-service @mount$/m);

    // The gateway's probe (src/converters/bwrap.ts, compiled; the installed copy is the same file, but the
    // throwaway root lies under /tmp, which the private /tmp hides), as the service user with no new
    // privileges and no capabilities, under a read-only /usr, an empty /home and a private /tmp.
    const probe = [
      process.execPath,
      '--input-type=module',
      '-e',
      `const { probeBwrap } = await import('${REPO}/dist/converters/bwrap.js'); const why = await probeBwrap(); process.stdout.write(why ?? 'ok');`,
    ];
    const limited = (extraMounts: string) =>
      sh('unshare', [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount --bind /usr /usr && mount -o remount,bind,ro /usr && mount -t tmpfs -o ro tmpfs /home && mount -t tmpfs tmpfs /tmp ${extraMounts} && exec setpriv --reuid=${uid} --regid=${gid} --clear-groups --no-new-privs --bounding-set=-all --inh-caps=-all "$@"`,
        'sh',
        ...probe,
      ]);
    const ok = limited('');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('ok');
    // ProtectKernelTunables makes /proc/sys read-only over /proc: the kernel then refuses bwrap a fresh /proc.
    const tunables = limited('&& mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys');
    expect(tunables.stdout).toMatch(/Can't mount proc/);
  });

  it('upgrades in place when run again: the application swapped, configuration, keys, data and administrator kept', async () => {
    const conf = path.join(R, 'etc/mugaika/mugaika.yaml');
    const before = {
      conf: readFileSync(conf),
      confTime: statSync(conf).mtimeMs,
      key: readFileSync(path.join(R, 'var/lib/mugaika/keys/master.key')),
      unit: readFileSync(path.join(R, 'etc/systemd/system/mugaika.service')),
    };
    // Something the last version left in the application: gone after the upgrade.
    writeFileSync(path.join(R, 'opt/mugaika/app/dist/stale.js'), '');
    // A file a command once run as root left in the data dir: given back to the service.
    writeFileSync(path.join(R, 'var/lib/mugaika/left-by-root'), '');
    const r = await install('--domain', 'other.example.lg.jp');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('initial password');
    expect(r.stderr).toContain('an administrator exists already');
    expect(r.stderr).toContain('exists and is kept');
    expect(readFileSync(conf)).toEqual(before.conf);
    expect(statSync(conf).mtimeMs).toBe(before.confTime);
    expect(readFileSync(path.join(R, 'var/lib/mugaika/keys/master.key'))).toEqual(before.key);
    expect(readFileSync(path.join(R, 'etc/systemd/system/mugaika.service'))).toEqual(before.unit);
    expect(existsSync(path.join(R, 'opt/mugaika/app/dist/stale.js'))).toBe(false);
    expect(existsSync(path.join(R, 'opt/mugaika/app.old')) || existsSync(path.join(R, 'opt/mugaika/app.new'))).toBe(false);
    expect(notOwnedBy(path.join(R, 'var/lib/mugaika'), uid)).toEqual([]);
    expect(readFileSync(path.join(R, 'etc/passwd'), 'utf8').match(/^mugaika:/gm)).toHaveLength(1);
    expect(existsSync(path.join(R, 'etc/mugaika/mugaika.yaml.dist'))).toBe(true);
    const verify = sh('systemd-analyze', ['verify', path.join(R, 'etc/systemd/system/mugaika.service')]);
    expect(verify.status, verify.stderr).toBe(0);
  });

  it('uninstalls keeping the data and configuration, and --purge deletes them with the user', async () => {
    const keep = await shAsync('bash', [path.join(REPO, 'scripts/uninstall.sh'), '--root', R]);
    expect(keep.status, keep.stderr).toBe(0);
    for (const gone of ['opt/mugaika', 'usr/local/bin/mugaika', 'etc/systemd/system/mugaika.service', 'etc/systemd/system/multi-user.target.wants/mugaika.service'])
      expect(existsSync(path.join(R, gone)), gone).toBe(false);
    for (const kept of ['var/lib/mugaika/keys/master.key', 'var/lib/mugaika/mugaika.db', 'etc/mugaika/mugaika.yaml']) expect(existsSync(path.join(R, kept)), kept).toBe(true);
    expect(readFileSync(path.join(R, 'etc/passwd'), 'utf8')).toMatch(/^mugaika:/m);

    const purge = await shAsync('bash', [path.join(REPO, 'scripts/uninstall.sh'), '--root', R, '--purge']);
    expect(purge.status, purge.stderr).toBe(0);
    for (const gone of ['var/lib/mugaika', 'etc/mugaika']) expect(existsSync(path.join(R, gone)), gone).toBe(false);
    expect(readFileSync(path.join(R, 'etc/passwd'), 'utf8')).not.toMatch(/^mugaika:/m);
    expect(readFileSync(path.join(R, 'etc/group'), 'utf8')).not.toMatch(/^mugaika:/m);
  });
});
