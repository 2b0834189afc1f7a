// `mugaika backup` from a gateway under continuous SMTP traffic, and
// `mugaika restore` of it into a new data dir: the audit chain verifies and
// every original opens (no torn copy). Then what restore refuses: a non-empty
// data dir, a tampered backup, a wrong passphrase; and a backup without the
// master key, which says so.
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mugaika } from '../helpers/cli.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { tempDir } from '../helpers/run.js';

const SAMPLE = readFileSync(path.resolve(import.meta.dirname, '../../samples/02-html-newsletter.eml'));

/** Sends the sample again and again until stopped; resolves with how many were accepted. */
function traffic(port: number): { stop: () => Promise<number> } {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 2 });
  let running = true;
  let sent = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      await transport.sendMail({ envelope: { from: 'sender@example.jp', to: ['soumu@city.example.lg.jp'] }, raw: SAMPLE });
      sent++;
    }
  };
  const loops = [loop(), loop()];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      transport.close();
      return sent;
    },
  };
}

const quarantined = async (dataDir: string): Promise<number> => (await fs.readdir(path.join(dataDir, 'quarantine')).catch(() => [])).filter((f) => f.endsWith('.mgq')).length;

async function until(what: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const manifestOf = async (dir: string): Promise<{ originals: { count: number }; database: { auditHead: { seq: number } }; masterKey: { included: boolean } }> =>
  JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as never;

describe('backup and restore (SQLite)', () => {
  const root = tempDir('mugaika-backup-');
  const dataDir = path.join(root, 'data');
  const backup = path.join(root, 'backup');
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGatewayProcess({ dataDir });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    if (!process.env.MUGAIKA_KEEP_TEMP) await fs.rm(root, { recursive: true, force: true });
  });

  it('backs up a gateway under continuous SMTP traffic; the restore verifies and every original opens', async () => {
    const load = traffic(gw.smtpPort);
    let sent: number;
    let made;
    try {
      await until(async () => (await quarantined(dataDir)) >= 5);
      made = await mugaika(['backup', backup, '--data-dir', dataDir]);
      // Traffic goes on after the copy: what came later is not in it.
      const at = await quarantined(dataDir);
      await until(async () => (await quarantined(dataDir)) >= at + 3);
    } finally {
      sent = await load.stop();
    }
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('バックアップを作成しました');
    const manifest = await manifestOf(backup);
    expect(manifest.masterKey.included).toBe(true);
    expect(manifest.originals.count).toBeGreaterThanOrEqual(5);
    expect(manifest.originals.count).toBeLessThan(sent);

    const restoredDir = path.join(root, 'restored');
    const r = await mugaika(['restore', backup, '--data-dir', restoredDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('監査ログの検証: 正常です');
    expect(r.stdout).toContain(`原本: ${manifest.originals.count} 件中 ${manifest.originals.count} 件を開けました`);
    // The restored dir is a data dir the CLI works with as it is.
    const verify = await mugaika(['audit', 'verify', '--data-dir', restoredDir]);
    expect(verify.code).toBe(0);
    const list = await mugaika(['quarantine', 'list', '--data-dir', restoredDir]);
    expect(list.code).toBe(0);
    expect((await fs.stat(path.join(restoredDir, 'keys', 'master.key'))).mode & 0o777).toBe(0o600);
    // The live log recorded the backup.
    const search = await mugaika(['audit', 'search', '--data-dir', dataDir, '--action', 'backup-created', '--json']);
    expect(search.stdout).toContain('"backup-created"');
  }, 120_000);

  it('refuses a data dir that is not empty, and leaves it alone', async () => {
    const target = path.join(root, 'busy');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'gateway.pid'), '1\n');
    const r = await mugaika(['restore', backup, '--data-dir', target]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('は空ではありません（ゲートウェイが使用中です）。上書きはしません。');
    expect(await fs.readdir(target)).toEqual(['gateway.pid']);
  });

  it('refuses a tampered backup and writes nothing', async () => {
    const copy = path.join(root, 'tampered');
    await fs.cp(backup, copy, { recursive: true });
    const [original] = (await fs.readdir(path.join(copy, 'quarantine'))).sort();
    const file = path.join(copy, 'quarantine', original!);
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await fs.writeFile(file, bytes);
    const target = path.join(root, 'from-tampered');
    const r = await mugaika(['restore', copy, '--data-dir', target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('バックアップのファイルがマニフェストと一致しません。戻しません。');
    expect(r.stderr).toContain(`quarantine/${original}: チェックサムが一致しません`);
    await expect(fs.access(target)).rejects.toThrow();
  });

  it('encrypts to a passphrase: the right one restores, a wrong one is refused', async () => {
    const pass = path.join(root, 'pass.txt');
    await fs.writeFile(pass, 'correct horse battery staple\n', { mode: 0o600 });
    const sealed = path.join(root, 'sealed');
    const made = await mugaika(['backup', sealed, '--data-dir', dataDir, '--passphrase-file', pass]);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('暗号化: パスフレーズで暗号化しました');
    const names = await fs.readdir(sealed, { recursive: true });
    expect(names).toContain('manifest.json.enc');
    expect(names).not.toContain('manifest.json');
    const db = await fs.readFile(path.join(sealed, 'database', 'mugaika.db.enc'));
    expect(db.includes(Buffer.from('SQLite format 3'))).toBe(false);
    expect(db.includes(Buffer.from('soumu@city.example.lg.jp'))).toBe(false);

    const wrong = path.join(root, 'wrong.txt');
    await fs.writeFile(wrong, 'not the right passphrase\n');
    const refused = await mugaika(['restore', sealed, '--data-dir', path.join(root, 'wrong-pass'), '--passphrase-file', wrong]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('パスフレーズが違うか、バックアップが改変されています。');
    await expect(fs.access(path.join(root, 'wrong-pass'))).rejects.toThrow();
    const none = await mugaika(['restore', sealed, '--data-dir', path.join(root, 'no-pass')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--passphrase-file を指定してください');

    const r = await mugaika(['restore', sealed, '--data-dir', path.join(root, 'from-sealed'), '--passphrase-file', pass]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('監査ログの検証: 正常です');
    expect(r.stdout).toMatch(/原本: (\d+) 件中 \1 件を開けました/);
  });

  it('says loudly when a backup has no master key, and again when it is restored', async () => {
    const keyless = path.join(root, 'keyless');
    const made = await mugaika(['backup', keyless, '--data-dir', dataDir, '--without-master-key']);
    expect(made.code).toBe(0);
    expect(made.stderr).toContain('【重要】このバックアップにはマスター鍵が含まれていません。');
    expect(made.stderr).toContain('--without-master-key が指定されました。');
    expect((await manifestOf(keyless)).masterKey.included).toBe(false);
    await expect(fs.access(path.join(keyless, 'keys', 'master.key'))).rejects.toThrow();

    const target = path.join(root, 'from-keyless');
    const r = await mugaika(['restore', keyless, '--data-dir', target]);
    expect(r.stdout).toContain('監査ログの検証: 正常です');
    expect(r.stdout).toMatch(/原本: \d+ 件中 0 件を開けました/);
    expect(r.stderr).toContain('【重要】マスター鍵がないため、隔離した原本を開けません。');
    // No new, wrong key was made in its place.
    await expect(fs.access(path.join(target, 'keys', 'master.key'))).rejects.toThrow();
  });
});
