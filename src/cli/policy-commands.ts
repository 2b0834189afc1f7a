// `mugaika policy senders export|import`: the allow and exclusion lists of the
// policy file as CSV. An import is audited (`policy-changed`) with who, why and
// the policy's fingerprint before and after.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OperatorError, EXIT } from '../model/operator-error.js';

interface Where {
  policy?: string;
  config?: string;
  dataDir?: string;
}

/** The policy file: --policy, else the configuration's policyFile; the embedded defaults cannot be edited. */
async function policyFileOf(opts: Where): Promise<string> {
  if (opts.policy) return path.resolve(opts.policy);
  const { loadConfig } = await import('../config/load.js');
  const file = (await loadConfig(opts.config, process.env)).policyFile;
  if (!file)
    throw new OperatorError(
      'ポリシーファイルが指定されていません。--policy で指定するか、設定ファイルの policyFile に書いてください（組み込みの既定値は編集できません）。/ no policy file: give --policy, or policyFile in the configuration (the embedded defaults cannot be edited).',
      EXIT.usage,
    );
  return path.resolve(file);
}

const whereOptions = (cmd: Command): Command =>
  cmd
    .option('--policy <file>', "ポリシーファイル / policy file (YAML); default the configuration's policyFile")
    .option('-c, --config <file>', 'ゲートウェイ設定 / gateway configuration (YAML)')
    .option('--data-dir <dir>', "データフォルダ / data folder (the audit log); default $MUGAIKA_DATA_DIR, the config's dataDir, or ./data");

export function registerPolicyCommands(program: Command): void {
  const senders = program
    .command('policy')
    .description('ポリシーの編集 / edit the policy file')
    .command('senders')
    .description('許可リストと除外リスト（CSV）/ the allow and exclusion lists of senders, as CSV (list,sender,note)');

  whereOptions(senders.command('export').description('CSV に書き出す / write both lists to a CSV file (UTF-8 with BOM)'))
    .requiredOption('--file <csv>', '書き出す CSV ファイル / the CSV file to write')
    .action(async (opts: Where & { file: string }) => {
      const [{ readPolicyFile, senderListsCsv }, { writeDurably }] = await Promise.all([import('../policy/sender-lists.js'), import('../durable/files.js')]);
      const policy = await readPolicyFile(await policyFileOf(opts));
      await writeDurably(path.resolve(opts.file), senderListsCsv(policy), 0o644);
      process.stdout.write(
        `許可 ${policy.senders.allow.length} 件、除外 ${policy.senders.exclude.length} 件を ${opts.file} に書き出しました / wrote ${policy.senders.allow.length} allowed and ${policy.senders.exclude.length} excluded senders to ${opts.file}\n`,
      );
    });

  whereOptions(senders.command('import').description('CSV で置き換える / replace both lists with a CSV file (audited)').argument('<csv>', '読み込む CSV ファイル / the CSV file'))
    .requiredOption('--actor <name>', '操作者 / who makes the change (the audit record)')
    .requiredOption('--reason <text>', '理由 / why (the audit record)')
    .action(async (csv: string, opts: Where & { actor: string; reason: string }) => {
      const actor = opts.actor.trim();
      const reason = opts.reason.trim();
      if (!actor || !reason) throw new OperatorError('--actor と --reason には空でない値を指定してください。/ --actor and --reason must not be empty.', EXIT.usage);
      const { importSenderListsAudited, parseSenderCsv } = await import('../policy/sender-lists.js');
      const file = await policyFileOf(opts);
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(csv);
      } catch (err) {
        throw new OperatorError(`${csv} を読めません。/ cannot read ${csv}: ${(err as Error).message}`, EXIT.usage);
      }
      // Every row is checked before the store is even opened.
      const lists = parseSenderCsv(bytes, csv);
      const { inContext } = await import('../app/cli-context.js');
      await inContext({ config: opts.config, dataDir: opts.dataDir, by: actor }, async ({ audit }) => {
        const change = await importSenderListsAudited(file, lists, audit, { actor, reason, source: path.basename(csv) });
        const same = change.before === change.after ? '（内容は同じでした / no change in effect）' : '';
        process.stdout.write(
          `${file} の許可リストを ${change.allow} 件、除外リストを ${change.exclude} 件にしました${same} / ${file}: ${change.allow} allowed, ${change.exclude} excluded senders\n  fingerprint ${change.before} -> ${change.after}\n  ゲートウェイを再起動すると反映されます / restart the gateway to apply it\n`,
        );
      });
    });
}
