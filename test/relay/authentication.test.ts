// Sender authentication in the relay, end to end: real SMTP into `mugaika
// serve`, its resolver pointed at NSD on 127.0.0.1 (dns.servers), mails signed
// here. The facts are found once at receipt, kept in the spool beside the
// incoming file, recorded in the audit log, and the delivered message carries
// our Authentication-Results and none of the original's (nor its ARC set).
// A DNS server that never answers costs at most the budget, and the message
// is still delivered sanitized.
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNsd, startSilentDns, txt, type Nsd } from '../helpers/nsd.js';
import { cleanup, client, onCleanup, spoolEmpty, startGateway, startSink, transfers, waitFor } from './harness.js';

const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

let nsd: Nsd;
beforeAll(async () => {
  nsd = await startNsd({
    'partner.test': ['@ TXT "v=spf1 ip4:127.0.0.1 -all"', `s1._domainkey TXT ${txt(`v=DKIM1; k=rsa; p=${pub}`)}`, '_dmarc TXT "v=DMARC1; p=quarantine"'],
    'spoofed.test': ['@ TXT "v=spf1 ip4:192.0.2.1 -all"', '_dmarc TXT "v=DMARC1; p=reject"'],
  });
}, 30_000);
afterAll(async () => {
  await nsd?.stop();
});
afterEach(cleanup);

/** A mail carrying a forged Authentication-Results and ARC set of its own. */
const mail = (from: string, tok: string): Buffer =>
  Buffer.from(
    [
      'Authentication-Results: mx.city.example.lg.jp; spf=pass; dkim=pass header.d=city.example.lg.jp; dmarc=pass',
      'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=forger.test; s=x; b=AAAA',
      'ARC-Message-Signature: i=1; a=rsa-sha256; d=forger.test; s=x; h=from; bh=AAAA; b=AAAA',
      'ARC-Authentication-Results: i=1; forger.test; dmarc=pass',
      `From: Sender <${from}>`,
      'To: staff@city.example.lg.jp',
      `Subject: auth ${tok}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      `Message-ID: <${tok}@test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `hello ${tok}`,
      '',
    ].join('\r\n'),
  );

async function signed(raw: Buffer): Promise<Buffer> {
  const options = { signatureData: [{ signingDomain: 'partner.test', selector: 's1', privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }] };
  const r = await dkimSign(raw, options as unknown as Parameters<typeof dkimSign>[1]);
  return Buffer.concat([Buffer.from(r.signatures), raw]);
}

/** The header block of a delivered message, unfolded, as [lowercased name, value]. */
const headersOf = (raw: Buffer): Array<[string, string]> =>
  raw
    .toString('latin1')
    .split('\r\n\r\n')[0]!
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')
    .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);

describe('mugaika serve: sender authentication at receipt', () => {
  it('signed and SPF-authorised passes, a spoofed sender fails; ours is the only Authentication-Results, the audit has the facts', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config: { smtp: { hostname: 'mugaika.city.example.lg.jp' }, dns: { servers: [nsd.server], budgetMs: 3000 } } });
    const c = client(gw.smtpPort);
    const good = await c.send({ from: 'a@partner.test', to: ['staff@city.example.lg.jp'] }, await signed(mail('a@partner.test', 'GOOD')));
    const bad = await c.send({ from: 'ceo@spoofed.test', to: ['staff@city.example.lg.jp'] }, mail('ceo@spoofed.test', 'BAD'));
    expect(good.ok && bad.ok, `${good.response} ${bad.response}`).toBe(true);
    await waitFor('both at the sink', () => sink.messages.length === 2, 60_000);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));

    const bySubject = (tok: string) => sink.messages.find((m) => m.subject?.includes(`auth ${tok}`))!;
    const arOf = (tok: string): string[] =>
      headersOf(bySubject(tok).raw)
        .filter(([n]) => n === 'authentication-results')
        .map(([, v]) => v);
    for (const tok of ['GOOD', 'BAD']) {
      const hs = headersOf(bySubject(tok).raw);
      expect(hs.some(([n]) => n.startsWith('arc-'))).toBe(false);
      expect(arOf(tok)).toHaveLength(1);
      expect(arOf(tok)[0]).toMatch(/^mugaika\.city\.example\.lg\.jp; /);
      expect(bySubject(tok).raw.toString('latin1')).not.toMatch(/forger\.test|mx\.city\.example\.lg\.jp/);
    }
    expect(arOf('GOOD')[0]).toMatch(
      /spf=pass .*smtp\.mailfrom=partner\.test; dkim=pass .*header\.d=partner\.test header\.s=s1; dmarc=pass \(p=quarantine\) header\.from=partner\.test; arc=fail \(.+\)$/,
    );
    // The forged ARC set is checked (and fails), not passed on.
    expect(arOf('BAD')[0]).toMatch(/spf=fail .*smtp\.mailfrom=spoofed\.test; dkim=none \(message not signed\); dmarc=fail \(p=reject\) header\.from=spoofed\.test; arc=fail \(.+\)$/);

    // The audit log's receipt records carry the same facts, one line each.
    const received = transfers(gw.dataDir).filter((l) => l.event === 'received') as Array<{ from?: string; authentication?: string }>;
    expect(received.find((r) => r.from === 'a@partner.test')?.authentication).toBe(arOf('GOOD')[0]);
    expect(received.find((r) => r.from === 'ceo@spoofed.test')?.authentication).toBe(arOf('BAD')[0]);
  }, 120_000);

  it('a DNS server that never answers: temperror within the budget, the message still delivered sanitized', async () => {
    const silent = await startSilentDns();
    onCleanup(() => silent.stop());
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config: { dns: { servers: [silent.server], budgetMs: 1500, timeoutMs: 5000, tries: 3 } } });
    const c = client(gw.smtpPort);
    const sent = Date.now();
    const r = await c.send({ from: 'a@partner.test', to: ['staff@city.example.lg.jp'] }, await signed(mail('a@partner.test', 'SILENT')));
    expect(r.ok, r.response).toBe(true);
    await waitFor('the message at the sink', () => sink.messages.length === 1, 60_000);
    // Budget, grace and the sanitizing itself; far less than timeoutMs × tries.
    expect(Date.now() - sent).toBeLessThan(10_000);
    const raw = sink.messages[0]!.raw;
    expect(raw.toString('latin1')).toMatch(/^X-Mugaika-Verdict: (clean|sanitized)\r$/m);
    const ar = headersOf(raw).filter(([n]) => n === 'authentication-results');
    expect(ar).toHaveLength(1);
    expect(ar[0]![1]).toMatch(/spf=temperror .*dkim=temperror .*dmarc=(temperror|fail|none)/);
  }, 120_000);
});
