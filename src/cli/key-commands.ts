// `mugaika key rotate`: re-wrap every quarantined item's data key under a new
// master key (the sealed originals are not rewritten). Safe to interrupt and
// run again.
import type { Command } from 'commander';
import { inContext, withCommonOptions } from '../app/cli-context.js';

export function registerKeyCommands(program: Command): void {
  const key = program.command('key').description('隔離用マスター鍵の管理 / manage the quarantine master key');
  withCommonOptions(key.command('rotate').description('マスター鍵を更新する / rotate the master key (file: automatic; environment: from MUGAIKA_MASTER_KEY_NEW)'))
    .option('--batch-size <n>', '一度に再暗号化する件数 / items re-wrapped per transaction', (v) => Math.max(1, Number.parseInt(v, 10) || 500), 500)
    .action((opts: { dataDir?: string; config?: string; by?: string; batchSize: number }) =>
      inContext(opts, async ({ store, audit, dataDir }, actor) => {
        const { rotateMasterKey } = await import('../keys/rotate.js');
        const r = await rotateMasterKey({ dataDir, env: process.env, store, audit, actor, batchSize: opts.batchSize });
        process.stdout.write(
          `${r.resumed ? '中断していた鍵更新を完了しました' : 'マスター鍵を更新しました'}: ${r.from} -> ${r.to}(${r.rewrapped} 件)/ ` +
            `${r.resumed ? 'finished the interrupted rotation' : 'rotated the master key'} ${r.from} -> ${r.to}, ${r.rewrapped} items re-wrapped\n`,
        );
        if (r.secondFactors > 0) process.stdout.write(`二要素認証の秘密 ${r.secondFactors} 件も暗号化し直しました / ${r.secondFactors} TOTP secrets re-sealed\n`);
        if (r.source === 'env') {
          process.stdout.write(
            'MUGAIKA_MASTER_KEY を MUGAIKA_MASTER_KEY_NEW の値に置き換え、MUGAIKA_MASTER_KEY_NEW を削除して、ゲートウェイを再起動してください。/ ' +
              'now set MUGAIKA_MASTER_KEY to the value of MUGAIKA_MASTER_KEY_NEW, remove MUGAIKA_MASTER_KEY_NEW, and restart the gateway\n',
          );
        }
      }),
    );
}
