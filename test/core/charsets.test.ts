// Japanese mail arrives in every charset a PC has ever written: ISO-2022-JP
// (really CP50220, with the NEC row-13 characters ① ㈱), Shift_JIS (really
// CP932, with the IBM extensions such as 髙), EUC-JP and UTF-8, in bodies, in
// RFC 2047 encoded words and in RFC 2231 parameters. Whatever came in, the
// subject, the sender's name, the body and attachment names must arrive whole,
// as UTF-8, in a conformant 7-bit message.
import Encoding from 'encoding-japanese';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { bodyOf, b64, eml, run, type Outcome } from '../helpers/run.js';

// ── Building raw bytes ──────────────────────────────────────────────────────

const ESC = 0x1b;
/** ISO-2022-JP bytes of `s`, as encoding-japanese writes them (NEC row 13 included). */
const jis = (s: string): Buffer => Buffer.from(Encoding.convert(Encoding.stringToCode(s), { to: 'JIS', from: 'UNICODE' }) as number[]);
const sjis = (s: string): Buffer => iconv.encode(s, 'cp932');
const eucjp = (s: string): Buffer => iconv.encode(s, 'euc-jp');
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** One RFC 2047 B encoded word. */
const word = (charset: string, bytes: Uint8Array): string => `=?${charset}?B?${Buffer.from(bytes).toString('base64')}?=`;
/** RFC 2231 percent-encoding of every byte. */
const pct = (bytes: Uint8Array): string => [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

const DATE = 'Date: Thu, 26 Nov 2026 10:00:00 +0900';

/** A single-part message; the body bytes go in as they are. */
const single = (head: { from: string; subject: string; contentType: string; cte?: string }, body: Buffer): Buffer =>
  eml(
    [
      `From: ${head.from}`,
      'To: staff@city.example.lg.jp',
      `Subject: ${head.subject}`,
      DATE,
      'Message-ID: <charset-test@example.jp>',
      'MIME-Version: 1.0',
      `Content-Type: ${head.contentType}`,
      `Content-Transfer-Encoding: ${head.cte ?? '8bit'}`,
    ],
    Buffer.concat([body, Buffer.from('\r\n')]),
  );

/** A multipart/mixed message: a plain text body and one text attachment with raw part headers. */
const withTextAttachment = (partHeaders: string[], content: Buffer): Buffer =>
  eml(
    ['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Subject: attachment', DATE, 'Message-ID: <att@example.jp>', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b1"'],
    Buffer.concat([
      Buffer.from('--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n添付します。\r\n--b1\r\n'),
      Buffer.from(`${partHeaders.join('\r\n')}\r\nContent-Transfer-Encoding: base64\r\n\r\n`),
      Buffer.from(b64(content)),
      Buffer.from('\r\n--b1--\r\n'),
    ]),
  );

// ── Reading the result ──────────────────────────────────────────────────────

/** The common expectations: delivered, nothing garbled, conformant. */
async function expectIntact(o: Outcome, want: { subject: string; name?: string; body?: string }): Promise<void> {
  expect(o.result.action).toBe('deliver');
  expect(o.result.verdict).not.toBe('blocked');
  expect(o.mail!.subject).toBe(`[無害化] ${want.subject}`);
  if (want.name !== undefined) expect(o.mail!.from!.value[0]!.name).toBe(want.name);
  if (want.body !== undefined) expect(bodyOf(o)).toBe(want.body);
  expect(o.mail!.text).not.toContain('\uFFFD');
  expect(await violations(o.raw!)).toEqual([]);
}

// ── ISO-2022-JP ────────────────────────────────────────────────────────────

describe('ISO-2022-JP (CP50220)', () => {
  it('body, Subject and From name with NEC row-13 characters (hand-written bytes) arrive whole', async () => {
    // ESC $ B, then ① (2D 21), ② (2D 22), ㈱ (2D 6A), 会 (32 71), 議 (35 44), ESC ( B.
    const nec = Buffer.from([ESC, 0x24, 0x42, 0x2d, 0x21, 0x2d, 0x22, 0x2d, 0x6a, 0x32, 0x71, 0x35, 0x44, ESC, 0x28, 0x42]);
    const name = Buffer.from([ESC, 0x24, 0x42, 0x2d, 0x6a, ESC, 0x28, 0x42, 0x20, ...jis('山田')]); // "㈱ 山田"
    const o = await run(single({ from: `${word('ISO-2022-JP', name)} <yamada@example.jp>`, subject: word('ISO-2022-JP', nec), contentType: 'text/plain; charset=ISO-2022-JP', cte: '7bit' }, nec));
    await expectIntact(o, { subject: '①②㈱会議', name: '㈱ 山田', body: '①②㈱会議' });
    expect(o.result.verdict).toBe('clean');
  });

  it('a longer multi-line body with half-width katakana (ESC ( I) and NEC characters arrives whole', async () => {
    // 髙 is not in JIS X 0208 nor in the NEC rows, so it is left out here.
    const text = '各位\n\n①日時：１２月１日（火）\n②場所：第２会議室\n主催：㈱サンプル　ﾃｽﾄ\n以上';
    const subject = '【ご案内】　①研修会の開催について'; // U+3000 is text, kept as it is
    const o = await run(
      single(
        { from: `${word('ISO-2022-JP', jis('総務課　鈴木'))} <suzuki@example.jp>`, subject: word('ISO-2022-JP', jis(subject)), contentType: 'text/plain; charset="iso-2022-jp"', cte: '7bit' },
        jis(text.replace(/\n/g, '\r\n')),
      ),
    );
    await expectIntact(o, { subject, name: '総務課　鈴木', body: text });
  });

  it('bodies the WHATWG decoder refuses (JIS X 0212, SO/SI katakana) still decode, by the wider decoder', async () => {
    // 丂 is JIS X 0212 0x3021 (ESC $ ( D); SO ... SI is CP50221's katakana shift (0x31 = ｱ).
    const x0212 = Buffer.from([...jis('資料'), ESC, 0x24, 0x28, 0x44, 0x30, 0x21, ESC, 0x28, 0x42]);
    const shifted = Buffer.from([...jis('担当'), 0x0e, 0x31, 0x32, 0x0f]);
    for (const [body, want] of [
      [x0212, '資料丂'],
      [shifted, '担当'],
    ] as const) {
      const o = await run(single({ from: 'sender@example.jp', subject: 'JIS', contentType: 'text/plain; charset=ISO-2022-JP', cte: '7bit' }, body));
      await expectIntact(o, { subject: 'JIS' });
      expect(bodyOf(o).startsWith(want)).toBe(true);
    }
  });

  it('the NEC row-13 duplicates of JIS X 0208 symbols (≒ ≡ ∫ √ ⊥ ∠ ∵ ∩ ∪ at 2D70..2D7C) decode, not to "?"', async () => {
    const symbols = Buffer.from([ESC, 0x24, 0x42, 0x2d, 0x70, 0x2d, 0x71, 0x2d, 0x72, 0x2d, 0x75, 0x2d, 0x76, 0x2d, 0x77, 0x2d, 0x7a, 0x2d, 0x7b, 0x2d, 0x7c, ESC, 0x28, 0x42]);
    const o = await run(single({ from: 'sender@example.jp', subject: 'NEC', contentType: 'text/plain; charset=ISO-2022-JP', cte: '7bit' }, symbols));
    await expectIntact(o, { subject: 'NEC', body: '≒≡∫√⊥∠∵∩∪' });
  });

  it('labelled CP50220, CP50221 or csISO2022JP (what .NET writes), it still decodes', async () => {
    for (const label of ['CP50220', 'CP50221', 'csISO2022JP']) {
      const o = await run(
        single({ from: `${word(label, jis('山田①'))} <a@example.jp>`, subject: word(label, jis('①②㈱の件')), contentType: `text/plain; charset=${label}`, cte: '7bit' }, jis('本文①㈱')),
      );
      await expectIntact(o, { subject: '①②㈱の件', name: '山田①', body: '本文①㈱' });
      expect(o.codes, label).not.toContain('control-chars-removed');
    }
  });

  it('unencoded ISO-2022-JP in Subject and From (old mailers) decodes, and the From address survives', async () => {
    const raw = Buffer.concat([
      Buffer.from('From: '),
      jis('山田'),
      Buffer.from(' <yamada@example.jp>\r\nTo: staff@city.example.lg.jp\r\nSubject: '),
      jis('①会議のお知らせ'),
      Buffer.from(`\r\n${DATE}\r\nMessage-ID: <rawjis@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n`),
      jis('本文です'),
      Buffer.from('\r\n'),
    ]);
    const o = await run(raw);
    await expectIntact(o, { subject: '①会議のお知らせ', name: '山田', body: '本文です' });
    expect(o.mail!.from!.value[0]!.address).toBe('yamada@example.jp');
    expect(o.codes).toEqual([]);
  });
});

// ── Shift_JIS / CP932 ──────────────────────────────────────────────────────

describe('Shift_JIS (really CP932)', () => {
  it('body and encoded words labelled Shift_JIS keep ①, ㈱ and the IBM-extension 髙 (FB FC)', async () => {
    expect(sjis('髙')).toEqual(Buffer.from([0xfb, 0xfc]));
    expect(sjis('①㈱')).toEqual(Buffer.from([0x87, 0x40, 0x87, 0x8a]));
    const text = '髙橋様\n①請求書を送付します。\n㈱サンプル商事　ﾃｽﾄ\n～以上～';
    const o = await run(
      single(
        { from: `${word('Shift_JIS', sjis('髙橋 一郎'))} <takahashi@example.jp>`, subject: word('Shift_JIS', sjis('①㈱髙橋商店のご請求')), contentType: 'text/plain; charset=Shift_JIS' },
        sjis(text.replace(/\n/g, '\r\n')),
      ),
    );
    await expectIntact(o, { subject: '①㈱髙橋商店のご請求', name: '髙橋 一郎', body: text });
    expect(o.result.verdict).toBe('clean');
  });

  it('quoted-printable Shift_JIS body with the common mislabels (SJIS, x-sjis, Windows-31J) decodes the same', async () => {
    const text = '髙島屋①のご案内';
    const qp = [...sjis(text)].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    for (const label of ['SJIS', 'x-sjis', 'Windows-31J', 'shift-jis']) {
      const o = await run(
        single({ from: `${word(label, sjis('髙'))} <a@example.jp>`, subject: word(label, sjis(text)), contentType: `text/plain; charset=${label}`, cte: 'quoted-printable' }, Buffer.from(qp)),
      );
      await expectIntact(o, { subject: text, name: '髙', body: text });
    }
  });

  it('a Shift_JIS text attachment is re-encoded to UTF-8 with its characters whole', async () => {
    const content = '氏名,所属\r\n髙橋,①係\r\n';
    const o = await run(withTextAttachment(['Content-Type: text/plain; charset=Shift_JIS', 'Content-Disposition: attachment; filename="meibo"'], sjis(content)));
    expect(o.result.action).toBe('deliver');
    const att = o.mail!.attachments[0]!;
    expect(att.filename).toBe('meibo.txt');
    expect(att.content.toString('utf8')).toBe(content.replace(/\r\n/g, '\n'));
    expect(o.result.findings).toContainEqual(expect.objectContaining({ code: 'text-reencoded', detail: 'CP932 -> UTF-8' }));
    expect(await violations(o.raw!)).toEqual([]);
  });
});

// ── EUC-JP ─────────────────────────────────────────────────────────────────

describe('EUC-JP', () => {
  it('body and encoded words keep kanji, kana and the NEC characters ① ㈱', async () => {
    const text = '市民課からのお知らせ\n①住民票の写し\n㈱テスト　ｶﾅ';
    const o = await run(
      single(
        { from: `${word('EUC-JP', eucjp('佐藤 花子'))} <sato@example.jp>`, subject: word('EUC-JP', eucjp('①㈱の手続きについて')), contentType: 'text/plain; charset=EUC-JP' },
        eucjp(text.replace(/\n/g, '\r\n')),
      ),
    );
    await expectIntact(o, { subject: '①㈱の手続きについて', name: '佐藤 花子', body: text });
  });
});

describe('a charset label nobody knows', () => {
  it('on CP932 or EUC-JP bytes decodes by the bytes, not into U+FFFD', async () => {
    for (const [label, enc] of [
      ['x-unknown-foo', sjis],
      ['CP51932', eucjp],
    ] as const) {
      const text = '未知の文字コード①';
      const o = await run(single({ from: 'a@example.jp', subject: 'x', contentType: `text/plain; charset=${label}` }, enc(text)));
      await expectIntact(o, { subject: 'x', body: text });
    }
  });

  it('on bytes that are no text at all leaves U+FFFD and says so', async () => {
    const o = await run(single({ from: 'a@example.jp', subject: 'x', contentType: 'text/plain; charset=x-unknown' }, Buffer.from([0x41, 0x80, 0x81, 0xfe, 0xff, 0x42])));
    expect(o.result.findings).toContainEqual({ code: 'undecodable-characters', detail: expect.any(String) });
    expect(o.result.quarantineId).not.toBeNull();
    expect(o.mail!.text).toContain('読み取れない文字がありました（� と表示しています）。');
  });
});

// ── UTF-8 ──────────────────────────────────────────────────────────────────

describe('UTF-8', () => {
  it('8bit, base64 and quoted-printable bodies with 髙, ①, ㈱ and an astral 𠮷 arrive whole', async () => {
    const text = '𠮷野様\n髙橋①㈱\n絵文字🙂も';
    const bytes = utf8(text.replace(/\n/g, '\r\n'));
    const bodies: Array<[string, Buffer]> = [
      ['8bit', bytes],
      ['base64', Buffer.from(b64(bytes))],
      ['quoted-printable', Buffer.from([...bytes].map((b) => (b === 0x0d || b === 0x0a ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`)).join(''))],
    ];
    for (const [cte, body] of bodies) {
      const o = await run(single({ from: `${word('UTF-8', utf8('𠮷野 髙子'))} <y@example.jp>`, subject: word('UTF-8', utf8('𠮷①㈱髙')), contentType: 'text/plain; charset=utf-8', cte }, body));
      await expectIntact(o, { subject: '𠮷①㈱髙', name: '𠮷野 髙子', body: text });
    }
  });
});

// ── Encoded words split in the middle of a character ───────────────────────

describe('an RFC 2047 character split across adjacent encoded words', () => {
  it('UTF-8 base64 split inside a 3-byte and a 4-byte character decodes to the whole characters', async () => {
    const s = utf8('髙橋𠮷');
    // 髙 = E9 AB 99, 橋 = E6 A9 8B, 𠮷 = F0 A0 AE B7: split after E9 and inside 𠮷.
    const subject = `${word('UTF-8', s.subarray(0, 1))} ${word('UTF-8', s.subarray(1, 8))}\r\n ${word('UTF-8', s.subarray(8))}`;
    const name = `${word('UTF-8', s.subarray(0, 2))}\r\n ${word('UTF-8', s.subarray(2))}`;
    const o = await run(single({ from: `${name} <a@example.jp>`, subject, contentType: 'text/plain; charset=utf-8' }, utf8('本文')));
    await expectIntact(o, { subject: '髙橋𠮷', name: '髙橋𠮷' });
  });

  it('UTF-8 quoted-printable (Q) split inside a character decodes to the whole character', async () => {
    const o = await run(
      single({ from: '=?UTF-8?Q?=E9=AB?= =?UTF-8?Q?=99?= <a@example.jp>', subject: '=?UTF-8?Q?=E4=BC=9A=E8?= =?UTF-8?Q?=AD=B0?=', contentType: 'text/plain; charset=utf-8' }, utf8('x')),
    );
    await expectIntact(o, { subject: '会議', name: '髙' });
  });

  it('ISO-2022-JP split between the two bytes of a kanji (escape only in the first word) decodes whole', async () => {
    const s = jis('会議①'); // ESC $ B 32 71 35 44 2D 21 ESC ( B
    const subject = `${word('ISO-2022-JP', s.subarray(0, 4))} ${word('ISO-2022-JP', s.subarray(4, 9))} ${word('ISO-2022-JP', s.subarray(9))}`;
    const name = `${word('ISO-2022-JP', s.subarray(0, 6))}\r\n ${word('ISO-2022-JP', s.subarray(6))}`;
    const o = await run(single({ from: `${name} <a@example.jp>`, subject, contentType: 'text/plain; charset=utf-8' }, utf8('x')));
    await expectIntact(o, { subject: '会議①', name: '会議①' });
  });

  it('Shift_JIS split between lead and trail byte (髙 = FB | FC) decodes whole', async () => {
    const s = sjis('髙橋');
    const o = await run(
      single(
        {
          from: `${word('Shift_JIS', s.subarray(0, 1))} ${word('Shift_JIS', s.subarray(1))} <a@example.jp>`,
          subject: `${word('Shift_JIS', s.subarray(0, 3))} ${word('Shift_JIS', s.subarray(3))}`,
          contentType: 'text/plain; charset=utf-8',
        },
        utf8('x'),
      ),
    );
    await expectIntact(o, { subject: '髙橋', name: '髙橋' });
  });
});

// ── RFC 2231 attachment names ───────────────────────────────────────────────

describe('RFC 2231 file names on a text attachment', () => {
  const NAME = '会議資料（最終版）①';
  const content = 'テキストの添付です。\n';

  const expectName = async (partHeaders: string[], want: string): Promise<void> => {
    const o = await run(withTextAttachment(partHeaders, utf8(content)));
    expect(o.result.action).toBe('deliver');
    expect(o.mail!.attachments).toHaveLength(1);
    const att = o.mail!.attachments[0]!;
    expect(att.filename).toBe(`${want}.txt`);
    expect(att.content.toString('utf8')).toBe(content);
    expect(await violations(o.raw!)).toEqual([]);
  };

  it('utf-8, split mid-character across filename*0* and filename*1*', async () => {
    const n = utf8(NAME); // cut at byte 4: inside 議
    await expectName(['Content-Type: text/plain; charset=utf-8', `Content-Disposition: attachment;\r\n filename*0*=utf-8''${pct(n.subarray(0, 4))};\r\n filename*1*=${pct(n.subarray(4))}`], NAME);
  });

  it('utf-8 with a language tag, mixing encoded and plain continuations, on Content-Type name*', async () => {
    const n = utf8('議事録');
    await expectName([`Content-Type: text/plain; charset=utf-8;\r\n name*0*=UTF-8'ja'${pct(n)};\r\n name*1=_draft;\r\n name*2*=${pct(utf8('①'))}`, 'Content-Disposition: attachment'], '議事録_draft①');
  });

  it('iso-2022-jp, the escape sequences percent-encoded, split across three sections', async () => {
    const n = jis(NAME);
    await expectName(
      [
        'Content-Type: text/plain',
        `Content-Disposition: attachment;\r\n filename*0*=iso-2022-jp''${pct(n.subarray(0, 5))};\r\n filename*1*=${pct(n.subarray(5, 12))};\r\n filename*2*=${pct(n.subarray(12))}`,
      ],
      NAME,
    );
  });

  it('shift_jis (CP932: ① and 髙), split between lead and trail byte', async () => {
    const name = '髙橋①報告';
    const n = sjis(name); // FB | FC ...
    await expectName(['Content-Type: text/plain', `Content-Disposition: attachment;\r\n filename*0*=shift_jis''${pct(n.subarray(0, 1))};\r\n filename*1*=${pct(n.subarray(1))}`], name);
  });
});
