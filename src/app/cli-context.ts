// What every CLI command shares: who acts (the audit log's actor), the
// options that find the data folder and configuration, and the vault opened
// for a command and closed after it. Errors the operator must fix are
// OperatorErrors (src/model/operator-error.ts): main.ts prints their message
// and exits with their code.
import os from 'node:os';
import type { Command } from 'commander';
import type { VaultContext } from '../quarantine/open-context.js';

export interface CommonOptions {
  dataDir?: string;
  config?: string;
  by?: string;
}

/** `cli:<OS user>`: who the audit log names for a command run from a shell (unless --by says otherwise). */
export const defaultActor = (): string => {
  let name: string;
  try {
    name = os.userInfo().username;
  } catch {
    name = String(process.getuid?.() ?? 'unknown');
  }
  return `cli:${name}`;
};

export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', "データフォルダ / data folder; default $MUGAIKA_DATA_DIR, the config's dataDir, or ./data")
    .option('-c, --config <file>', 'ゲートウェイ設定 / gateway configuration (YAML): next hop, retention, database')
    .option('--by <name>', '操作者 / who acts, for the audit log; default cli:<OS user>');
}

/** Opens the vault for a command, runs it, closes everything (also when it fails). */
export async function inContext(opts: CommonOptions, run: (ctx: VaultContext, actor: string) => Promise<void>): Promise<void> {
  const { openVaultContext } = await import('../quarantine/open-context.js');
  const ctx = await openVaultContext({ configFile: opts.config, dataDir: opts.dataDir, env: process.env });
  try {
    await run(ctx, opts.by ?? defaultActor());
  } finally {
    await ctx.close();
  }
}
