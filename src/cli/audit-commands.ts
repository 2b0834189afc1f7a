// `mugaika audit verify|search|export`.
//
// The store is PostgreSQL when MUGAIKA_DATABASE_URL is set, otherwise SQLite
// in the data dir. Everything heavy is imported when a command runs, so
// registering these costs `mugaika queue list` nothing.
import { InvalidArgumentError, type Command } from 'commander';
import { jstMidnight } from '../core/jst.js';
import type { AuditAction } from '../model/audit-actions.js';
import type { AuditFilter } from '../store/types.js';
import { defaultActor } from '../app/cli-context.js';

const EXIT_TAMPERED = 1;

interface FilterOptions {
  since?: Date;
  until?: Date;
  sender?: string;
  recipient?: string;
  verdict?: string;
  /** As typed: comma-separated actions. */
  action?: string;
  actor?: string;
  object?: string;
}

/**
 * An ISO date or date-time; a bare date (2026-04-01) is midnight in Japan, as an operator means it
 * whatever the machine's time zone; a date-time without an offset is Japan time too.
 */
export function parseWhen(value: string): Date {
  const bare = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}+09:00`;
  const d = bare ? jstMidnight(Number(bare[1]), Number(bare[2]), Number(bare[3])) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(zoned) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) {
    throw new InvalidArgumentError(`not an ISO date: ${value} (e.g. 2026-04-01 or 2026-04-01T09:00:00+09:00) / 日付は ISO 形式で指定してください`);
  }
  return d;
}

async function parseActions(value: string): Promise<AuditAction[]> {
  const { auditActions } = await import('../model/audit-actions.js');
  const known = new Set<string>(auditActions);
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((a) => !known.has(a));
  if (bad.length > 0 || list.length === 0) {
    throw new InvalidArgumentError(`unknown action ${bad.join(', ') || '(empty)'}; one of: ${auditActions.join(', ')} / 不明な操作です`);
  }
  return list as AuditAction[];
}

const toFilter = (o: FilterOptions, actions: AuditAction[] | undefined): AuditFilter => ({
  ...(o.since && { since: o.since }),
  ...(o.until && { until: o.until }),
  ...(o.sender !== undefined && { sender: o.sender }),
  ...(o.recipient !== undefined && { recipient: o.recipient }),
  ...(o.verdict !== undefined && { verdict: o.verdict }),
  ...(actions && { actions }),
  ...(o.actor !== undefined && { actor: o.actor }),
  ...(o.object !== undefined && { objects: [o.object] }),
});

function withFilters(cmd: Command): Command {
  return cmd
    .option('--since <date>', '以降 / from this time (inclusive; ISO date; a bare date, or a time without an offset, is Japan time)', parseWhen)
    .option('--until <date>', '以前 / up to this time (exclusive)', parseWhen)
    .option('--sender <address>', '差出人 / sender address')
    .option('--recipient <address>', '宛先 / recipient address')
    .option('--verdict <verdict>', '判定 / verdict (sanitized, quarantined, rejected, ...)')
    .option('--action <actions>', '操作 / actions, comma-separated')
    .option('--actor <name>', '操作者 / who did it')
    .option('--object <id>', '対象 / queue id, quarantine id, user name');
}

/** The data dir and database: --data-dir, else the config file (-c) and MUGAIKA_* overrides, as the gateway sees them. */
async function targetOf(opts: { dataDir?: string; config?: string }): Promise<{ dataDir: string; databaseUrl: string | undefined }> {
  const [{ loadConfig }, path] = await Promise.all([import('../config/load.js'), import('node:path')]);
  const config = await loadConfig(opts.config, process.env);
  return { dataDir: path.resolve(opts.dataDir ?? config.dataDir), databaseUrl: config.database.url };
}

async function openFor(target: { dataDir: string; databaseUrl: string | undefined }) {
  const { openStore } = await import('../store/open.js');
  return openStore(target);
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('監査ログの検証・検索・出力 / verify, search and export the audit log');
  const dataDirOption = ['--data-dir <dir>', 'data folder; default $MUGAIKA_DATA_DIR or ./data (PostgreSQL when MUGAIKA_DATABASE_URL is set)'] as const;
  const configOption = ['-c, --config <file>', "the gateway's configuration (data dir, database.url)"] as const;

  audit
    .command('verify')
    .description('改ざんがないか検証する (exit 0: 正常, 1: 改ざんあり) / check the hash chain, checkpoints and head file (exit 0 intact, 1 tampered)')
    .option(...dataDirOption)
    .option(...configOption)
    .option('--json', 'print the result as JSON')
    .action(async (opts: { dataDir?: string; config?: string; json?: boolean }) => {
      const target = await targetOf(opts);
      const { dataDir } = target;
      const [{ verifyAudit }, { loadTrust, loadOrCreateSigner }, { headFilePath }, { openAuditLog }] = await Promise.all([
        import('../audit/verify.js'),
        import('../audit/signer.js'),
        import('../audit/head-file.js'),
        import('../audit/log.js'),
      ]);
      const store = await openFor(target);
      try {
        const started = Date.now();
        // A long log is checked on two threads, in chunks each takes in turn.
        const { segmentsOnThreads } = await import('../audit/verify-parallel.js');
        const parallel = segmentsOnThreads(target);
        const result = await verifyAudit(store, await loadTrust(dataDir), { headFile: headFilePath(dataDir), parallel });
        const seconds = (Date.now() - started) / 1000;
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else if (result.ok) {
          process.stdout.write(
            `監査ログは正常です / audit log intact: ${result.records} records, ${result.checkpoints} checkpoints checked, ${result.unsignedTail} not yet signed at the end${result.headFile === 'absent' ? ', no head file here' : ''} (${seconds.toFixed(1)} s)\n`,
          );
        } else {
          process.stdout.write(`監査ログの改ざんを検出しました / the audit log was tampered with: first bad record seq ${result.firstBadSeq}\n${result.problem}\n`);
        }
        // The check itself is audited; a broken chain gets no new checkpoint from us.
        const log = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir, autoCheckpoint: result.ok });
        await log.append({
          actor: defaultActor(),
          action: 'audit-verified',
          object: null,
          details: result.ok
            ? { ok: true, records: result.records, checkpoints: result.checkpoints, unsignedTail: result.unsignedTail }
            : { ok: false, firstBadSeq: result.firstBadSeq, kind: result.kind, records: result.records },
        });
        await log.close();
        if (!result.ok) process.exitCode = EXIT_TAMPERED;
      } finally {
        await store.close();
      }
    });

  withFilters(audit.command('search').description('監査ログを検索する / search the audit log'))
    .option(...dataDirOption)
    .option(...configOption)
    .option('--limit <n>', 'at most this many records (default 100)', (v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`--limit wants a positive integer, not ${v} / --limit には正の整数を指定してください`);
      return n;
    })
    .option('--json', 'print JSON lines')
    .action(async (opts: FilterOptions & { dataDir?: string; config?: string; limit?: number; json?: boolean }) => {
      const actions = opts.action === undefined ? undefined : await parseActions(opts.action);
      const { auditPages, jsonLine, textLine } = await import('../audit/export.js');
      const store = await openFor(await targetOf(opts));
      try {
        const limit = opts.limit ?? 100;
        let n = 0;
        for await (const page of auditPages(store, { ...toFilter(opts, actions), limit: limit + 1 })) {
          for (const r of page) {
            if (n++ < limit) process.stdout.write(opts.json ? jsonLine(r) : textLine(r));
          }
        }
        if (!opts.json) {
          process.stdout.write(n > limit ? `${limit}+ 件 / records (more with --limit or audit export)\n` : `${n} 件 / records\n`);
        }
      } finally {
        await store.close();
      }
    });

  withFilters(audit.command('export').description('監査ログを CSV または JSON Lines で出力する / export the audit log as CSV or JSON lines'))
    .option(...dataDirOption)
    .option(...configOption)
    .option('--format <format>', 'csv (UTF-8 with BOM, times in JST, for Excel) or jsonl (ISO 8601)', 'csv')
    .option('--headers <lang>', 'CSV header language: ja or en', 'ja')
    .option('-o, --output <file>', 'write here instead of standard output')
    .action(async (opts: FilterOptions & { dataDir?: string; config?: string; format: string; headers: string; output?: string }) => {
      if (opts.format !== 'csv' && opts.format !== 'jsonl') throw new InvalidArgumentError(`--format must be csv or jsonl, not ${opts.format} / --format は csv か jsonl です`);
      if (opts.headers !== 'ja' && opts.headers !== 'en') throw new InvalidArgumentError(`--headers must be ja or en, not ${opts.headers} / --headers は ja か en です`);
      const actions = opts.action === undefined ? undefined : await parseActions(opts.action);
      const [{ exportAudit }, { createWriteStream }, { finished }] = await Promise.all([import('../audit/export.js'), import('node:fs'), import('node:stream/promises')]);
      const store = await openFor(await targetOf(opts));
      try {
        const out = opts.output ? createWriteStream(opts.output, { mode: 0o600 }) : process.stdout;
        const n = await exportAudit(store, toFilter(opts, actions), opts.format, out, { headers: opts.headers });
        if (opts.output) {
          out.end();
          await finished(out);
          process.stderr.write(`${n} 件を ${opts.output} に出力しました / ${n} records written to ${opts.output}\n`);
        }
      } finally {
        await store.close();
      }
    });
}
