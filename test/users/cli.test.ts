// `mugaika user ...` through the real binary on a real data dir: every change
// is audited with its actor, passwords are stored only as argon2id hashes, and
// mistakes get one clear line and exit 1.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { openStore } from '../../src/store/open.js';
import { verifyPassword } from '../../src/users/passwords.js';
import { mugaika } from '../helpers/cli.js';
import { tempDir } from '../helpers/run.js';
import { session } from '../store/contract.js';

const PASSWORD = 'correct horse battery';

/** Every file under `dir`, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(e.parentPath, e.name)) : [path.join(e.parentPath, e.name)]));

describe('mugaika user', () => {
  it("records a staff member's other addresses (aliases), audited, and refuses a malformed one", async () => {
    const dataDir = tempDir();
    const d = ['--data-dir', dataDir];
    const added = await mugaika(['user', 'add', 'sato', '--role', 'staff', '--email', 'sato@city.example.lg.jp', '--alias', 'Desk@City.Example.LG.JP', '--password-stdin', ...d], {}, `${PASSWORD}\n`);
    expect(added.code, added.stderr).toBe(0);
    const set = await mugaika(['user', 'aliases', 'sato', 'somu@city.example.lg.jp', 'desk@city.example.lg.jp', 'sato@city.example.lg.jp', '--by', 'cli:soumu', ...d]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('somu@city.example.lg.jp, desk@city.example.lg.jp');
    const bad = await mugaika(['user', 'aliases', 'sato', 'not-an-address', ...d]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not a mail address');
    expect((await mugaika(['user', 'list', ...d])).stdout).toContain('(+somu@city.example.lg.jp, desk@city.example.lg.jp)');
    const store = await openStore({ dataDir });
    try {
      expect((await store.getUser('sato'))!.aliases).toEqual(['somu@city.example.lg.jp', 'desk@city.example.lg.jp']);
      const records = (await store.searchAudit({ actions: ['user-changed'] })).map((r) => [r.actor, JSON.parse(r.details) as Record<string, unknown>]);
      expect(records.map(([actor, x]) => [actor, (x as { change: string }).change, (x as { aliases?: unknown }).aliases])).toEqual([
        [expect.stringMatching(/^cli:/), 'created', ['desk@city.example.lg.jp']],
        ['cli:soumu', 'aliases', ['somu@city.example.lg.jp', 'desk@city.example.lg.jp']],
      ]);
    } finally {
      await store.close();
    }
    // Removing them all.
    expect((await mugaika(['user', 'aliases', 'sato', ...d])).code).toBe(0);
  });

  it('adds, lists, changes, disables and enables users; each change audited with its actor', async () => {
    const dataDir = tempDir();
    const d = ['--data-dir', dataDir];

    const added = await mugaika(['user', 'add', 'tanaka', '--role', 'staff', '--email', 'tanaka@city.example.lg.jp', '--display-name', '田中 一郎', ...d]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const initial = /initial password: (\S+)/.exec(added.stdout)?.[1];
    expect(initial).toMatch(/^[A-Za-z0-9_-]{20}$/);

    const admin = await mugaika(['user', 'add', 'kanri', '--role', 'admin', '--password-stdin', '--by', 'cli:soumu', ...d], {}, `${PASSWORD}\n`);
    expect(admin.code).toBe(0);
    expect(admin.stdout).not.toContain('password:');

    expect((await mugaika(['user', 'role', 'tanaka', 'auditor', ...d])).code).toBe(0);
    expect((await mugaika(['user', 'passwd', 'kanri', '--password-stdin', ...d], {}, 'another long password\n')).code).toBe(0);
    expect((await mugaika(['user', 'disable', 'tanaka', ...d])).code).toBe(0);

    const list = await mugaika(['user', 'list', ...d]);
    expect(list.stdout).toMatch(/^kanri +admin \(管理者\) .* 有効 \/ enabled kanri$/m);
    expect(list.stdout).toMatch(/^tanaka +auditor \(監査者\) +tanaka@city\.example\.lg\.jp +無効 \/ disabled 田中 一郎$/m);
    expect((await mugaika(['user', 'enable', 'tanaka', ...d])).code).toBe(0);
    const json = (await mugaika(['user', 'list', '--json', ...d])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.map((u) => [u.name, u.role, u.disabled])).toEqual([
      ['kanri', 'admin', false],
      ['tanaka', 'auditor', false],
    ]);
    expect(json.every((u) => !('passwordHash' in u))).toBe(true);

    const store = await openStore({ dataDir });
    try {
      const kanri = (await store.getUser('kanri'))!;
      const tanaka = (await store.getUser('tanaka'))!;
      expect(kanri.passwordHash).toMatch(/^\$argon2id\$/);
      expect(await verifyPassword(kanri.passwordHash, 'another long password')).toBe(true);
      expect(await verifyPassword(kanri.passwordHash, PASSWORD)).toBe(false);
      expect(await verifyPassword(tanaka.passwordHash, initial!)).toBe(true);
      const records = await store.searchAudit({ actions: ['user-changed'] });
      expect(records.map((r) => [r.actor, r.object, (JSON.parse(r.details) as { change: string }).change])).toEqual([
        [expect.stringMatching(/^cli:/), 'tanaka', 'created'],
        ['cli:soumu', 'kanri', 'created'],
        [expect.stringMatching(/^cli:/), 'tanaka', 'role'],
        [expect.stringMatching(/^cli:/), 'kanri', 'password'],
        [expect.stringMatching(/^cli:/), 'tanaka', 'disabled'],
        [expect.stringMatching(/^cli:/), 'tanaka', 'enabled'],
      ]);
      // No password, and no hash, in the audit log.
      for (const r of records) expect(r.details).not.toMatch(/argon2|correct horse|another long/);
    } finally {
      await store.close();
    }
    // Nor in any file in plain text; the data dir is not world-readable (only the audit public key is).
    expect(statSync(dataDir).mode & 0o077).toBe(0);
    for (const f of filesUnder(dataDir)) {
      expect(readFileSync(f).includes('another long password')).toBe(false);
      if (!f.endsWith('.pub')) expect(statSync(f).mode & 0o077).toBe(0);
    }
  });

  it('resets a lost phone (reset-2fa): the second factor and recovery codes go, the sessions end, and it is audited', async () => {
    const dataDir = tempDir();
    const d = ['--data-dir', dataDir];
    expect((await mugaika(['user', 'add', 'kanri', '--role', 'admin', '--password-stdin', ...d], {}, `${PASSWORD}\n`)).code).toBe(0);
    const none = await mugaika(['user', 'reset-2fa', 'kanri', ...d]);
    expect(none.stderr).toMatch(/二要素認証が設定されていません.*has no second factor/);
    expect(none.code).toBe(1);
    // Enrolled, with a session, as the console would leave it.
    const store = await openStore({ dataDir });
    try {
      const audit = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir });
      await audit.append(
        { actor: 'console:kanri', action: 'second-factor-enrolled', object: 'kanri', details: {} },
        { totpEnrolled: [{ name: 'kanri', keyId: 'k', sealed: Buffer.from([1]), at: '2026-11-26T01:00:00.000Z', recoveryCodeHashes: ['h1', 'h2'] }], sessionsOpened: [session('s1', 'kanri')] },
      );
      await audit.close();
    } finally {
      await store.close();
    }
    expect((await mugaika(['user', 'list', ...d])).stdout).toMatch(/^kanri .* 2FA kanri$/m);
    const reset = await mugaika(['user', 'reset-2fa', 'kanri', '--by', 'cli:soumu', ...d]);
    expect(reset.stderr).toBe('');
    expect(reset.stdout).toMatch(/二要素認証を解除しました.*removed the second factor of kanri/);
    const after = await openStore({ dataDir });
    try {
      expect((await after.getUser('kanri'))?.totp).toBeNull();
      expect(await after.recoveryCodesLeft('kanri')).toBe(0);
      expect(await after.listSessions('kanri')).toEqual([]);
      expect((await after.searchAudit({ actions: ['second-factor-reset'] })).map((r) => [r.actor, r.object])).toEqual([['cli:soumu', 'kanri']]);
    } finally {
      await after.close();
    }
  });

  it('says what is wrong, in Japanese and English, and changes nothing', async () => {
    const dataDir = tempDir();
    const d = ['--data-dir', dataDir];
    const cases: [string[], string | undefined, RegExp][] = [
      [['user', 'add', 'Tanaka Ichiro', '--role', 'admin'], undefined, /ユーザー名 "Tanaka Ichiro" は使えません.*user names are/],
      [['user', 'add', 'suzuki', '--role', 'staff'], undefined, /職員 \(staff\) にはメールアドレス.*needs --email/],
      [['user', 'add', 'suzuki', '--role', 'admin', '--password-stdin'], 'short\n', /12 文字以上.*at least 12 characters/],
      [['user', 'add', 'suzuki', '--role', 'staff', '--email', 'not-an-address'], undefined, /形式が正しくありません.*not a mail address/],
      [['user', 'role', 'nobody', 'admin'], undefined, /ユーザー nobody はいません.*no user nobody/],
    ];
    for (const [args, input, message] of cases) {
      const r = await mugaika([...args, ...d], {}, input);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(1);
    }
    const bad = await mugaika(['user', 'add', 'suzuki', '--role', 'root', ...d]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Allowed choices are staff, admin, auditor/);
    expect((await mugaika(['user', 'add', 'sato', '--role', 'admin', ...d])).code).toBe(0);
    const twice = await mugaika(['user', 'add', 'sato', '--role', 'auditor', ...d]);
    expect(twice.stderr).toMatch(/すでにいます.*already exists/);
    expect(
      (await mugaika(['user', 'list', '--json', ...d])).stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { role: string }).role),
    ).toEqual(['admin']);
  });
});
