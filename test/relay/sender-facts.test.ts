// Sender facts are found once per message and kept beside its incoming file:
// a message sanitized again (after a restart) gets the kept facts, not a
// second check with answers that may have changed; they leave with the entry,
// and a gateway start clears facts whose entry is gone.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SenderFacts } from '../../src/model/sender-trust.js';
import { clientIpOf, senderFactsFor } from '../../src/relay/sender-facts.js';
import { createAuthenticator } from '../../src/sender/authenticate.js';
import { createResolver } from '../../src/sender/resolver.js';
import { openSpool } from '../../src/spool/spool.js';
import type { QueueId } from '../../src/spool/types.js';
import { startNsd, type Nsd } from '../helpers/nsd.js';
import { tempDir } from '../helpers/run.js';

const log = pino({ level: 'silent' });
const raw = Buffer.from('From: a@partner.test\r\nTo: s@city.example.lg.jp\r\nSubject: x\r\n\r\nhi\r\n');
const envelope = { mailFrom: 'a@partner.test', rcptTo: ['s@city.example.lg.jp'], clientAddress: '::ffff:127.0.0.1', heloName: 'mx.partner.test', receivedAt: new Date().toISOString() };

let nsd: Nsd;
beforeAll(async () => {
  nsd = await startNsd({ 'partner.test': ['@ TXT "v=spf1 ip4:127.0.0.1 -all"', '_dmarc TXT "v=DMARC1; p=none"'] });
}, 30_000);
afterAll(async () => {
  await nsd?.stop();
});

const authenticator = (server: string) =>
  createAuthenticator({
    resolver: createResolver({ servers: [server], timeoutMs: 500, tries: 1, cacheEntries: 10, cacheSeconds: 60, maxAnswerBytes: 16_384 }),
    authservId: 'mugaika.test',
    budgetMs: 1000,
    maxKeyBits: 8192,
  });

describe('sender facts in the spool', () => {
  it('are found at the first sanitizing, kept, reused after a restart, and removed with the entry', async () => {
    const dataDir = tempDir();
    const spool = await openSpool(dataDir, { recover: true });
    const id = (await spool.accept(envelope, Readable.from([raw]), 1_000_000)) as QueueId;
    const first = await senderFactsFor({ spool, authenticator: authenticator(nsd.server) }, id, envelope, raw, log);
    expect(first?.authentication?.spf).toMatchObject({ result: 'pass', domain: 'partner.test' });
    expect(first?.firstContactFor).toBeNull();
    expect(await spool.readSenderFacts(id)).toEqual(first);
    await spool.close();

    // After a restart the DNS says otherwise (nothing answers): the kept facts stand.
    const again = await openSpool(dataDir, { recover: true });
    const gone = authenticator('127.0.0.1:9');
    expect(await senderFactsFor({ spool: again, authenticator: gone }, id, envelope, raw, log)).toEqual(first);
    await again.removeIncoming(id);
    expect(await again.readSenderFacts(id)).toBeNull();
    expect(readdirSync(path.join(dataDir, 'spool', 'incoming'))).toEqual([]);
    await again.close();
  });

  it('a start clears facts whose incoming entry is gone; no authenticator or a gateway-made mail: no facts', async () => {
    const dataDir = tempDir();
    const spool = await openSpool(dataDir, { recover: true });
    await spool.close();
    const orphan = path.join(dataDir, 'spool', 'incoming', 'ABCDEFGH12345.sender.json');
    writeFileSync(orphan, JSON.stringify({ authentication: null, firstContactFor: null } satisfies SenderFacts));
    const reopened = await openSpool(dataDir, { recover: true });
    expect(existsSync(orphan)).toBe(false);
    const id = (await reopened.accept(envelope, Readable.from([raw]), 1_000_000)) as QueueId;
    expect(await senderFactsFor({ spool: reopened, authenticator: null }, id, envelope, raw, log)).toBeUndefined();
    const unlocked = { ...envelope, unlockOf: { quarantineId: 'Q-20261126-AAAAAAAAAA', user: 'staff' } };
    expect(await senderFactsFor({ spool: reopened, authenticator: authenticator(nsd.server) }, id, unlocked, raw, log)).toBeUndefined();
    expect(await reopened.readSenderFacts(id)).toBeNull();
    await reopened.close();
  });

  it('the client address as SPF wants it', () => {
    expect(clientIpOf('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientIpOf('2001:db8::1')).toBe('2001:db8::1');
    expect(clientIpOf('console')).toBeNull();
  });
});
