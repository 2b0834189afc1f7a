// The `mugaika` command line.
import { Command, InvalidArgumentError } from 'commander';
import { QuarantineUnavailableError } from '../core/sanitize.js';
import { loadPolicy, PolicyError } from '../policy/load.js';
import { sanitizeFile, sanitizeFolder } from './sanitize-command.js';
import { defaultDataDir, realDeps } from './wiring.js';

const EXIT_USAGE = 2;
const EXIT_TEMPFAIL = 75;

const program = new Command()
  .name('mugaika')
  .description('無害化ゲートウェイ / Email sanitization gateway for the LGWAN zone')
  .showHelpAfterError();

program
  .command('sanitize')
  .description('メールを無害化する / sanitize one message (or a folder with --batch)')
  .argument('[input]', 'the message (.eml) to sanitize')
  .requiredOption('-o, --output <path>', 'where to write the sanitized message (a folder with --batch)')
  .option('--report <path>', 'where to write the JSON report')
  .option('--batch <dir>', 'sanitize every .eml in this folder')
  .option('--data-dir <dir>', 'data folder (quarantine, keys); default $MUGAIKA_DATA_DIR or ./data')
  .option('--policy <file>', 'policy file (YAML); default: the embedded defaults')
  .action(async (input: string | undefined, opts: { output: string; report?: string; batch?: string; dataDir?: string; policy?: string }) => {
    if (!input === !opts.batch) throw new InvalidArgumentError('give either INPUT or --batch DIR / INPUT か --batch DIR のどちらかを指定してください');
    const policy = await loadPolicy(opts.policy);
    const deps = await realDeps(opts.dataDir ?? defaultDataDir());
    if (opts.batch) {
      const lines = await sanitizeFolder(opts.batch, opts.output, policy, deps, process.stderr.isTTY === true);
      for (const { file, report } of lines) {
        const codes = [...new Set(report.findings.map((f) => f.code))].join(' ');
        process.stdout.write(`${file.padEnd(32)} ${report.verdict.padEnd(9)} ${report.quarantineId ?? '-'.padEnd(21)} ${codes}\n`);
      }
      process.stdout.write(`\n${lines.length} messages -> ${opts.output}\n`);
    } else if (input) {
      const report = await sanitizeFile(input, opts.output, opts.report, policy, deps);
      if (!opts.report) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    }
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof PolicyError || err instanceof InvalidArgumentError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else if (err instanceof QuarantineUnavailableError) {
    process.stderr.write(`mugaika: ${err.message}\n`);
    process.exitCode = EXIT_TEMPFAIL;
  } else {
    process.stderr.write(`mugaika: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
