// The header block that crosses is one we wrote: From, To, Cc, Subject, Date,
// a new Message-ID, MIME-Version, Content-* and our X-Mugaika-* fields, the
// thread (In-Reply-To, References: message ids checked one by one and written
// by us) and a Reply-To on the sender's own domain, and nothing else of the
// original. What we copy (names, subject) is decoded,
// checked and re-encoded, whatever raw bytes the sender put there.
import iconv from 'iconv-lite';
import type { Transform } from 'node:stream';
import { Splitter, type MimeNode as SplitterNode, type SplitterChunk } from '@zone-eu/mailsplit';
import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { eml, harness, policyWith, run, withAttachments, type Outcome } from '../helpers/run.js';

const DATE = 'Date: Thu, 26 Nov 2026 10:00:00 +0900';
const word = (s: string): string => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

/** Every header field name of every entity (the top level and each part). */
async function allFieldNames(raw: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const names: string[] = [];
    const splitter = new Splitter();
    splitter.on('data', (c: SplitterChunk) => {
      if (c.type === 'node') {
        const n = c as SplitterNode;
        if (n.headers) names.push(...n.headers.getList().map((h) => h.key));
      }
    });
    // The fork's typings declare only 'data' listeners; it is a Transform all the same.
    const s = splitter as unknown as Transform;
    s.on('error', reject);
    s.on('end', () => resolve(names));
    s.end(raw);
  });
}

/** The top-level header block of a delivered message, unfolded, as [name, value] pairs. */
const topFields = (raw: Buffer): Array<[string, string]> => {
  const text = raw.toString('latin1');
  const head = text.slice(0, text.indexOf('\r\n\r\n')).replace(/\r\n[ \t]/g, ' ');
  return head.split('\r\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
};

const ALLOWED_FIELD = /^(from|to|cc|subject|date|message-id|in-reply-to|references|reply-to|mime-version|content-[a-z-]+|x-mugaika-[a-z-]+)$/i;

async function expectConformant(o: Outcome): Promise<void> {
  expect(o.result.action).toBe('deliver');
  expect(await violations(o.raw!)).toEqual([]);
}

describe('raw 8-bit header fields (not RFC 2047 encoded)', () => {
  it('raw UTF-8 in Subject and the From name arrives whole', async () => {
    const raw = Buffer.from(
      [
        'From: 山田　太郎 <yamada@example.jp>',
        'To: 市民課 <shimin@city.example.lg.jp>',
        'Subject: 【重要】①会議のお知らせ（髙橋）',
        DATE,
        'Message-ID: <raw8@example.jp>',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        '本文です',
        '',
      ].join('\r\n'),
      'utf8',
    );
    const o = await run(raw);
    await expectConformant(o);
    expect(o.mail!.subject).toBe('[無害化] 【重要】①会議のお知らせ（髙橋）');
    expect(o.mail!.from!.value[0]).toEqual({ name: '山田　太郎', address: 'yamada@example.jp' });
    expect(o.mail!.to).toMatchObject({ value: [{ name: '市民課', address: 'shimin@city.example.lg.jp' }] });
    expect(o.mail!.text).toContain('本文です');
    expect(o.codes).toEqual([]);
  });

  it('raw Shift_JIS (CP932) in Subject and the From name decodes instead of turning into U+FFFD', async () => {
    const sjis = (s: string): Buffer => iconv.encode(s, 'cp932');
    const raw = Buffer.concat([
      Buffer.from('From: '),
      sjis('髙橋　一郎'),
      Buffer.from(' <takahashi@example.jp>\r\nTo: staff@city.example.lg.jp\r\nSubject: '),
      sjis('①会議のお知らせ㈱ソフト'), // ソ is 83 5C: a backslash as trail byte
      Buffer.from(`\r\n${DATE}\r\nMessage-ID: <rawsjis@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`),
      sjis('本文です'),
      Buffer.from('\r\n'),
    ]);
    const o = await run(raw);
    await expectConformant(o);
    expect(o.result.verdict).not.toBe('blocked');
    expect(o.mail!.subject).toBe('[無害化] ①会議のお知らせ㈱ソフト');
    expect(o.mail!.from!.value[0]).toEqual({ name: '髙橋　一郎', address: 'takahashi@example.jp' });
    expect(o.mail!.text).toContain('本文です');
    expect(o.mail!.text).not.toContain('\uFFFD');
  });

  it('raw EUC-JP in Subject decodes', async () => {
    const raw = Buffer.concat([
      Buffer.from('From: a@example.jp\r\nTo: b@example.jp\r\nSubject: '),
      iconv.encode('会議のお知らせ', 'euc-jp'),
      Buffer.from(`\r\n${DATE}\r\nMessage-ID: <raweuc@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=EUC-JP\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`),
      iconv.encode('本文です', 'euc-jp'),
      Buffer.from('\r\n'),
    ]);
    const o = await run(raw);
    await expectConformant(o);
    expect(o.mail!.subject).toBe('[無害化] 会議のお知らせ');
    expect(o.mail!.text).toContain('本文です');
  });
});

describe('the header block is rebuilt, not copied', () => {
  const noisy = (): Buffer =>
    withAttachments(
      '本文です。',
      [{ type: 'text/plain; charset=utf-8', filename: 'memo.txt', body: 'メモ', headers: ['X-Part-Secret: leak', 'Content-ID: <part@example.jp>'] }],
      [
        'Return-Path: <bounce@evil.example>',
        'Received: from mx.evil.example (mx.evil.example [192.0.2.1]) by mx.city.example.lg.jp',
        'DKIM-Signature: v=1; a=rsa-sha256; d=example.jp; s=sel; bh=abc=; b=def=',
        'Reply-To: phisher@evil.example',
        'Bcc: hidden@example.jp',
        'Sender: someone@evil.example',
        'X-Mailer: EvilMailer 1.0',
        'List-Unsubscribe: <http://evil.example/unsubscribe>',
        'Disposition-Notification-To: track@evil.example',
        'In-Reply-To: <prev@example.jp>',
        'References: <prev@example.jp>',
        'X-Mugaika-Verdict: clean',
        'X-Mugaika-Quarantine-Id: Q-FORGED',
        'Cc: kakari@city.example.lg.jp',
      ],
    );

  it('only From, To, Cc, Subject, Date, Message-ID, the thread (In-Reply-To, References, Reply-To), MIME-Version, Content-* and X-Mugaika-* exist, in every entity', async () => {
    const o = await run(noisy());
    await expectConformant(o);
    const names = await allFieldNames(o.raw!);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !ALLOWED_FIELD.test(n))).toEqual([]);
    const head = o.raw!.toString('latin1');
    // The Reply-To on another domain than the sender's (phisher@evil.example) does not cross as a header.
    for (const leaked of ['evil.example', 'hidden@', 'EvilMailer', 'Q-FORGED', 'leak', 'part@example.jp']) expect(head).not.toContain(leaked);
    // Exactly one of each field we write.
    const top = topFields(o.raw!).map(([k]) => k);
    for (const k of ['from', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to', 'references', 'mime-version', 'x-mugaika-verdict'])
      expect(
        top.filter((x) => x === k),
        k,
      ).toHaveLength(1);
    expect(top).not.toContain('reply-to');
    // The forged verdict did not survive: ours says what we did.
    expect(o.mail!.headers.get('x-mugaika-verdict')).toBe(o.result.verdict);
    expect(o.mail!.headers.get('x-mugaika-quarantine-id')).toBe(o.result.quarantineId);
    expect(o.mail!.cc).toMatchObject({ value: [{ address: 'kakari@city.example.lg.jp' }] });
  });

  it('a new Message-ID is made; the original is kept as X-Mugaika-Original-Message-Id', async () => {
    const o = await run(noisy());
    await expectConformant(o);
    expect(o.mail!.messageId).toMatch(/^<[^@<>]+@mugaika\.invalid>$/);
    expect(o.mail!.messageId).not.toBe('<test@example.jp>');
    expect(o.mail!.headers.get('x-mugaika-original-message-id')).toBe('<test@example.jp>');
    // Two runs of the same original get two different ids.
    const again = await run(noisy());
    expect(again.mail!.messageId).not.toBe(o.mail!.messageId);
  });

  it('the default subject tag [無害化] is put in front, once', async () => {
    const plainSubject = eml(['From: a@example.jp', 'To: b@example.jp', `Subject: ${word('ご案内')}`, DATE], 'x');
    expect((await run(plainSubject)).mail!.subject).toBe('[無害化] ご案内');
    const tagged = eml(['From: a@example.jp', 'To: b@example.jp', `Subject: ${word('[無害化] ご案内')}`, DATE], 'x');
    const o = await run(tagged);
    await expectConformant(o);
    expect(o.mail!.subject).toBe('[無害化] ご案内');
    const none = await run(eml(['From: a@example.jp', 'To: b@example.jp', DATE], 'x'));
    expect(none.mail!.subject).toBe('[無害化]');
  });

  it('the subject tag is configurable ([外部]) and is not doubled either', async () => {
    const policy = policyWith({ output: { subjectTag: '[外部]' } });
    const o = await run(eml(['From: a@example.jp', 'To: b@example.jp', `Subject: ${word('ご案内')}`, DATE], 'x'), policy);
    await expectConformant(o);
    expect(o.mail!.subject).toBe('[外部] ご案内');
    const tagged = await run(eml(['From: a@example.jp', 'To: b@example.jp', `Subject: ${word('[外部] ご案内')}`, DATE], 'x'), policy);
    expect(tagged.mail!.subject).toBe('[外部] ご案内');
    const untagged = await run(eml(['From: a@example.jp', 'To: b@example.jp', `Subject: ${word('ご案内')}`, DATE], 'x'), policyWith({ output: { subjectTag: '' } }));
    expect(untagged.mail!.subject).toBe('ご案内');
  });
});

describe('threads: In-Reply-To, References, Reply-To and the subject tag', () => {
  // A reply chain of three, as Gmail writes it: the citizen's inquiry, then
  // two replies to the clerk's answers. The clerk's answers leave from the
  // LGWAN side (not through mugaika); they refer to the ids we delivered.
  const gmail = (n: number, subject: string, thread: string[]): Buffer =>
    eml(
      [
        `From: ${word('山田 花子')} <hanako.yamada@example.com>`,
        'To: doboku@city.example.lg.jp',
        `Subject: ${word(subject)}`,
        `Date: Thu, ${3 + n} Dec 2026 09:1${n}:00 +0900`,
        `Message-ID: <CAJx${n}Yq=kq+AbC${n}@mail.gmail.com>`,
        ...thread,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset="UTF-8"',
        'Content-Transfer-Encoding: base64',
      ],
      `${Buffer.from(`土木課 御中\n\n${n}通目です。\n`).toString('base64')}\r\n`,
    );
  const field = (o: Outcome, name: string): string | undefined => topFields(o.raw!).find(([k]) => k === name)?.[1];

  it('a reply chain of three stays one thread, and the subject tag is never stacked', async () => {
    const first = await run(gmail(1, 'お問い合わせ（道路の穴について）', []));
    await expectConformant(first);
    expect(first.mail!.subject).toBe('[無害化] お問い合わせ（道路の穴について）');
    expect(field(first, 'in-reply-to')).toBeUndefined();
    expect(field(first, 'references')).toBeUndefined();
    const d1 = first.mail!.messageId!;

    // The clerk answers <answer1@city...> to what we delivered; the citizen replies to that.
    const second = await run(
      gmail(2, 'Re: [無害化] お問い合わせ（道路の穴について）', ['In-Reply-To: <answer1.0001@mail.city.example.lg.jp>', `References: ${d1}`, '  <answer1.0001@mail.city.example.lg.jp>']),
    );
    await expectConformant(second);
    expect(second.mail!.subject).toBe('[無害化] Re: お問い合わせ（道路の穴について）');
    expect(field(second, 'in-reply-to')).toBe('<answer1.0001@mail.city.example.lg.jp>');
    expect(field(second, 'references')).toBe(`${d1} <answer1.0001@mail.city.example.lg.jp>`);
    const d2 = second.mail!.messageId!;

    const third = await run(
      gmail(3, 'Re: [無害化] Re: お問い合わせ（道路の穴について）', [
        'In-Reply-To: <answer2.0002@mail.city.example.lg.jp>',
        `References: ${d1} <answer1.0001@mail.city.example.lg.jp> ${d2}`,
        ' <answer2.0002@mail.city.example.lg.jp>',
      ]),
    );
    await expectConformant(third);
    expect(third.mail!.subject).toBe('[無害化] Re: Re: お問い合わせ（道路の穴について）');
    expect(third.mail!.inReplyTo).toBe('<answer2.0002@mail.city.example.lg.jp>');
    expect(third.mail!.references).toEqual([d1, '<answer1.0001@mail.city.example.lg.jp>', d2, '<answer2.0002@mail.city.example.lg.jp>']);
    // Threading crosses as it is: a plain text reply stays clean.
    expect(third.result.verdict).toBe('clean');
  });

  it('each message id is checked: what is not one is left out, and no header text rides along', async () => {
    const o = await run(
      eml(
        [
          'From: a@example.jp',
          'To: b@city.example.lg.jp',
          'Subject: Re: x',
          DATE,
          'In-Reply-To: <ok.1@example.jp> (a comment) <no-at-sign> <two@@example.jp> <sp ace@example.jp>',
          `References: <ok.0@example.jp> <"quoted"@example.jp> <${'x'.repeat(300)}@example.jp> <bad\u00e9@example.jp> <ok.1@example.jp> <evil@example.jp>Bcc: x@example.jp`,
        ],
        '本文',
      ),
    );
    await expectConformant(o);
    expect(field(o, 'in-reply-to')).toBe('<ok.1@example.jp>');
    expect(field(o, 'references')).toBe('<ok.0@example.jp> <ok.1@example.jp> <evil@example.jp>');
    expect(await allFieldNames(o.raw!)).not.toContain('bcc');
    // No id at all: no field.
    const none = await run(eml(['From: a@example.jp', 'To: b@city.example.lg.jp', 'Subject: x', DATE, 'In-Reply-To: not an id', 'References: <>'], '本文'));
    expect(field(none, 'in-reply-to')).toBeUndefined();
    expect(field(none, 'references')).toBeUndefined();
  });

  it('a long References keeps the first id and the last ones (RFC 5322 3.6.4), in lines under 998 octets', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `<msg.${i}.${'a'.repeat(40)}@mail.example.jp>`);
    const o = await run(eml(['From: a@example.jp', 'To: b@city.example.lg.jp', 'Subject: Re: x', DATE, `References: ${ids.join('\r\n ')}`], '本文'));
    await expectConformant(o);
    expect(o.mail!.references).toEqual([ids[0], ...ids.slice(-19)]);
  });

  it("a Reply-To on the sender's domain (or a subdomain of it) crosses; another is left out and reported", async () => {
    const same = await run(eml(['From: news@mail.example.jp', 'To: b@city.example.lg.jp', 'Subject: x', DATE, `Reply-To: ${word('総務課')} <soumu@example.jp>`], '本文'));
    await expectConformant(same);
    expect(same.mail!.replyTo).toMatchObject({ value: [{ name: '総務課', address: 'soumu@example.jp' }] });
    expect(same.codes).not.toContain('reply-to-other-domain');
    expect(same.result.verdict).toBe('clean');

    const other = await run(eml(['From: keiri@example.jp', 'To: b@city.example.lg.jp', 'Subject: x', DATE, 'Reply-To: keiri@example.jp, payment@evil.example.net'], '本文'));
    await expectConformant(other);
    expect(other.mail!.replyTo).toMatchObject({ value: [{ address: 'keiri@example.jp' }] });
    expect(other.result.findings.filter((f) => f.code === 'reply-to-other-domain')).toEqual([{ code: 'reply-to-other-domain', detail: 'payment@evil.example.net' }]);
    expect(
      topFields(other.raw!)
        .map(([, v]) => v)
        .join('\n'),
    ).not.toContain('evil.example.net');
  });

  it('the tag is taken out of the reply and forward prefixes wherever it was stacked, and put in front once', async () => {
    const subjectOf = async (s: string, tag?: string): Promise<string> =>
      (await run(eml(['From: a@example.jp', 'To: b@example.jp', `Subject: ${word(s)}`, DATE], 'x'), tag === undefined ? undefined : policyWith({ output: { subjectTag: tag } }))).mail!.subject!;
    expect(await subjectOf('Re: [無害化] Re: [無害化] お問い合わせ')).toBe('[無害化] Re: Re: お問い合わせ');
    expect(await subjectOf('RE: FW: [無害化]転送: [無害化] 資料')).toBe('[無害化] RE: FW: 転送: 資料');
    expect(await subjectOf('Re[2]: [無害化] 日程')).toBe('[無害化] Re[2]: 日程');
    // A tag further in is the sender's text, not ours.
    expect(await subjectOf('「[無害化]」とは')).toBe('[無害化] 「[無害化]」とは');
    expect(await subjectOf('Re: [外部] Re: [外部] 会議', '[外部]')).toBe('[外部] Re: Re: 会議');
    expect(await subjectOf('Re: [無害化] 会議', '')).toBe('Re: [無害化] 会議');
  });
});

describe('missing and broken fields', () => {
  it('a missing From is reported (missing-from) and a From is still written', async () => {
    const o = await run(eml(['To: b@example.jp', 'Subject: no sender', DATE, 'Message-ID: <nofrom@example.jp>'], '本文'));
    await expectConformant(o);
    expect(o.codes).toContain('missing-from');
    expect(o.mail!.from!.value).toEqual([{ name: '差出人不明', address: 'unknown-sender@mugaika.invalid' }]);
    expect(o.result.quarantineId).not.toBeNull();
    expect(o.mail!.text).toContain('本文');
  });

  it('a missing Date is reported (missing-date) and the time of receipt is written', async () => {
    const receivedAt = new Date('2026-11-26T01:23:45Z');
    const h = await harness({ now: () => receivedAt });
    const o = await run(eml(['From: a@example.jp', 'To: b@example.jp', 'Subject: no date'], '本文'), undefined, h);
    await expectConformant(o);
    expect(o.codes).toContain('missing-date');
    expect(o.mail!.date!.toISOString()).toBe(receivedAt.toISOString());
  });

  it('an unreadable Date counts as missing, not as the parse time (missing-date, time of receipt)', async () => {
    const receivedAt = new Date('2026-11-26T01:23:45Z');
    const h = await harness({ now: () => receivedAt });
    const o = await run(eml(['From: a@example.jp', 'To: b@example.jp', 'Subject: bad date', 'Date: next Thursday, around noon'], '本文'), undefined, h);
    await expectConformant(o);
    expect(o.codes).toContain('missing-date');
    expect(o.mail!.date!.toISOString()).toBe(receivedAt.toISOString());
  });

  it('the original Date is kept when readable', async () => {
    const o = await run(eml(['From: a@example.jp', 'To: b@example.jp', 'Subject: dated', DATE], '本文'));
    expect(o.codes).not.toContain('missing-date');
    expect(o.mail!.date!.toISOString()).toBe('2026-11-26T01:00:00.000Z');
  });

  it('an invalid address (To: "x" <a b@@c>) is reported (invalid-address) and left out; the rest stays 7-bit', async () => {
    const o = await run(eml(['From: a@example.jp', 'To: "x" <a b@@c>, ok@example.jp', 'Subject: bad to', DATE], '本文'));
    await expectConformant(o);
    expect(o.codes).toContain('invalid-address');
    expect(o.mail!.to).toMatchObject({ value: [{ address: 'ok@example.jp' }] });
    expect(o.raw!.toString('latin1')).not.toContain('@@');
  });

  it('a non-ASCII local part is reported (invalid-address) and never written as 8-bit', async () => {
    const raw = Buffer.from(
      ['From: 山田 <やまだ@example.jp>', 'To: 受付 <うけつけ@city.example.lg.jp>, ok@city.example.lg.jp', 'Cc: 係 <かかり@example.jp>', 'Subject: utf8 local part', DATE, '', '本文', ''].join('\r\n'),
      'utf8',
    );
    const o = await run(raw);
    await expectConformant(o);
    expect(o.result.findings.filter((f) => f.code === 'invalid-address')).toHaveLength(3);
    expect(o.codes).toContain('missing-from');
    // The sender's name still shows, with an address we made up.
    expect(o.mail!.from!.value).toEqual([{ name: '山田', address: 'unknown-sender@mugaika.invalid' }]);
    expect(o.mail!.to).toMatchObject({ value: [{ address: 'ok@city.example.lg.jp' }] });
    expect(o.mail!.cc).toBeUndefined();
  });

  it('an IDN domain is written as punycode, keeping the message 7-bit', async () => {
    const raw = Buffer.from(['From: 山田 <yamada@例え.jp>', 'To: b@example.jp', 'Subject: idn', DATE, '', '本文', ''].join('\r\n'), 'utf8');
    const o = await run(raw);
    await expectConformant(o);
    expect(o.raw!.toString('latin1')).toMatch(/^From: .*<yamada@xn--r8jz45g\.jp>\r$/m);
    expect(o.codes).not.toContain('invalid-address');
  });
});

describe('hostile header text', () => {
  it('an encoded CR LF in Subject (B and Q) does not create a Bcc header', async () => {
    const b = `=?UTF-8?B?${Buffer.from('hi\r\nBcc: evil@example.com').toString('base64')}?=`;
    const q = '=?UTF-8?Q?hi=0D=0ABcc:_evil@example.com?=';
    for (const subject of [b, q]) {
      const o = await run(eml(['From: a@example.jp', 'To: b@example.jp', `Subject: ${subject}`, DATE], '本文'));
      await expectConformant(o);
      const names = await allFieldNames(o.raw!);
      expect(names).not.toContain('bcc');
      expect(topFields(o.raw!).some(([, v]) => /^evil@/.test(v))).toBe(false);
      expect(o.mail!.bcc).toBeUndefined();
      expect(o.mail!.subject).toBe('[無害化] hi Bcc: evil@example.com');
      expect(o.mail!.to).toMatchObject({ value: [{ address: 'b@example.jp' }] });
    }
  });

  it('an encoded CR LF in the From name does not create a header either', async () => {
    const name = `=?UTF-8?B?${Buffer.from('Eve\r\nBcc: evil@example.com\r\n\r\nbody').toString('base64')}?=`;
    const o = await run(eml([`From: ${name} <eve@example.jp>`, 'To: b@example.jp', 'Subject: x', DATE], '本文'));
    await expectConformant(o);
    expect(await allFieldNames(o.raw!)).not.toContain('bcc');
    expect(o.mail!.from!.value[0]).toEqual({ name: 'Eve Bcc: evil@example.com body', address: 'eve@example.jp' });
  });

  it('RTLO (U+202E) and other bidi controls are removed from Subject and the From name', async () => {
    const o = await run(eml([`From: ${word('山田\u202E太郎\u2066')} <a@example.jp>`, 'To: b@example.jp', `Subject: ${word('請求書\u202Efdp.exe\u202C の件')}`, DATE], '本文'));
    await expectConformant(o);
    expect(o.mail!.subject).toBe('[無害化] 請求書fdp.exe の件');
    expect(o.mail!.from!.value[0]!.name).toBe('山田太郎');
  });

  it('text that only looks like an encoded word is not written as one', async () => {
    const o = await run(eml(['From: =? ?B??= <a@example.jp>', 'To: b@example.jp', 'Subject: =?bogus?Q?x?= and =?', DATE], '本文'));
    await expectConformant(o);
    expect(o.raw!.toString('latin1')).not.toMatch(/=\?(?!UTF-8\?)/i);
    expect(o.mail!.from!.value[0]!.address).toBe('a@example.jp');
  });
});
