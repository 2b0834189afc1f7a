// The sender assessment on real header fields (parsed from real MIME) and
// facts as the relay hands them over: which combinations give which level.
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/core/parse.js';
import { policySchema, type Policy } from '../../src/core/policy.js';
import { assessSender, type SenderInput } from '../../src/core/sender-assessment.js';
import type { SenderFacts } from '../../src/model/sender-trust.js';
import { auth, facts, SENDERS } from '../helpers/sender-facts.js';

const policy: Policy = policySchema.parse({ senders: SENDERS });

async function input(headers: string[], sender: SenderFacts | undefined, envelope?: { mailFrom: string | null; rcptTo: string[] }): Promise<SenderInput> {
  const raw = Buffer.from([...headers, 'Subject: t', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'body', ''].join('\r\n'), 'utf8');
  const parsed = await parseMessage(raw);
  return { facts: sender, from: parsed.from, replyTo: parsed.replyTo, mailFrom: envelope?.mailFrom, rcptTo: envelope?.rcptTo };
}

const FROM = 'From: 田中 <tanaka@example.jp>';

describe('the sender assessment', () => {
  it('DMARC pass: verified, and DMARC says it all', async () => {
    expect(assessSender(await input([FROM], facts(auth())), policy)).toEqual({ level: 'verified', reasons: [{ kind: 'dmarc', result: 'pass', policy: 'reject' }] });
  });

  it('no DMARC record: an aligned DKIM or SPF pass verifies; one for another domain does not', async () => {
    const none = { result: 'none' as const, domain: 'example.jp', policy: null, detail: 'no record' };
    const dkimOnly = auth({ dmarc: none, spf: { result: 'softfail', domain: 'example.jp', detail: '' } });
    expect(assessSender(await input([FROM], facts(dkimOnly)), policy)?.level).toBe('verified');
    const subdomain = auth({ dmarc: none, dkim: [{ result: 'pass', domain: 'mail.example.jp', selector: 's', detail: '' }], spf: null });
    expect(assessSender(await input([FROM], facts(subdomain)), policy)?.level).toBe('verified');
    const other = auth({ dmarc: none, dkim: [{ result: 'pass', domain: 'esp.example', selector: 's', detail: '' }], spf: { result: 'pass', domain: 'bounce.esp.example', detail: '' } });
    const a = assessSender(await input([FROM], facts(other), { mailFrom: 'b@bounce.esp.example', rcptTo: ['x@city.yamada.lg.jp'] }), policy);
    expect(a).toEqual({
      level: 'unverified',
      reasons: [
        { kind: 'dmarc', result: 'none', policy: null },
        { kind: 'spf', result: 'pass', otherDomain: 'bounce.esp.example' },
        { kind: 'dkim', result: 'pass', otherDomain: 'esp.example' },
        { kind: 'return-path-domain', domain: 'bounce.esp.example' },
      ],
    });
  });

  it('DMARC fail is suspicious; so is SPF fail without an aligned signature; errors are only unverified', async () => {
    const fail = auth({ dmarc: { result: 'fail', domain: 'example.jp', policy: 'reject', detail: '' }, dkim: [], spf: { result: 'fail', domain: 'example.jp', detail: '' } });
    expect(assessSender(await input([FROM], facts(fail)), policy)).toEqual({
      level: 'suspicious',
      reasons: [
        { kind: 'dmarc', result: 'fail', policy: 'reject' },
        { kind: 'spf', result: 'fail' },
        { kind: 'dkim', result: 'none' },
      ],
    });
    const spfFail = auth({ dmarc: { result: 'none', domain: 'example.jp', policy: null, detail: '' }, dkim: [], spf: { result: 'fail', domain: 'example.jp', detail: '' } });
    expect(assessSender(await input([FROM], facts(spfFail)), policy)?.level).toBe('suspicious');
    const errors = auth({
      dmarc: { result: 'temperror', domain: 'example.jp', policy: null, detail: 'DNS timeout' },
      dkim: [{ result: 'permerror', domain: null, selector: null, detail: 'malformed' }],
      spf: { result: 'temperror', domain: 'example.jp', detail: 'DNS timeout' },
    });
    expect(assessSender(await input([FROM], facts(errors)), policy)?.level).toBe('unverified');
  });

  it('a look-alike of our own or a partner domain is suspicious even with DMARC pass', async () => {
    const a = assessSender(await input(['From: 山田信用金庫 <info@yamada-shinkin.com>'], facts(auth({ dmarc: { result: 'pass', domain: 'yamada-shinkin.com', policy: 'none', detail: '' } }))), policy);
    expect(a?.level).toBe('suspicious');
    expect(a?.reasons).toContainEqual({ kind: 'look-alike', domain: 'yamada-shinkin.com', resembles: 'yamada-shinkin.co.jp' });
    expect(a?.reasons).toContainEqual({ kind: 'display-name', names: '山田信用金庫' });
  });

  it('an IDN homograph From, written in UTF-8, is a look-alike under its punycode name', async () => {
    const a = assessSender(await input(['From: 総務課 <soumu@сity.yamada.lg.jp>'], undefined), policy);
    expect(a?.level).toBe('suspicious');
    expect(a?.reasons[0]).toMatchObject({ kind: 'look-alike', resembles: 'city.yamada.lg.jp' });
    expect((a?.reasons[0] as { domain: string }).domain).toMatch(/^xn--/);
  });

  it('our own domain from the internet, unverified, is suspicious; verified it is not', async () => {
    const own = ['From: 総務課 <soumu@city.yamada.lg.jp>'];
    expect(assessSender(await input(own, facts(null)), policy)?.reasons).toContainEqual({ kind: 'own-domain-unverified', domain: 'city.yamada.lg.jp' });
    const ok = auth({ dmarc: { result: 'pass', domain: 'city.yamada.lg.jp', policy: 'reject', detail: '' } });
    expect(assessSender(await input(own, facts(ok)), policy)?.level).toBe('verified');
  });

  it('display names: an address or domain not the sender’s, or a known organisation, read as the clerk sees them', async () => {
    const cases: [string, string | null][] = [
      ['From: "ceo@city.yamada.lg.jp" <x@free.example>', 'ceo@city.yamada.lg.jp'],
      ['From: =?UTF-8?B?' + Buffer.from('\u202e山田\u200b市役所\u2066 総務課').toString('base64') + '?= <x@free.example>', '山田市役所'],
      ['From: =?UTF-8?B?' + Buffer.from('ｃｅｏ＠ｃｉｔｙ．ｙａｍａｄａ．ｌｇ．ｊｐ').toString('base64') + '?= <x@free.example>', 'ceo@city.yamada.lg.jp'],
      ['From: "Amazon.co.jp" <x@free.example>', 'amazon.co.jp'],
      ['From: "J.Smith, Ver.2" <j@example.jp>', null],
      [`From: "${'x'.repeat(3000)}ceo@city.yamada.lg.jp" <x@free.example>`, 'city.yamada.lg.jp'],
      [`From: "${'a'.repeat(300)}.com" <x@free.example>`, `…${'a'.repeat(96)}.com`],
      ['From: "tanaka@example.jp" <tanaka@example.jp>', null],
      ['From: "山田市役所 総務課" <soumu@city.yamada.lg.jp>', null],
    ];
    for (const [from, names] of cases) {
      const a = assessSender(await input([from], facts(auth({ dmarc: { result: 'pass', domain: 'x', policy: null, detail: '' } }))), policy);
      expect(
        a?.reasons.find((r) => r.kind === 'display-name'),
        from,
      ).toEqual(names === null ? undefined : { kind: 'display-name', names });
    }
  });

  it('a 10 KB display name of invisible characters hides nothing, and takes little time', async () => {
    const padding = '\u200b\u202e\u2066\u200d\ufeff'.repeat(2000);
    const header = `From: =?UTF-8?B?${Buffer.from(`${padding}ceo@city.yamada.lg.jp`).toString('base64')}?= <x@free.example>`;
    const i = await input([header], facts(null));
    const t = performance.now();
    const a = assessSender(i, policy);
    expect(performance.now() - t).toBeLessThan(500);
    expect(a?.reasons).toContainEqual({ kind: 'display-name', names: 'ceo@city.yamada.lg.jp' });
    const text = await input([`From: =?UTF-8?B?${Buffer.from('あ'.repeat(10_000)).toString('base64')}?= <x@free.example>`], facts(null));
    expect(assessSender(text, policy)?.level).toBe('unverified');
  });

  it('Reply-To on another domain and first contact are reasons, never a level', async () => {
    const a = assessSender(
      await input([FROM, 'Reply-To: a@other.example, b@other.example, c@mail.example.jp'], facts(auth(), ['x@city.yamada.lg.jp']), {
        mailFrom: 'tanaka@example.jp',
        rcptTo: ['x@city.yamada.lg.jp', 'y@city.yamada.lg.jp'],
      }),
      policy,
    );
    expect(a).toEqual({
      level: 'verified',
      reasons: [
        { kind: 'dmarc', result: 'pass', policy: 'reject' },
        { kind: 'reply-to-domain', domain: 'other.example' },
        { kind: 'first-contact', days: 90, some: true },
      ],
    });
    const off = policySchema.parse({ senders: { firstContactDays: 0 } });
    expect(assessSender(await input([FROM], facts(auth(), ['x@city.yamada.lg.jp'])), off)?.reasons).toEqual([{ kind: 'dmarc', result: 'pass', policy: 'reject' }]);
  });

  it('nothing checked and nothing suspicious: no line; checked without authentication: said so', async () => {
    expect(assessSender(await input([FROM], undefined), policy)).toBeNull();
    expect(assessSender(await input([FROM], facts(null, null)), policy)).toBeNull();
    expect(assessSender(await input([FROM], facts(null, [])), policy)).toEqual({ level: 'unverified', reasons: [{ kind: 'authentication-not-checked' }] });
    // No From at all: unverified, nothing domain-based.
    expect(assessSender(await input(['To: a@b.example'], facts(null, [])), policy)).toEqual({ level: 'unverified', reasons: [{ kind: 'authentication-not-checked' }] });
  });

  it('a hostile DKIM d= never reaches the notice', async () => {
    const a = assessSender(
      await input(
        [FROM],
        facts(auth({ dmarc: { result: 'none', domain: 'example.jp', policy: null, detail: '' }, spf: null, dkim: [{ result: 'pass', domain: 'evil\n.example <script>', selector: 's', detail: '' }] })),
      ),
      policy,
    );
    expect(a?.reasons).toContainEqual({ kind: 'dkim', result: 'pass' });
    expect(a?.reasons).toContainEqual({ kind: 'spf-not-evaluated' });
  });
});
