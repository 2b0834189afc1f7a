// `mugaika sanitize` checks the sender as the gateway does at receipt:
// --client-ip, --helo and --mail-from give SPF what the SMTP session would
// have, --dns-server points it at NSD on 127.0.0.1; the report carries the
// facts and the output our Authentication-Results. Without --client-ip SPF is
// not evaluated (spf: null) and the command says so.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mugaika } from '../helpers/cli.js';
import { startNsd, txt, type Nsd } from '../helpers/nsd.js';
import { tempDir } from '../helpers/run.js';

const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
let nsd: Nsd;
let dir: string;
let input: string;

beforeAll(async () => {
  nsd = await startNsd({
    'partner.test': [
      '@ TXT "v=spf1 ip4:127.0.0.1 -all"',
      'mx TXT "v=spf1 ip4:192.0.2.1 -all"',
      `s1._domainkey TXT ${txt(`v=DKIM1; k=rsa; p=${key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`)}`,
      '_dmarc TXT "v=DMARC1; p=reject"',
    ],
  });
  dir = tempDir();
  const raw = Buffer.from(
    ['From: a@partner.test', 'To: staff@city.example.lg.jp', 'Subject: cli', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Message-ID: <cli@partner.test>', '', 'hello', ''].join('\r\n'),
  );
  const options = { signatureData: [{ signingDomain: 'partner.test', selector: 's1', privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }] };
  const signed = await dkimSign(raw, options as unknown as Parameters<typeof dkimSign>[1]);
  input = path.join(dir, 'in.eml');
  writeFileSync(input, Buffer.concat([Buffer.from(signed.signatures), raw]));
}, 30_000);
afterAll(async () => {
  await nsd?.stop();
});

const run = async (extra: string[]) => {
  const out = path.join(dir, `out-${extra.length}.eml`);
  const report = path.join(dir, `report-${extra.length}.json`);
  const r = await mugaika(['sanitize', input, '-o', out, '--report', report, '--data-dir', path.join(dir, 'data'), '--dns-server', nsd.server, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { r, report: JSON.parse(readFileSync(report, 'utf8')) as { authentication: Record<string, unknown> }, out: readFileSync(out, 'latin1') };
};

describe('mugaika sanitize: sender authentication', () => {
  it('with --client-ip and --mail-from: SPF, DKIM and DMARC pass, in the report and in our header', async () => {
    const { r, report, out } = await run(['--client-ip', '127.0.0.1', '--helo', 'mx.partner.test', '--mail-from', 'a@partner.test']);
    expect(r.stderr).toBe('');
    expect(report.authentication).toMatchObject({ spf: { result: 'pass', domain: 'partner.test' }, dkim: [{ result: 'pass', domain: 'partner.test' }], dmarc: { result: 'pass', policy: 'reject' } });
    expect(out).toMatch(/^Authentication-Results: [^\r\n]+;\r\n spf=pass /m);
  });

  it('the null sender: SPF checks the --helo name (here not authorised)', async () => {
    const { report } = await run(['--client-ip', '127.0.0.1', '--helo', 'mx.partner.test']);
    expect(report.authentication).toMatchObject({ spf: { result: 'fail', domain: 'mx.partner.test', identity: 'helo' } });
  });

  it('without --client-ip: SPF not evaluated, and said so; DKIM and DMARC still checked', async () => {
    const { r, report, out } = await run([]);
    expect(r.stderr).toMatch(/SPF not evaluated/);
    expect(report.authentication).toMatchObject({ spf: null, dmarc: { result: 'pass' } });
    expect(out).not.toMatch(/spf=/);
  });

  it('refuses a --client-ip that is not an address', async () => {
    const r = await mugaika(['sanitize', input, '-o', path.join(dir, 'x.eml'), '--client-ip', 'mx.example']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not an IP address/);
  });
});
