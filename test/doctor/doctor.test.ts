// `mugaika doctor` on data dirs with the usual mistakes planted, each found
// and explained in Japanese with what to do; a sound one has no errors.
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/doctor.js';
import type { Finding } from '../../src/doctor/finding.js';
import { makeCertificates } from '../helpers/certificates.js';
import { mugaika } from '../helpers/cli.js';
import { freePort } from '../helpers/postfix.js';
import { tempDir } from '../helpers/run.js';

const root = tempDir('mugaika-doctor-');
let listener: net.Server;
let hopPort: number;
let certs: { certFile: string; keyFile: string };

/** A data dir as a gateway leaves it: keys, database. */
async function usedDataDir(name: string): Promise<string> {
  const dir = path.join(root, name);
  const r = await mugaika(['quarantine', 'list', '--data-dir', dir]);
  expect(r.code).toBe(0);
  // ...and an audit record.
  expect((await mugaika(['audit', 'verify', '--data-dir', dir])).code).toBe(0);
  return dir;
}

async function config(name: string, body: string): Promise<string> {
  const file = path.join(root, `${name}.yaml`);
  await fs.writeFile(file, body);
  return file;
}

const findings = (stdout: string): Finding[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Finding);
const errorsOf = (f: Finding[]): string[] => f.filter((x) => x.level === 'error').map((x) => x.check);

beforeAll(async () => {
  // doctor connects and hangs up at once, unread greeting and all: a reset this side may see, and ignores.
  listener = net.createServer((s) => {
    s.on('error', () => undefined);
    s.end('220 next hop\r\n');
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  hopPort = (listener.address() as net.AddressInfo).port;
  const certDir = path.join(root, 'certs');
  await fs.mkdir(certDir);
  certs = makeCertificates(certDir);
});
afterAll(async () => {
  await new Promise((r) => listener.close(r));
  await fs.rm(root, { recursive: true, force: true });
});

describe('mugaika doctor', () => {
  it('finds nothing wrong with a sound data dir', async () => {
    const dir = await usedDataDir('sound');
    const cfg = await config('sound', `delivery:\n  nextHop: 127.0.0.1:${hopPort}\nsmtp:\n  tlsCertFile: ${certs.certFile}\n  tlsKeyFile: ${certs.keyFile}\n`);
    const r = await mugaika(['doctor', '--data-dir', dir, '-c', cfg, '--min-free-mb', '1', '--json']);
    const f = findings(r.stdout);
    // The converters' packages and bubblewrap are the machine's: only they may be missing here.
    expect(errorsOf(f).filter((c) => c !== 'packages-missing' && c !== 'sandbox')).toEqual([]);
    expect(f.map((x) => x.check)).toEqual(expect.arrayContaining(['data-dir', 'master-key', 'signing-key', 'database', 'next-hop', 'disk-free']));
    // The test certificate is valid for two days: a warning, not an error.
    expect(f.find((x) => x.check === 'certificate-expiring')?.ja).toMatch(/の証明書 .* はあと [01] 日（\d{4}-\d{2}-\d{2}）で期限が切れます。$/);
    expect(r.code).toBe(errorsOf(f).length === 0 ? 0 : 1);
  });

  it('finds each planted mistake, in Japanese with what to do, and exits 1', async () => {
    const dir = await usedDataDir('planted');
    await fs.chmod(path.join(dir, 'keys', 'master.key'), 0o644);
    await fs.rm(path.join(dir, 'keys', 'audit-signing.key'));
    await fs.writeFile(path.join(dir, 'keys', 'master.key.next'), Buffer.alloc(32), { mode: 0o600 });
    await fs.chmod(dir, 0o755);
    const closed = await freePort();
    const other = makeCertificates(await fs.mkdtemp(path.join(root, 'other-')), 'other');
    const cfg = await config('planted', `delivery:\n  nextHop: 127.0.0.1:${closed}\nweb:\n  tlsCertFile: ${certs.certFile}\n  tlsKeyFile: ${other.keyFile}\n`);
    // Running as root, the wrong owner is another user; otherwise the owner asked for is root.
    const owner = process.getuid?.() === 0 ? ['--owner', 'nobody'] : ['--owner', 'root'];
    const json = await mugaika(['doctor', '--data-dir', dir, '-c', cfg, '--min-free-mb', String(1024 * 1024 * 1024), '--json', ...owner]);
    expect(json.code).toBe(1);
    expect(errorsOf(findings(json.stdout))).toEqual(
      expect.arrayContaining(['data-dir-owner', 'master-key-mode', 'signing-key-missing', 'next-hop-unreachable', 'disk-free', 'certificate-key-mismatch']),
    );
    const warned = findings(json.stdout)
      .filter((x) => x.level === 'warn')
      .map((x) => x.check);
    expect(warned).toEqual(expect.arrayContaining(['data-dir-mode', 'key-rotation-unfinished']));

    const text = await mugaika(['doctor', '--data-dir', dir, '-c', cfg, '--min-free-mb', String(1024 * 1024 * 1024), ...owner]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`[エラー] マスター鍵 ${path.join(dir, 'keys', 'master.key')} の権限が 0644 です。ほかの利用者が読めます。`);
    expect(text.stdout).toContain(`対処: chmod 600 ${path.join(dir, 'keys', 'master.key')} を実行してください。`);
    expect(text.stdout).toContain('監査ログ署名鍵');
    expect(text.stdout).toContain(`配送先（LGWAN 側の MTA） 127.0.0.1:${closed} に接続できません。`);
    expect(text.stdout).toContain('の所有者が nobody ではありません'.replace('nobody', owner[1]!));
    expect(text.stdout).toContain('の空き容量が');
    expect(text.stdout).toContain('が証明書と対になっていません。');
    expect(text.stdout).toMatch(/エラー \d+ 件、注意 \d+ 件です。/);
  });

  it('finds a missing master key in a data dir that holds records', async () => {
    const dir = await usedDataDir('keyless');
    await fs.rm(path.join(dir, 'keys', 'master.key'));
    const r = await mugaika(['doctor', '--data-dir', dir, '--min-free-mb', '1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('このまま起動すると新しい鍵が作られ、これまでの記録が使えなくなります。');
    expect(r.stdout).toContain('mugaika restore');
  });

  it('finds an expired certificate, missing packages and a sandbox that does not start', async () => {
    const dir = await usedDataDir('machine');
    const cfg = await config('machine', `smtp:\n  tlsCertFile: ${certs.certFile}\n  tlsKeyFile: ${certs.keyFile}\n`);
    // The test certificate is valid two days: three days on, it has expired.
    const later = new Date(Date.now() + 3 * 86_400_000);
    const f = await runDoctor({ configFile: cfg, dataDir: dir, env: {}, minFreeBytes: 0, packages: ['mugaika-no-such-package'], bwrap: path.join(root, 'no-bwrap'), now: () => later });
    const byCheck = new Map(f.map((x) => [x.check, x]));
    expect(byCheck.get('certificate-expired')?.ja).toMatch(/^SMTP（STARTTLS）の証明書 .* は \d{4}-\d{2}-\d{2} に期限が切れています。$/);
    expect(byCheck.get('certificate-expired')?.todo?.ja).toBe('証明書を更新し、ゲートウェイを再起動してください。');
    expect(byCheck.get('packages-missing')?.todo?.ja).toBe('sudo apt-get install mugaika-no-such-package を実行してください。');
    expect(byCheck.get('sandbox')?.level).toBe('error');
    // A clock set back behind the newest audit record is found too.
    const earlier = new Date(Date.now() - 3600_000);
    const back = await runDoctor({ dataDir: dir, env: {}, minFreeBytes: 0, packages: [], now: () => earlier });
    expect(back.find((x) => x.check === 'clock-behind-log')?.ja).toContain('時計が戻された可能性があります。');
  });

  it('finds a database it cannot reach (PostgreSQL)', async () => {
    const dir = await usedDataDir('pg-down');
    const port = await freePort();
    const r = await mugaika(['doctor', '--data-dir', dir, '--min-free-mb', '1', '--json'], { MUGAIKA_DATABASE_URL: `postgres://nobody:x@127.0.0.1:${port}/none` });
    expect(r.code).toBe(1);
    expect(errorsOf(findings(r.stdout))).toContain('database-unreachable');
  });
});
