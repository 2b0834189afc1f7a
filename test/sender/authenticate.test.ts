// Sender authentication against a real DNS server (NSD on 127.0.0.1) serving
// test zones: SPF pass/fail/softfail/neutral and the HELO name for the null
// sender, DKIM good/bad/missing key with mails signed here, DMARC
// reject/quarantine/none, and the bad inputs (malformed signature, a 16 kbit
// key, an SPF include loop, a huge TXT record, a server that never answers):
// a result with its reason every time, within the budget, never a throw.
import { generateKeyPairSync, randomBytes, createPublicKey, type KeyObject } from 'node:crypto';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type SenderAuthenticator } from '../../src/sender/authenticate.js';
import { createResolver, type DnsOptions } from '../../src/sender/resolver.js';
import { startNsd, startSilentDns, txt, type Nsd } from '../helpers/nsd.js';

const spki = (k: KeyObject): string => k.export({ type: 'spki', format: 'der' }).toString('base64');
const good = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** A 16384-bit RSA public key (a random odd modulus: only its length matters, no one has its private key). */
const hugeKey = (() => {
  const n = randomBytes(2048);
  n[0]! |= 0x80;
  n[n.length - 1]! |= 1;
  return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' });
})();

const zones = {
  'pass.test': [
    '@ TXT "v=spf1 ip4:127.0.0.1 -all"',
    'mx TXT "v=spf1 ip4:127.0.0.1 -all"',
    `sel._domainkey TXT ${txt(`v=DKIM1; k=rsa; p=${spki(good.publicKey)}`)}`,
    `big._domainkey TXT ${txt(`v=DKIM1; k=rsa; p=${spki(hugeKey)}`)}`,
    '_dmarc TXT "v=DMARC1; p=reject"',
  ],
  'fail.test': ['@ TXT "v=spf1 ip4:192.0.2.1 -all"', '_dmarc TXT "v=DMARC1; p=reject"'],
  'soft.test': ['@ TXT "v=spf1 ip4:192.0.2.1 ~all"', '_dmarc TXT "v=DMARC1; p=quarantine"'],
  'neutral.test': [
    '@ TXT "v=spf1 ?all"',
    // The published key is not the one the mail was signed with.
    `sel._domainkey TXT ${txt(`v=DKIM1; k=rsa; p=${spki(other.publicKey)}`)}`,
    '_dmarc TXT "v=DMARC1; p=none"',
  ],
  'loop.test': ['@ TXT "v=spf1 include:loop.test -all"'],
  'huge.test': [`@ TXT ${txt(`v=spf1 ${Array.from({ length: 1200 }, (_, i) => `ip4:10.${(i >> 8) & 255}.${i & 255}.1`).join(' ')} -all`)}`],
};

const mail = (from: string, extra: string[] = []): Buffer =>
  Buffer.from([...extra, `From: Sender <${from}>`, 'To: staff@city.example.lg.jp', 'Subject: test', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Message-ID: <t@x>', '', 'hello', ''].join('\r\n'));

async function signed(raw: Buffer, domain: string, selector: string, key: KeyObject): Promise<Buffer> {
  // mailauth 4 signs with `signatureData` (its .d.ts describes a flat form that signs nothing).
  const options = { signatureData: [{ signingDomain: domain, selector, privateKey: key.export({ type: 'pkcs8', format: 'pem' }) as string }] };
  const r = await dkimSign(raw, options as unknown as Parameters<typeof dkimSign>[1]);
  if (!r.signatures) throw new Error(`dkimSign made no signature: ${JSON.stringify(r.errors)}`);
  return Buffer.concat([Buffer.from(r.signatures), raw]);
}

const dnsOptions = (servers: string[]): DnsOptions => ({ servers, timeoutMs: 1000, tries: 2, cacheEntries: 100, cacheSeconds: 60, maxAnswerBytes: 16_384 });

let nsd: Nsd;
let auth: SenderAuthenticator;
const check = (raw: Buffer, mailFrom: string | null, clientIp: string | null = '127.0.0.1', helo: string | null = 'mx.pass.test') => auth.authenticate({ raw, mailFrom, clientIp, helo });

beforeAll(async () => {
  nsd = await startNsd(zones);
  auth = createAuthenticator({ resolver: createResolver(dnsOptions([nsd.server])), authservId: 'mugaika.test', budgetMs: 5000, maxKeyBits: 8192 });
}, 30_000);
afterAll(async () => {
  await nsd?.stop();
});

describe('SPF, DKIM and DMARC from a real DNS server', () => {
  it('a signed mail from an SPF-authorised address passes all three, DMARC naming the reject policy', async () => {
    const f = await check(await signed(mail('a@pass.test'), 'pass.test', 'sel', good.privateKey), 'a@pass.test');
    expect(f.spf).toMatchObject({ result: 'pass', domain: 'pass.test', identity: 'mailfrom' });
    expect(f.dkim).toEqual([expect.objectContaining({ result: 'pass', domain: 'pass.test', selector: 'sel' })]);
    expect(f.dmarc).toMatchObject({ result: 'pass', domain: 'pass.test', policy: 'reject' });
    expect(f.arc).toBeNull();
    expect(f.authservId).toBe('mugaika.test');
  });

  it('SPF fail, softfail and neutral; DMARC fails with the reject, quarantine and none policies', async () => {
    const fail = await check(mail('a@fail.test'), 'a@fail.test');
    expect(fail.spf).toMatchObject({ result: 'fail', domain: 'fail.test' });
    expect(fail.dkim).toEqual([]);
    expect(fail.dmarc).toMatchObject({ result: 'fail', domain: 'fail.test', policy: 'reject' });
    const soft = await check(mail('a@soft.test'), 'a@soft.test');
    expect(soft.spf?.result).toBe('softfail');
    expect(soft.dmarc).toMatchObject({ result: 'fail', policy: 'quarantine' });
    const neutral = await check(mail('a@neutral.test'), 'a@neutral.test');
    expect(neutral.spf?.result).toBe('neutral');
    expect(neutral.dmarc).toMatchObject({ result: 'fail', policy: 'none' });
  });

  it('DKIM with the wrong key fails, with a missing key does not pass; DMARC then fails', async () => {
    const bad = await check(await signed(mail('a@neutral.test'), 'neutral.test', 'sel', good.privateKey), 'a@neutral.test');
    expect(bad.dkim).toEqual([expect.objectContaining({ result: 'fail', domain: 'neutral.test', selector: 'sel' })]);
    const missing = await check(await signed(mail('a@fail.test'), 'fail.test', 'nokey', good.privateKey), 'a@fail.test');
    expect(missing.dkim).toHaveLength(1);
    expect(missing.dkim[0]).toMatchObject({ domain: 'fail.test', selector: 'nokey' });
    expect(['neutral', 'permerror', 'fail']).toContain(missing.dkim[0]!.result);
    expect(missing.dkim[0]!.detail).not.toBe('');
    expect(missing.dmarc.result).toBe('fail');
  });

  it('the null sender: SPF checks the HELO name; without a client address SPF is not evaluated', async () => {
    const helo = await check(mail('a@pass.test'), null);
    expect(helo.spf).toMatchObject({ result: 'pass', domain: 'mx.pass.test', identity: 'helo' });
    const noIp = await check(await signed(mail('a@pass.test'), 'pass.test', 'sel', good.privateKey), 'a@pass.test', null, null);
    expect(noIp.spf).toBeNull();
    expect(noIp.dmarc.result).toBe('pass');
  });
});

describe('bad input: a result with its reason, never a throw or a wait past the budget', () => {
  it('a malformed DKIM-Signature header', async () => {
    const raw = mail('a@pass.test', ['DKIM-Signature: v=1; a=rsa-sha999; d=; s=;;;; bh=@@@; b=%%%; h=', 'DKIM-Signature: garbage without tags']);
    const f = await check(raw, 'a@pass.test');
    expect(f.dkim.length).toBeGreaterThan(0);
    for (const d of f.dkim) expect(['neutral', 'permerror', 'fail', 'temperror', 'policy']).toContain(d.result);
    expect(f.spf?.result).toBe('pass');
  });

  it('a 16 kbit DKIM key is refused as permerror', async () => {
    // No client address: SPF cannot make DMARC pass, so DMARC shows the refused key did not count.
    const f = await check(await signed(mail('a@pass.test'), 'pass.test', 'big', good.privateKey), 'a@pass.test', null, null);
    expect(f.dkim).toHaveLength(1);
    expect(f.dkim[0]).toMatchObject({ result: 'permerror', domain: 'pass.test', selector: 'big' });
    expect(f.dkim[0]!.detail).toMatch(/16384 bits/);
    expect(f.dmarc.result).toBe('fail');
  });

  it('an SPF include loop is a permerror; a TXT record over the size limit a temperror', async () => {
    const loop = await check(mail('a@loop.test'), 'a@loop.test');
    expect(loop.spf?.result).toBe('permerror');
    const huge = await check(mail('a@huge.test'), 'a@huge.test');
    expect(huge.spf?.result).toBe('temperror');
    expect(huge.spf?.detail).toMatch(/over 16384 bytes|error/);
  });

  it('a DNS server that never answers: temperrors within the budget', async () => {
    const silent = await startSilentDns();
    try {
      const slow = createAuthenticator({
        resolver: createResolver({ ...dnsOptions([silent.server]), timeoutMs: 2000, tries: 3 }),
        authservId: 'mugaika.test',
        budgetMs: 800,
        maxKeyBits: 8192,
      });
      const started = Date.now();
      const f = await slow.authenticate({ raw: await signed(mail('a@pass.test'), 'pass.test', 'sel', good.privateKey), mailFrom: 'a@pass.test', clientIp: '127.0.0.1', helo: 'mx.pass.test' });
      const took = Date.now() - started;
      expect(took).toBeLessThan(800 + 250 + 300);
      expect(f.spf?.result).toBe('temperror');
      expect(f.dkim.map((d) => d.result)).toEqual(['temperror']);
      expect(['temperror', 'fail', 'none']).toContain(f.dmarc.result);
    } finally {
      await silent.stop();
    }
  });

  it('answers come from the cache once asked: the same mail passes with the server gone, and the cache is bounded', async () => {
    const own = await startNsd({ 'pass.test': zones['pass.test'] });
    const resolver = createResolver({ ...dnsOptions([own.server]), cacheEntries: 5 });
    const a = createAuthenticator({ resolver, authservId: 'mugaika.test', budgetMs: 2000, maxKeyBits: 8192 });
    const raw = await signed(mail('a@pass.test'), 'pass.test', 'sel', good.privateKey);
    const input = { raw, mailFrom: 'a@pass.test', clientIp: '127.0.0.1', helo: 'mx.pass.test' };
    const first = await a.authenticate(input);
    expect(first.dmarc.result).toBe('pass');
    expect(resolver.cached).toBeGreaterThan(0);
    expect(resolver.cached).toBeLessThanOrEqual(5);
    await own.stop();
    expect(await a.authenticate(input)).toEqual(first);
  });
});
