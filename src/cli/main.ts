// The `mugaika` command line.
//
// Each command loads what it needs when it runs: importing everything up front
// (sharp, the sanitizer, the SMTP and HTTP servers) made `mugaika queue list`
// take over a second.
import { isIP } from 'node:net';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { jstTableOf } from '../core/jst.js';
import { EXIT, OperatorError } from '../model/operator-error.js';
import { registerKeyCommands } from './key-commands.js';
import { registerQuarantineCommands } from './quarantine-commands.js';
import { packageVersion } from '../runtime/version.js';
import { applyConfigEnv } from './config-env.js';

const defaultDataDir = (): string => path.resolve(process.env.MUGAIKA_DATA_DIR ?? 'data');

/** --client-ip: an IP address (SPF is evaluated for it). */
const clientIp = (value: string): string => {
  if (isIP(value) === 0) throw new InvalidArgumentError(`${value} is not an IP address / IP アドレスではありません`);
  return value;
};
/** --dns-server: an IP address, optionally with :port (IPv6 in brackets then), as config's dns.servers. */
const collect = (value: string, previous: string[]): string[] => {
  if (isIP(value) === 0 && !/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(value)) throw new InvalidArgumentError(`${value} is not IP[:port] / IP[:port] ではありません`);
  return [...previous, value];
};

const program = new Command().name('mugaika').description('無害化ゲートウェイ / Email sanitization gateway for the LGWAN zone').showHelpAfterError();
program.version(`mugaika ${packageVersion()}`, '-V, --version', 'バージョンを表示する / print the version');
applyConfigEnv(program, process.env);

program
  .command('sanitize')
  .description('メールを無害化する / sanitize one message (or a folder with --batch)')
  .argument('[input]', 'the message (.eml) to sanitize')
  .requiredOption('-o, --output <path>', 'where to write the sanitized message (a folder with --batch)')
  .option('--report <path>', 'where to write the JSON report')
  .option('--batch <dir>', 'sanitize every .eml in this folder')
  .option('--data-dir <dir>', 'data folder (quarantine, keys); default $MUGAIKA_DATA_DIR or ./data')
  .option('--policy <file>', 'policy file (YAML); default: the embedded defaults')
  .option('-c, --config <file>', "the gateway's configuration file (YAML): its database, dns and scan.clamdSocket; MUGAIKA_CLAMD_SOCKET overrides it")
  .option('--client-ip <address>', "the connecting client's IP address, for SPF (without it SPF is not evaluated)", clientIp)
  .option('--helo <name>', "the client's EHLO/HELO name (SPF checks it for the null sender)")
  .option('--mail-from <address>', 'the envelope sender (MAIL FROM); without it, the null sender')
  .option('--dns-server <address>', "a DNS resolver to ask (IP[:port]; repeatable); default: the system's", collect, [] as string[])
  .action(
    async (
      input: string | undefined,
      opts: { output: string; report?: string; batch?: string; dataDir?: string; policy?: string; config?: string; clientIp?: string; helo?: string; mailFrom?: string; dnsServer: string[] },
    ) => {
      if (!input === !opts.batch) throw new InvalidArgumentError('give either INPUT or --batch DIR / INPUT か --batch DIR のどちらかを指定してください');
      const [{ loadPolicy }, { openCliDeps }, { sanitizeFile, sanitizeFolder }] = await Promise.all([import('../policy/load.js'), import('./wiring.js'), import('./sanitize-command.js')]);
      const policy = await loadPolicy(opts.policy);
      const deps = await openCliDeps(opts.dataDir ?? defaultDataDir(), policy, opts.config, { servers: opts.dnsServer });
      const client = { ip: opts.clientIp ?? null, helo: opts.helo ?? null, mailFrom: opts.mailFrom ?? null };
      if (!client.ip && deps.authenticator) process.stderr.write('SPF は評価していません（--client-ip がありません）/ SPF not evaluated: no --client-ip\n');
      try {
        if (opts.batch) {
          const lines = await sanitizeFolder(opts.batch, opts.output, deps, process.stderr.isTTY === true, client);
          for (const { file, report } of lines) {
            const codes = [...new Set(report.findings.map((f) => f.code))].join(' ');
            process.stdout.write(`${file.padEnd(32)} ${report.verdict.padEnd(9)} ${report.quarantineId ?? '-'.padEnd(21)} ${codes}\n`);
          }
          process.stdout.write(`\n${lines.length} messages -> ${opts.output}\n`);
        } else if (input) {
          const report = await sanitizeFile(input, opts.output, opts.report, deps, client);
          if (!opts.report) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        }
      } finally {
        await deps.close();
      }
    },
  );

program
  .command('serve')
  .description('ゲートウェイを起動する / run the SMTP gateway (stop with SIGTERM)')
  .option('-c, --config <file>', 'configuration file (YAML); MUGAIKA_SMTP_LISTEN, MUGAIKA_NEXT_HOP, MUGAIKA_DATA_DIR, MUGAIKA_WEB_LISTEN and MUGAIKA_DATABASE_URL override it')
  .option('--data-dir <dir>', 'data folder (spool, store, quarantine, keys); overrides the file and MUGAIKA_DATA_DIR')
  .action(async (opts: { config?: string; dataDir?: string }) => (await import('./serve-command.js')).serve(opts.config, opts.dataDir));

const queue = program.command('queue').description('配送待ちキューの確認と操作 / inspect and steer the spool');
const dataDirOption = ['--data-dir <dir>', 'data folder; default $MUGAIKA_DATA_DIR or ./data'] as const;
queue
  .command('list')
  .description('キューの一覧 / list spool entries')
  .option(...dataDirOption)
  .option('--json', 'print JSON lines')
  .action(async (opts: { dataDir?: string; json?: boolean }) => {
    const { listQueue } = await import('./queue-command.js');
    const lines = await listQueue(opts.dataDir ?? defaultDataDir());
    for (const l of lines) {
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(l)}\n`
          : `${l.id}  ${l.stage.padEnd(8)} ${l.kind.padEnd(21)} rcpts=${l.pending} attempts=${l.attempts} received=${jstTableOf(l.receivedAt)}${l.nextAttemptAt ? ` next=${jstTableOf(l.nextAttemptAt)}` : ''}${l.lastError ? `  last error: ${l.lastError}` : ''}\n`,
      );
    }
    if (!opts.json) process.stdout.write(`${lines.length} entries\n`);
  });
queue
  .command('retry')
  .description('すぐに再送する / make entries due now (all when no id is given)')
  .argument('[ids...]')
  .option(...dataDirOption)
  .action(async (ids: string[], opts: { dataDir?: string }) => {
    const { retryQueue } = await import('./queue-command.js');
    const done = await retryQueue(opts.dataDir ?? defaultDataDir(), ids);
    process.stdout.write(`${done.length} entries due now\n`);
  });
queue
  .command('bounce')
  .description('配送をあきらめて差出人に返送する / give up and bounce to the sender')
  .argument('<ids...>')
  .option(...dataDirOption)
  .action(async (ids: string[], opts: { dataDir?: string }) => {
    const { bounceQueue } = await import('./queue-command.js');
    const done = await bounceQueue(opts.dataDir ?? defaultDataDir(), ids);
    process.stdout.write(`${done.length} entries will be bounced\n`);
  });

registerQuarantineCommands(program);
registerKeyCommands(program);
(await import('./user-commands.js')).registerUserCommands(program);

(await import('./audit-commands.js')).registerAuditCommands(program);
(await import('./backup-commands.js')).registerBackupCommands(program);
(await import('./backup-commands.js')).registerDoctorCommand(program);
(await import('./policy-commands.js')).registerPolicyCommands(program);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof InvalidArgumentError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof OperatorError) {
    // The message says what went wrong and what to do; a stack trace would only hide it.
    process.stderr.write(`mugaika: ${err.message}\n`);
    // A failed start closed what it had opened, but nothing it left may keep the process alive (a unit that never fails).
    if (err.name === 'GatewayStartError') process.exit(err.exitCode);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`mugaika: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.failed;
  }
}
