// Sender authentication benchmark:  npx tsx bench/authentication.ts [--quick]
//
// What checking a sender at receipt (SPF, DKIM, DMARC, ARC through the bounded
// resolver, src/sender/) costs per message once the resolver's cache is warm,
// beside the baseline measured in the same run on the same bytes: the core's
// sanitize() of that message (a ~10 KB signed Japanese text mail), wired with
// a real quarantine vault as test/helpers/run.ts wires it. The DNS answers come
// from NSD on 127.0.0.1 (test/helpers/nsd.ts) serving the sender's zone.
// Sequential, one message at a time: the figure is latency, not throughput.
// Prints a table; the figures go to .bench/authentication.json.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dkimSign } from 'mailauth';
import { openAuditLog } from '../src/audit/log.js';
import { loadOrCreateSigner } from '../src/audit/signer.js';
import { createSharpTranscoder } from '../src/converters/image-sharp.js';
import { noDocuments } from '../src/converters/unavailable.js';
import { defaultPolicy } from '../src/core/policy.js';
import { sanitize } from '../src/core/sanitize.js';
import { openVault } from '../src/quarantine/vault.js';
import { createAuthenticator } from '../src/sender/authenticate.js';
import { createResolver } from '../src/sender/resolver.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startNsd, txt } from '../test/helpers/nsd.js';

const QUICK = process.argv.includes('--quick');
const WARMUP = QUICK ? 20 : 100;
const COUNT = QUICK ? 200 : 1000;
const OUT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.bench');

const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const nsd = await startNsd({
  'partner.test': [
    '@ TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.partner.test -all"',
    '_spf TXT "v=spf1 ip4:127.0.0.1 -all"',
    `s1._domainkey TXT ${txt(`v=DKIM1; k=rsa; p=${key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`)}`,
    '_dmarc TXT "v=DMARC1; p=quarantine"',
  ],
});
const dataDir = mkdtempSync(path.join(tmpdir(), 'mugaika-bench-auth-'));
try {
  const body = Array.from({ length: 120 }, (_, i) => `${i + 1}. 令和8年度の住民向け説明会について、資料を添付いたします。ご確認ください。`).join('\r\n');
  const unsigned = Buffer.from(
    [
      'From: 総務課 <soumu@partner.test>',
      'To: staff@city.example.lg.jp',
      'Subject: =?UTF-8?B?6Kqs5piO5Lya44Gu44GU5qGI5YaF?=',
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'Message-ID: <bench@partner.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      body,
      '',
    ].join('\r\n'),
  );
  const options = { signatureData: [{ signingDomain: 'partner.test', selector: 's1', privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }] };
  const signed = await dkimSign(unsigned, options as unknown as Parameters<typeof dkimSign>[1]);
  const raw = Buffer.concat([Buffer.from(signed.signatures), unsigned]);

  const resolver = createResolver({ servers: [nsd.server], timeoutMs: 2000, tries: 2, cacheEntries: 10_000, cacheSeconds: 3600, maxAnswerBytes: 16_384 });
  const auth = createAuthenticator({ resolver, authservId: 'mugaika.bench', budgetMs: 5000, maxKeyBits: 8192 });
  const input = { raw, mailFrom: 'soumu@partner.test', clientIp: '127.0.0.1', helo: 'mx.partner.test' };
  const first = await auth.authenticate(input);
  if (first.dmarc.result !== 'pass' || first.spf?.result !== 'pass' || first.dkim[0]?.result !== 'pass') throw new Error(`the bench mail does not pass: ${JSON.stringify(first)}`);

  const db = await openSqliteStore(dataDir);
  const audit = openAuditLog(db, await loadOrCreateSigner(dataDir), { dataDir, autoCheckpoint: false });
  const quarantine = await openVault({ dataDir, store: db, audit, env: {} });
  const deps = { quarantine, images: createSharpTranscoder(), documents: noDocuments, now: () => new Date(), randomToken: () => randomUUID() };
  const sender = { authentication: first, firstContactFor: null };

  const perMessage = async (fn: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < WARMUP; i++) await fn();
    const t0 = performance.now();
    for (let i = 0; i < COUNT; i++) await fn();
    return ((performance.now() - t0) * 1000) / COUNT;
  };
  const authUs = await perMessage(() => auth.authenticate(input));
  const coreUs = await perMessage(() => sanitize({ raw, sender }, defaultPolicy, deps));
  await db.close();

  const ratio = authUs / coreUs;
  console.log(`authentication (warm cache, ${COUNT} × ${(raw.length / 1024).toFixed(1)} KB signed mail, SPF include + DKIM 2048 + DMARC)`);
  console.log(`  auth   ${authUs.toFixed(0).padStart(7)} µs/message`);
  console.log(`  core   ${coreUs.toFixed(0).padStart(7)} µs/message  (baseline: sanitize() on the same mail)`);
  console.log(`  ratio  ${ratio.toFixed(2).padStart(7)} × the core's cost   (cache: ${resolver.cached} answers)`);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'authentication.json'), `${JSON.stringify({ at: new Date().toISOString(), quick: QUICK, count: COUNT, bytes: raw.length, authUs, coreUs, ratio }, null, 2)}\n`);
} finally {
  await nsd.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
