// `mugaika sanitize`: one message, or a folder of them with --batch.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Finding } from '../core/findings.js';
import { authenticationResults } from '../core/authentication-results.js';
import type { SanitizeResult } from '../core/sanitize.js';
import type { AuthenticationFacts, SenderFacts } from '../model/sender-trust.js';
import { noEnvelope, type CliDeps } from './wiring.js';

export interface Report {
  action: 'deliver' | 'reject';
  verdict: SanitizeResult['verdict'];
  quarantineId: string | null;
  findings: Finding[];
  /** What sender authentication found (spf: null without --client-ip); null when senders are not checked. */
  authentication: AuthenticationFacts | null;
}

/** Where the message came from, as far as the operator knows (--client-ip, --helo, --mail-from). */
export interface ClientInfo {
  ip: string | null;
  helo: string | null;
  /** The envelope sender; null: the null sender (SPF then checks the HELO name). */
  mailFrom: string | null;
}

const toReport = (r: SanitizeResult, authentication: AuthenticationFacts | null): Report => ({
  action: r.action,
  verdict: r.verdict,
  quarantineId: r.quarantineId,
  findings: r.findings,
  authentication,
});

/** Nothing known about the client: SPF is not evaluated. */
export const noClient: ClientInfo = { ip: null, helo: null, mailFrom: null };

async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

/** Sanitizes INPUT; writes OUTPUT only when something is delivered (a stale one is removed). */
export async function sanitizeFile(input: string, output: string, report: string | undefined, cli: CliDeps, client: ClientInfo = noClient): Promise<Report> {
  const raw = await fs.readFile(input);
  const receivedAt = cli.now();
  // The same checks as the gateway's at receipt; SPF only with the client's address.
  const authentication = cli.authenticator ? await cli.authenticator.authenticate({ raw, mailFrom: client.mailFrom, clientIp: client.ip, helo: client.helo }) : null;
  const sender: SenderFacts | undefined = authentication ? { authentication, firstContactFor: null } : undefined;
  const result = await cli.sanitizer.run(raw, noEnvelope, { sender });
  // The file stands for the queue id a relayed message would have.
  const object = path.resolve(input);
  const codes = [...new Set(result.findings.map((f) => f.code))];
  await cli.audit.appendMany([
    {
      actor: cli.actor,
      action: 'received',
      object,
      details: {
        file: object,
        size: raw.length,
        receivedAt: receivedAt.toISOString(),
        ...(client.ip ? { client: client.ip } : {}),
        ...(authentication ? { authentication: authenticationResults(authentication).replace(/\r\n /g, ' ') } : {}),
      },
    },
    {
      actor: cli.actor,
      action: 'verdict',
      object,
      details: { verdict: result.verdict, quarantineId: result.quarantineId, findings: codes, output: result.action === 'deliver' ? path.resolve(output) : null },
    },
  ]);
  if (result.action === 'deliver') await writeAtomically(output, result.message);
  else await fs.rm(output, { force: true });
  const r = toReport(result, authentication);
  if (report) await writeAtomically(report, `${JSON.stringify(r, null, 2)}\n`);
  return r;
}

export interface BatchLine {
  file: string;
  report: Report;
}

export async function sanitizeFolder(inDir: string, outDir: string, deps: CliDeps, showProgress: boolean, client: ClientInfo = noClient): Promise<BatchLine[]> {
  const files = (await fs.readdir(inDir)).filter((f) => f.toLowerCase().endsWith('.eml')).sort();
  await fs.mkdir(outDir, { recursive: true });
  const bar = new cliProgress.SingleBar({ format: '{bar} {value}/{total} {file}', hideCursor: true, noTTYOutput: false, stream: process.stderr }, cliProgress.Presets.shades_classic);
  if (showProgress) bar.start(files.length, 0, { file: '' });
  const lines: BatchLine[] = [];
  for (const file of files) {
    const base = file.replace(/\.eml$/i, '');
    const report = await sanitizeFile(path.join(inDir, file), path.join(outDir, `${base}.eml`), path.join(outDir, `${base}.report.json`), deps, client);
    lines.push({ file, report });
    if (showProgress) bar.increment(1, { file });
  }
  if (showProgress) bar.stop();
  return lines;
}
