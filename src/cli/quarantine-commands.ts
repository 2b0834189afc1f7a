// `mugaika quarantine ...`: list, inspect, request, release, reject and purge
// quarantined originals. Every change is audited with the actor (--by).
// Heavy modules are imported when a command runs (see main.ts).
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { jstTable, jstTableOf } from '../core/jst.js';
import { itemStates, type ItemState } from '../model/item-states.js';
import { inContext, withCommonOptions, type CommonOptions } from '../app/cli-context.js';
import { EXIT } from '../model/operator-error.js';
import type { ItemSummary } from '../quarantine/vault.js';

const EXIT_FAILED = EXIT.failed;
const EXIT_TEMPFAIL = EXIT.tempfail;

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('0 以上の整数を指定してください / give a whole number, 0 or more');
  return n;
};

// Times in JST, as people read them; --json keeps ISO 8601.
const jst = jstTableOf;

const line = (i: ItemSummary): string => `${i.id}  ${i.state.padEnd(17)} ${jst(i.receivedAt)}  ${i.envelopeFrom ?? '<>'} -> ${i.recipients.join(',')}  ${i.size}B  ${i.findings.join(' ')}`;

export function registerQuarantineCommands(program: Command): void {
  const q = program.command('quarantine').description('隔離メッセージの確認と解放 / inspect, release and purge quarantined originals');

  withCommonOptions(q.command('list').description('隔離メッセージの一覧 / list quarantined messages'))
    .addOption(new Option('--state <state>', '状態で絞り込む / only items in this state').choices(itemStates))
    .option('--limit <n>', '最大件数 / at most this many', positiveInt, 1000)
    .option('--json', 'JSON 行で出力 / print JSON lines')
    .action((opts: CommonOptions & { state?: ItemState; limit: number; json?: boolean }) =>
      inContext(opts, async ({ vault }) => {
        const items = await vault.list({ ...(opts.state ? { states: [opts.state] } : {}), limit: opts.limit });
        for (const i of items) process.stdout.write(opts.json ? `${JSON.stringify(i)}\n` : `${line(i)}\n`);
        if (!opts.json) process.stdout.write(`${items.length} 件 / ${items.length} items\n`);
      }),
    );

  withCommonOptions(q.command('show').description('隔離メッセージの詳細(件名などを復号)/ show one item, its subject and addresses decrypted').argument('<id>'))
    .option('--raw', '原本をそのまま出力 / write the original message itself')
    .option('-o, --output <file>', '--raw の出力先 / where --raw writes (default: standard output)')
    .option('--json', 'JSON で出力 / print JSON')
    .action((id: string, opts: CommonOptions & { raw?: boolean; output?: string; json?: boolean }) =>
      inContext(opts, async ({ vault, audit }, actor) => {
        if (opts.raw) {
          const { raw, item } = await vault.get(id);
          // Reading an original out is as much an event as releasing it.
          await audit.append({ actor, action: 'original-viewed', object: id, details: { from: item.envelopeFrom, to: item.recipients, output: opts.output ?? 'stdout' } });
          const out = opts.output ? createWriteStream(opts.output, { mode: 0o600 }) : process.stdout;
          out.end(raw);
          await finished(out);
          if (opts.output) process.stderr.write(`${id} の原本を ${opts.output} に書き出しました / wrote the original of ${id} to ${opts.output}\n`);
          return;
        }
        const { item, meta } = await vault.details(id);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ ...item, meta }, null, 2)}\n`);
          return;
        }
        const rows: [string, string][] = [
          ['ID', item.id],
          ['状態 / state', `${item.state} (${jst(item.stateChangedAt)}, ${item.stateChangedBy})`],
          ['受信 / received', `${jst(item.receivedAt)} (${item.gateway})`],
          ['エンベロープ差出人 / envelope from', meta.envelopeFrom ?? '<>'],
          ['エンベロープ宛先 / envelope to', meta.envelopeTo.join(', ')],
          ['From', meta.from ?? ''],
          ['To', meta.to.join(', ')],
          ['件名 / subject', meta.subject ?? ''],
          ['サイズ / size', `${item.size} bytes`],
          ['検出 / findings', meta.findings.map((f) => [f.code, f.attachment !== undefined ? `#${f.attachment}` : '', f.detail ?? ''].filter(Boolean).join(' ')).join('; ')],
          ['鍵 / key', item.keyId],
        ];
        for (const [k, v] of rows) process.stdout.write(`${k}: ${v}\n`);
      }),
    );

  withCommonOptions(q.command('request').description('解放を申請する / ask for an item to be released').argument('<id>'))
    .option('--reason <text>', '理由 / why')
    .action((id: string, opts: CommonOptions & { reason?: string }) =>
      inContext(opts, async ({ vault }, actor) => {
        const { createWorkflow } = await import('../quarantine/workflow.js');
        await createWorkflow(vault).request(id, actor, opts.reason);
        process.stdout.write(`${id} の解放を申請しました / release of ${id} requested by ${actor}\n`);
      }),
    );

  withCommonOptions(q.command('release').description('原本を宛先に配送する(承認)/ approve: deliver the original to its recipients').argument('<id>'))
    .option('--comment <text>', '承認のコメント / a comment on the approval')
    .action((id: string, opts: CommonOptions & { comment?: string }) =>
      inContext(opts, async ({ vault, config, dataDir }, actor) => {
        const [{ createWorkflow, releaseMarkingOf, stateAllowing }, { approve }, { nextHopCarrier }, { loadPolicy }] = await Promise.all([
          import('../quarantine/workflow.js'),
          import('../quarantine/approvals.js'),
          import('../delivery/from-config.js'),
          import('../policy/load.js'),
        ]);
        // The gateway's policy says how a released original is marked (release.subjectPrefix, language)
        // and how many administrators approve it (release.approvals): the console's rule, here too.
        const policy = await loadPolicy(config.policyFile);
        await stateAllowing(vault.store, id, 'release');
        const carrier = nextHopCarrier(config, dataDir, 1);
        try {
          const workflow = createWorkflow(vault, undefined, releaseMarkingOf(policy));
          const a = await approve({ vault, workflow, carrier, approvals: policy.release.approvals }, id, actor, (opts.comment ?? '').trim().slice(0, 2000));
          switch (a.kind) {
            case 'released':
              process.stdout.write(`${id} を解放し、${a.result.carrier} に配送しました / released ${id} to ${a.result.accepted.join(', ')} via ${a.result.carrier}\n`);
              return;
            case 'first-recorded':
              process.stdout.write(`${id} の1人目の承認を記録しました。別の管理者が承認すると配送します / first approval of ${id} recorded: it is delivered when another administrator approves\n`);
              return;
            case 'already-approved-by-you':
              process.stderr.write(
                `mugaika: ${id} は ${actor} がすでに承認しています。2人目は別の管理者が承認してください / ${actor} already approved ${id}: the second approval must come from another administrator\n`,
              );
              process.exitCode = EXIT_FAILED;
              return;
            case 'not-approvable':
              // Its state changed since it was checked: say it as the check does.
              await stateAllowing(vault.store, id, 'release');
              process.exitCode = EXIT_FAILED;
              return;
            case 'not-delivered': {
              const r = a.result;
              process.stderr.write(`mugaika: ${id} を配送できませんでした(状態は変わっていません)/ could not deliver ${id} via ${r.carrier}; its state is unchanged\n`);
              for (const f of r.failed) process.stderr.write(`  ${f.rcpt}: ${f.code ?? '-'} ${f.reason}\n`);
              const temporary = r.failed.every((f) => f.code === null || f.code < 500);
              process.exitCode = temporary ? EXIT_TEMPFAIL : EXIT_FAILED;
              return;
            }
          }
        } finally {
          await carrier.close();
        }
      }),
    );

  withCommonOptions(q.command('reject').description('解放しない(却下)/ reject: the original stays quarantined until purged').argument('<id>'))
    .option('--reason <text>', '理由 / why')
    .action((id: string, opts: CommonOptions & { reason?: string }) =>
      inContext(opts, async ({ vault }, actor) => {
        const { createWorkflow } = await import('../quarantine/workflow.js');
        await createWorkflow(vault).reject(id, actor, opts.reason);
        process.stdout.write(`${id} を却下しました / rejected ${id}\n`);
      }),
    );

  withCommonOptions(q.command('purge').description('保存期間を過ぎた原本を削除する / delete originals past the retention period (rows are kept as expired)'))
    .option('--older-than-days <n>', "保存日数 / retention in days; default the config's quarantine.retentionDays (90)", positiveInt)
    .action((opts: CommonOptions & { olderThanDays?: number }) =>
      inContext(opts, async ({ vault, config }, actor) => {
        const { createWorkflow } = await import('../quarantine/workflow.js');
        const days = opts.olderThanDays ?? config.quarantine.retentionDays;
        const r = await createWorkflow(vault).purge(days, actor);
        process.stdout.write(`${r.count} 件の原本を削除しました(${jstTable(r.cutoff)} より前)/ purged ${r.count} originals received before ${jstTable(r.cutoff)} JST\n`);
      }),
    );
}
