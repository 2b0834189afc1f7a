// Our Authentication-Results header: written from the relay's facts, the only
// one on the delivered message (the original's and its ARC set never cross),
// on the normal and the blocked path, and safe whatever the facts hold.
import { describe, expect, it } from 'vitest';
import { arComment, authenticationResults } from '../../src/core/authentication-results.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { blockMessage, sanitize } from '../../src/core/sanitize.js';
import { finding } from '../../src/core/findings.js';
import type { AuthenticationFacts } from '../../src/model/sender-trust.js';
import { harness, plain } from '../helpers/run.js';

const facts: AuthenticationFacts = {
  spf: { result: 'pass', domain: 'good.test', identity: 'mailfrom', detail: 'domain of a@good.test designates 192.0.2.1 as permitted sender' },
  dkim: [{ result: 'pass', domain: 'good.test', selector: 'sel', detail: 'pass' }],
  dmarc: { result: 'pass', domain: 'good.test', policy: 'reject', detail: 'p=REJECT arc=none' },
  arc: null,
  authservId: 'mugaika.city.example.lg.jp',
};

/** The header block of a message, unfolded, as [name, value] in order. */
const headersOf = (raw: Buffer): Array<[string, string]> => {
  const head = raw
    .toString('latin1')
    .split('\r\n\r\n')[0]!
    .replace(/\r\n[ \t]+/g, ' ');
  return head.split('\r\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
};

const forged = plain('hello', [
  'Authentication-Results: evil.example; dkim=pass header.d=city.example.lg.jp; spf=pass',
  'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=evil.example; s=x; b=AAAA',
  'ARC-Authentication-Results: i=1; evil.example; dmarc=pass',
  'ARC-Message-Signature: i=1; a=rsa-sha256; d=evil.example; s=x; h=from; bh=AAAA; b=AAAA',
]);

describe('Authentication-Results', () => {
  it('writes one clause per method, SPF by the identity it checked, and leaves out SPF that was not evaluated', () => {
    expect(authenticationResults(facts)).toBe(
      [
        'mugaika.city.example.lg.jp;',
        'spf=pass (domain of a@good.test designates 192.0.2.1 as permitted sender) smtp.mailfrom=good.test;',
        'dkim=pass (pass) header.d=good.test header.s=sel;',
        'dmarc=pass (p=reject) header.from=good.test',
      ].join('\r\n '),
    );
    const helo = authenticationResults({ ...facts, spf: { result: 'fail', domain: 'mx.good.test', identity: 'helo', detail: 'x' }, dkim: [], arc: { result: 'fail', detail: 'bad seal' } });
    expect(helo).toContain('spf=fail (x) smtp.helo=mx.good.test;');
    expect(helo).toContain('dkim=none (message not signed);');
    expect(helo).toMatch(/arc=fail \(bad seal\)$/);
    expect(authenticationResults({ ...facts, spf: null })).not.toContain('spf=');
  });

  it('keeps hostile values out: no line breaks, parentheses or non-domains from DNS or the sender', () => {
    const v = authenticationResults({
      spf: { result: 'fail', domain: 'evil.test; dkim=pass', identity: 'mailfrom', detail: 'x)\r\nX-Injected: 1 (\\' },
      dkim: [{ result: 'permerror', domain: 'a b.test', selector: 's;x', detail: '\u202e\u200bkey\u0000' }],
      dmarc: { result: 'none', domain: null, policy: null, detail: 'y'.repeat(500) },
      arc: null,
      authservId: 'bad id;',
    });
    expect(v.split('\r\n ').every((l) => /^[\x20-\x7e]*$/.test(l) && l.length < 200)).toBe(true);
    expect(v).not.toContain('X-Injected:\r\n');
    expect(v).not.toMatch(/smtp\.mailfrom|header\.d=|header\.s=/);
    expect(v.startsWith('localhost;')).toBe(true);
    expect(arComment('a(b)c\\d')).toBe('abcd');
  });

  it('is the only Authentication-Results on the delivered message; the original ARC set is gone', async () => {
    const h = await harness();
    const out = await sanitize({ raw: forged, sender: { authentication: facts, firstContactFor: null } }, defaultPolicy, h.deps);
    const hs = headersOf(out.message!);
    const ar = hs.filter(([n]) => n === 'authentication-results');
    expect(ar).toHaveLength(1);
    expect(ar[0]![1]).toBe(authenticationResults(facts).replace(/\r\n /g, ' '));
    expect(hs.some(([n]) => n.startsWith('arc-'))).toBe(false);
    expect(out.message!.toString('latin1')).not.toContain('evil.example');
    // Without facts (nothing was checked), none at all.
    const none = await sanitize({ raw: forged }, defaultPolicy, h.deps);
    expect(headersOf(none.message!).filter(([n]) => n === 'authentication-results' || n.startsWith('arc-'))).toEqual([]);
  });

  it('is on a blocked message too', async () => {
    const h = await harness();
    const out = await blockMessage({ raw: forged, sender: { authentication: facts, firstContactFor: null } }, defaultPolicy, h.deps, new Date(), finding('timeout'));
    expect(out.verdict).toBe('blocked');
    const ar = headersOf(out.message!).filter(([n]) => n === 'authentication-results');
    expect(ar.map(([, v]) => v)).toEqual([authenticationResults(facts).replace(/\r\n /g, ' ')]);
  });
});
