// The notice's first line about the sender, through sanitize() on real mails
// with the facts the relay hands over: verified, unverified, suspicious (with
// the subject tag, once, also on replies), nothing when nothing was checked,
// hostile display names, in Japanese and English, and on a blocked message.
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { NOTICE_RULE } from '../../src/core/notice.js';
import { policySchema, type Policy, type PolicyInput } from '../../src/core/policy.js';
import { sanitize } from '../../src/core/sanitize.js';
import type { Envelope } from '../../src/model/envelope.js';
import type { SenderFacts } from '../../src/model/sender-trust.js';
import { violations } from '../helpers/conformance.js';
import { eml, harness, plain, type Harness } from '../helpers/run.js';
import { auth, facts, SENDERS } from '../helpers/sender-facts.js';

const policy = (over: PolicyInput = {}): Policy => policySchema.parse({ senders: SENDERS, ...over });

let shared: Promise<Harness> | undefined;
async function deliver(raw: Buffer, sender: SenderFacts | undefined, p: Policy = policy(), envelope?: Envelope): Promise<{ lines: string[]; subject: string }> {
  const h = await (shared ??= harness());
  const result = await sanitize({ raw, ...(envelope ? { envelope } : {}), ...(sender ? { sender } : {}) }, p, h.deps);
  expect(result.action).toBe('deliver');
  expect(await violations(result.message!)).toEqual([]);
  const mail = await simpleParser(result.message!);
  const text = mail.text!;
  return { lines: text.slice(0, text.indexOf(NOTICE_RULE)).replace(/\n$/, '').split('\n'), subject: mail.subject ?? '' };
}

// Header fields in UTF-8 (RFC 6532), as many mailers send them now.
const from = (header: string, subject = 'Subject: 会議の件'): Buffer =>
  Buffer.from(
    [
      header,
      'To: staff@city.yamada.lg.jp',
      subject,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      '田中様',
      '',
      '承知しました。',
      '',
    ].join('\r\n'),
    'utf8',
  );
const name64 = (name: string, address: string): string => `From: =?UTF-8?B?${Buffer.from(name).toString('base64')}?= <${address}>`;
const CLEAN = '【無害化通知】インターネットから届いたメールです。変更した箇所はありません。';

describe('the sender line', () => {
  it('verified: one short line before the rest of the notice', async () => {
    const o = await deliver(from('From: 田中 <tanaka@example.jp>'), facts(auth()));
    expect(o.lines).toEqual(['送信元を確認できました。ドメイン認証（DMARC）に合格しました。', CLEAN]);
    expect(o.subject).toBe('[無害化] 会議の件');
  });

  it('unverified: says what was and was not found, and first contact', async () => {
    const none = auth({ dmarc: { result: 'none', domain: 'example.jp', policy: null, detail: '' }, dkim: [], spf: { result: 'softfail', domain: 'example.jp', detail: '' } });
    const o = await deliver(from('From: tanaka@example.jp'), facts(none, ['staff@city.yamada.lg.jp']), policy(), {
      mailFrom: 'tanaka@example.jp',
      rcptTo: ['staff@city.yamada.lg.jp'],
    });
    expect(o.lines[0]).toBe(
      '送信元を確認できません。差出人のドメインは、ドメイン認証（DMARC）を設定していません。送信サーバーの確認（SPF）に合格していません。電子署名（DKIM）はありません。過去90日間に、この差出人からのメールはありません。',
    );
    expect(o.lines[1]).toBe(CLEAN);
  });

  it('DMARC fail: suspicious, what to do, and the subject tag once, also on a reply to a tagged mail', async () => {
    const fail = facts(
      auth({
        dmarc: { result: 'fail', domain: 'example.jp', policy: 'reject', detail: '' },
        dkim: [{ result: 'fail', domain: 'example.jp', selector: 's1', detail: 'body hash' }],
        spf: { result: 'fail', domain: 'example.jp', detail: '' },
      }),
    );
    const o = await deliver(from('From: tanaka@example.jp'), fail);
    expect(o.lines[0]).toBe(
      '【注意】なりすましの疑いがあります。ドメイン認証（DMARC）に不合格でした。差出人のドメインは、不合格のメールを受け取らないよう求めています。送信サーバーの確認（SPF）に不合格でした。電子署名（DKIM）が正しくありません。本文の指示に従わず、情報政策担当へご相談ください。',
    );
    expect(o.subject).toBe('[なりすまし注意] [無害化] 会議の件');
    const reply = await deliver(from('From: tanaka@example.jp', 'Subject: Re: [なりすまし注意] [無害化] 会議の件'), fail);
    expect(reply.subject).toBe('[なりすまし注意] [無害化] Re: 会議の件');
    // The reply of a sender no longer suspicious loses the warning and keeps our tag once.
    const verified = await deliver(from('From: tanaka@example.jp', 'Subject: Re: [なりすまし注意] [無害化] 会議の件'), facts(auth()));
    expect(verified.subject).toBe('[無害化] Re: 会議の件');
    const untagged = await deliver(from('From: tanaka@example.jp'), fail, policy({ senders: { ...SENDERS, subjectTag: '' } }));
    expect(untagged.subject).toBe('[無害化] 会議の件');
  });

  it('nothing checked: no line, unless the header fields alone are suspicious', async () => {
    expect((await deliver(plain('本文\n'), undefined)).lines).toEqual([CLEAN]);
    const o = await deliver(from(name64('山田信用金庫 融資課', 'yuushi@yamada-shinkin.com')), undefined);
    expect(o.lines[0]).toBe(
      '【注意】なりすましの疑いがあります。差出人のドメイン（yamada-shinkin.com）は、yamada-shinkin.co.jp に似た別のドメインです。表示名が、差出人と別のアドレスや組織（山田信用金庫）を名乗っています。本文の指示に従わず、情報政策担当へご相談ください。',
    );
    expect(o.subject).toBe('[なりすまし注意] [無害化] 会議の件');
  });

  it('hostile display names: RTL overrides and zero-width characters do not hide an address; a 10 KB name is read in bounded time', async () => {
    const rtl = await deliver(
      from(name64('\u202e\u200bceo\u200d@city.yamada.lg.jp\u2066', 'boss@free-mail.example')),
      facts(auth({ dmarc: { result: 'pass', domain: 'free-mail.example', policy: 'none', detail: '' } })),
    );
    expect(rtl.lines[0]).toContain('なりすましの疑いがあります。');
    expect(rtl.lines[0]).toContain('表示名が、差出人と別のアドレスや組織（ceo@city.yamada.lg.jp）を名乗っています。');
    // Nothing of the bidi controls reaches the notice line.
    expect(rtl.lines[0]).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200b-\u200d]/);
    const huge = `${'\u200b\u202e'.repeat(2500)}${'山田'.repeat(2500)}山田市役所`;
    const t = performance.now();
    const big = await deliver(from(name64(huge, 'x@free-mail.example')), facts(null));
    expect(performance.now() - t).toBeLessThan(10_000);
    expect(big.lines[0]).toContain('表示名が、差出人と別のアドレスや組織（山田市役所）を名乗っています。');
  });

  it('an IDN homograph of our own domain shows its punycode name', async () => {
    const o = await deliver(from('From: 総務課 <soumu@сity.yamada.lg.jp>'), facts(null));
    expect(o.lines[0]).toMatch(/^【注意】なりすましの疑いがあります。差出人のドメイン（xn--[a-z0-9-]+\.yamada\.lg\.jp）は、city\.yamada\.lg\.jp に似た別のドメインです。/);
  });

  it('a Reply-To on another domain: a reason in the line, and the item in the list as before', async () => {
    const o = await deliver(from('From: tanaka@example.jp', 'Subject: 会議の件\r\nReply-To: tanaka@other.example'), facts(auth()));
    expect(o.lines[0]).toBe('送信元を確認できました。ドメイン認証（DMARC）に合格しました。返信先（Reply-To）が別のドメイン（other.example）です。');
    expect(o.lines.join('\n')).toContain('返信先（Reply-To）に差出人と別のドメインのアドレス（tanaka@other.example）');
  });

  it('in English with language: en', async () => {
    const o = await deliver(from('From: tanaka@example.jp'), facts(null, ['staff@city.yamada.lg.jp']), policy({ language: 'en' }), {
      mailFrom: 'tanaka@example.jp',
      rcptTo: ['staff@city.yamada.lg.jp', 'boss@city.yamada.lg.jp'],
    });
    expect(o.lines[0]).toBe('The sender could not be confirmed. Sender authentication (SPF, DKIM, DMARC) was not done. Some recipients got no mail from this sender in the past 90 days.');
  });

  it('a blocked message keeps the sender line and the tag', async () => {
    const raw = eml(['From: tanaka@example.jp', 'To: staff@city.yamada.lg.jp', 'Subject: x', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="never"'], 'no parts here\r\n');
    const fail = facts(auth({ dmarc: { result: 'fail', domain: 'example.jp', policy: 'quarantine', detail: '' } }));
    const o = await deliver(raw, fail);
    expect(o.lines[0]).toMatch(/^【注意】なりすましの疑いがあります。ドメイン認証（DMARC）に不合格でした。/);
    expect(o.lines[1]).toMatch(/^【無害化通知】インターネットから届いたメールです。メールの形式を読み取れないため/);
    expect(o.subject).toBe('[なりすまし注意] [無害化] x');
  });
});
