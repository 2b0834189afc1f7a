// `mugaika backup DIR`, `mugaika restore DIR --data-dir NEW` and `mugaika doctor`.
// Everything heavy is imported when a command runs.
import path from 'node:path';
import type { Command } from 'commander';
import { defaultActor } from '../app/cli-context.js';
import { EXIT, OperatorError } from '../model/operator-error.js';

const out = (s: string): boolean => process.stdout.write(`${s}\n`);
const err = (s: string): boolean => process.stderr.write(`${s}\n`);

async function readPassphrase(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const { promises: fs } = await import('node:fs');
  const text = await fs.readFile(file, 'utf8').catch((e: Error) => {
    throw new OperatorError(`パスフレーズのファイル ${file} を読めません。/ cannot read the passphrase file ${file}: ${e.message}`, EXIT.usage);
  });
  const passphrase = text.split(/\r?\n/)[0] ?? '';
  if ([...passphrase].length < 12)
    throw new OperatorError(`パスフレーズは 12 文字以上にしてください（${file} の 1 行目）。/ the passphrase (first line of ${file}) must have at least 12 characters`, EXIT.usage);
  return passphrase;
}

const WHY_NO_KEY = {
  excluded: ['--without-master-key が指定されました。', '--without-master-key was given'],
  unreadable: [
    'マスター鍵のファイルを読めませんでした（権限）。ゲートウェイと同じ利用者か root で実行してください。',
    "the master key file could not be read (permissions): run as the gateway's user or root",
  ],
  absent: ['マスター鍵のファイルがありません。', 'there is no master key file'],
  environment: ['マスター鍵は環境変数 MUGAIKA_MASTER_KEY で与えられています。', 'the master key comes from MUGAIKA_MASTER_KEY'],
} as const;

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('稼働中のままバックアップを取る / back up the database, keys, originals and settings while the gateway runs')
    .argument('<dir>', 'a new or empty folder for the backup')
    .option('--data-dir <dir>', "データフォルダ / data folder; default $MUGAIKA_DATA_DIR, the config's dataDir, or ./data")
    .option('-c, --config <file>', 'ゲートウェイ設定 / gateway configuration (YAML): data dir, database, policy file')
    .option('--passphrase-file <file>', 'パスフレーズ（1 行目）で暗号化する / encrypt to the passphrase on the first line of this file')
    .option('--without-master-key', 'マスター鍵を含めない / leave the master key out (keep it elsewhere: originals do not open without it)')
    .option('--by <name>', '操作者 / who acts, for the audit log; default cli:<OS user>')
    .action(async (dir: string, opts: { dataDir?: string; config?: string; passphraseFile?: string; withoutMasterKey?: boolean; by?: string }) => {
      const [{ loadConfig }, { takeBackup }, { openStore }, { openAuditLog }, { loadOrCreateSigner }] = await Promise.all([
        import('../config/load.js'),
        import('../backup/take.js'),
        import('../store/open.js'),
        import('../audit/log.js'),
        import('../audit/signer.js'),
      ]);
      const config = await loadConfig(opts.config, process.env);
      const dataDir = path.resolve(opts.dataDir ?? config.dataDir);
      const passphrase = await readPassphrase(opts.passphraseFile);
      const { manifest, encrypted } = await takeBackup({
        dir,
        dataDir,
        databaseUrl: config.database.url,
        configFile: opts.config,
        policyFile: config.policyFile,
        passphrase,
        withoutMasterKey: opts.withoutMasterKey === true,
        env: process.env,
      });
      const store = await openStore({ dataDir, databaseUrl: config.database.url });
      try {
        const log = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir });
        await log.append({
          actor: opts.by ?? defaultActor(),
          action: 'backup-created',
          object: null,
          details: {
            dir: path.resolve(dir),
            database: manifest.database.kind,
            auditHead: manifest.database.auditHead.seq,
            originals: manifest.originals.count,
            masterKey: manifest.masterKey.included,
            encrypted,
          },
        });
        await log.close();
      } finally {
        await store.close();
      }
      const { originals, database } = manifest;
      out(`バックアップを作成しました: ${path.resolve(dir)}`);
      out(`  データベース: ${database.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL (pg_dump)'}、監査ログ ${database.auditHead.seq} 件`);
      out(`  隔離した原本: ${originals.count} 件`);
      out(`  暗号化: ${encrypted ? 'パスフレーズで暗号化しました' : 'していません（バックアップ先の保管に注意してください）'}`);
      out(
        `backup written to ${path.resolve(dir)}: ${database.kind} database, ${database.auditHead.seq} audit records, ${originals.count} originals, ${manifest.files.length} files, ${encrypted ? 'encrypted' : 'not encrypted'}`,
      );
      if (originals.missing.length > 0) {
        err(
          `注意: 原本 ${originals.missing.length} 件はコピー中に削除されました（保存期間を過ぎた原本の削除中）: ${originals.missing.join(', ')} / ${originals.missing.length} originals were purged while copied`,
        );
      }
      if (!manifest.masterKey.included) {
        const [ja, en] = WHY_NO_KEY[manifest.masterKey.reason];
        const ids = manifest.masterKey.keyIds.join(', ') || '-';
        err('='.repeat(72));
        err('【重要】このバックアップにはマスター鍵が含まれていません。');
        err(`  理由: ${ja}`);
        err(`  マスター鍵がないと、隔離した原本（${originals.count} 件）は戻しても開けません。`);
        err(`  必要な鍵（${ids}）を別の安全な場所に保管していることを、必ず確認してください。`);
        err(`WARNING: this backup does NOT contain the master key (${en}).`);
        err(`  Without it the ${originals.count} quarantined originals cannot be opened after a restore: keep key ${ids} safe elsewhere.`);
        err('='.repeat(72));
        if (manifest.masterKey.reason === 'unreadable' || (manifest.masterKey.reason === 'absent' && originals.count > 0)) process.exitCode = EXIT.failed;
      }
    });

  program
    .command('restore')
    .description('バックアップを新しいデータフォルダーに戻す / restore a backup into a new, empty data dir, then verify the audit log and open every original')
    .argument('<dir>', 'the backup folder')
    .requiredOption('--data-dir <dir>', '戻し先（新しい空のフォルダー） / the new data dir (must not exist or be empty)')
    .option('-c, --config <file>', 'PostgreSQL のとき: 戻し先の database.url / for a PostgreSQL backup: the configuration naming the empty target database')
    .option('--passphrase-file <file>', '暗号化したときのパスフレーズ（1 行目） / the passphrase (first line) of an encrypted backup')
    .option('--by <name>', '操作者 / who acts, for the restored audit log; default cli:<OS user>')
    .action(async (dir: string, opts: { dataDir: string; config?: string; passphraseFile?: string; by?: string }) => {
      const [{ loadConfig }, { restoreBackup }, { checkRestored }] = await Promise.all([import('../config/load.js'), import('../backup/restore.js'), import('../backup/check.js')]);
      const config = await loadConfig(opts.config, process.env);
      const passphrase = await readPassphrase(opts.passphraseFile);
      const restored = await restoreBackup({ dir, dataDir: opts.dataDir, databaseUrl: config.database.url, passphrase });
      const databaseUrl = restored.manifest.database.kind === 'postgresql' ? config.database.url : undefined;
      out(`バックアップ（${restored.manifest.createdAt} 作成）を ${restored.dataDir} に戻しました。/ restored the backup of ${restored.manifest.createdAt} into ${restored.dataDir}`);
      for (const s of restored.settings) out(`  設定ファイルを ${s} に置きました。内容を確認して /etc/mugaika などに置いてください。/ settings file restored to ${s}`);
      const check = await checkRestored({ dataDir: restored.dataDir, databaseUrl, env: process.env, actor: opts.by ?? defaultActor(), backupCreatedAt: restored.manifest.createdAt });
      const { verify, originals } = check;
      if (verify.ok) out(`監査ログの検証: 正常です（${verify.records} 件）。/ audit log verified: ${verify.records} records intact`);
      else out(`監査ログの検証: 改ざんまたは欠落を検出しました（連番 ${verify.firstBadSeq}）。/ audit log verification FAILED at seq ${verify.firstBadSeq}: ${verify.problem}`);
      out(`原本: ${originals.total} 件中 ${originals.opened} 件を開けました。/ originals: ${originals.opened} of ${originals.total} open`);
      if (!originals.keyAvailable && originals.total > 0) {
        err('='.repeat(72));
        err('【重要】マスター鍵がないため、隔離した原本を開けません。');
        err(`  別に保管しているマスター鍵を ${path.join(restored.dataDir, 'keys', 'master.key')}（権限 0600）に置くか、MUGAIKA_MASTER_KEY を設定してください。`);
        err('WARNING: no master key: the quarantined originals cannot be opened. Put the key kept elsewhere in keys/master.key (mode 0600) or set MUGAIKA_MASTER_KEY.');
        err('='.repeat(72));
      } else if (originals.failed.length > 0) {
        err(`開けなかった原本 / originals that do not open: ${originals.failed.slice(0, 20).join(', ')}${originals.failed.length > 20 ? ' …' : ''}`);
      }
      if (!verify.ok || (originals.keyAvailable && originals.failed.length > 0)) process.exitCode = EXIT.failed;
    });
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('設定と環境のよくある誤りを調べる (exit 0: エラーなし, 1: エラーあり) / check what operators get wrong (exit 1 on errors)')
    .option('--data-dir <dir>', "データフォルダ / data folder; default $MUGAIKA_DATA_DIR, the config's dataDir, or ./data")
    .option('-c, --config <file>', 'ゲートウェイ設定 / gateway configuration (YAML)')
    .option('--owner <user>', 'データフォルダーの所有者 / who should own the data dir; default the user running this')
    .option('--min-free-mb <n>', '必要な空き容量 (MiB) / free space below this is an error (default 1024)', (v) => Math.max(0, Number.parseInt(v, 10) || 0), 1024)
    .option('--json', 'print JSON lines')
    .action(async (opts: { dataDir?: string; config?: string; owner?: string; minFreeMb: number; json?: boolean }) => {
      const [{ runDoctor }, { formatFindings }] = await Promise.all([import('../doctor/doctor.js'), import('../doctor/finding.js')]);
      const findings = await runDoctor({ configFile: opts.config, dataDir: opts.dataDir, env: process.env, owner: opts.owner, minFreeBytes: opts.minFreeMb * 1024 * 1024 });
      process.stdout.write(opts.json ? findings.map((f) => `${JSON.stringify(f)}\n`).join('') : formatFindings(findings));
      if (findings.some((f) => f.level === 'error')) process.exitCode = EXIT.failed;
    });
}
