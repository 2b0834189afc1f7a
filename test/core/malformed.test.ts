// Broken mail is normal mail: unclosed or unused boundaries, lying transfer
// encodings, unknown charsets, bare LF, NUL bytes, enormous lines, nothing at
// all. Every one gets a decision (never an exception), and what is delivered
// is conformant 7-bit mail. Where text can be kept, it arrives whole; where it
// cannot, the original is quarantined and the notice says so.
import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { bodyOf, eml, run, type Outcome } from '../helpers/run.js';

const HEAD = ['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Subject: malformed', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Message-ID: <malformed@example.jp>', 'MIME-Version: 1.0'];
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
/** CRLF line ends, the way eml() joins headers. */
const crlf = (s: string): Buffer => utf8(s.replace(/\r?\n/g, '\r\n'));

/** Sanitizes `raw`; a decision must come back (run rejects on any throw) and a delivered message must conform. */
async function decide(raw: Buffer): Promise<Outcome> {
  const o = await run(raw);
  expect(['deliver', 'reject']).toContain(o.result.action);
  if (o.result.action === 'deliver') {
    expect(o.raw).not.toBeNull();
    expect(await violations(o.raw!)).toEqual([]);
  }
  return o;
}

/**
 * Text that could not cross must not vanish silently: either it arrives, or
 * the original is in quarantine and the verdict says something was done.
 */
function expectNotSilentlyLost(o: Outcome, words: string): void {
  if (o.result.action !== 'deliver' || o.mail!.text?.includes(words)) return;
  expect(o.result.verdict).not.toBe('clean');
  expect(o.result.quarantineId).not.toBeNull();
  expect(o.mail!.text).toContain(o.result.quarantineId!);
}

describe('broken MIME structure', () => {
  it('a missing closing boundary still delivers the body and the last part', async () => {
    const o = await decide(
      eml(
        [...HEAD, 'Content-Type: multipart/mixed; boundary="BB"'],
        crlf('--BB\nContent-Type: text/plain; charset=utf-8\n\n本文の続き\n--BB\nContent-Type: text/plain; charset=utf-8\nContent-Disposition: attachment; filename="memo"\n\n添付のテキスト\n'),
      ),
    );
    expect(o.result.action).toBe('deliver');
    expect(bodyOf(o)).toBe('本文の続き');
    expect(o.mail!.attachments.map((a) => [a.filename, a.content.toString('utf8')])).toEqual([['memo.txt', '添付のテキスト\n']]);
  });

  it('a boundary that is never used: the text is not silently dropped', async () => {
    const o = await decide(eml([...HEAD, 'Content-Type: multipart/mixed; boundary="never-used"'], crlf('境界線がどこにもない本文です。\n--other\nContent-Type: text/plain\n\nもう一段\n')));
    expect(o.result.action).toBe('deliver');
    expectNotSilentlyLost(o, '境界線がどこにもない本文です。');
  });

  it('a multipart without a boundary parameter: the text is not silently dropped', async () => {
    const o = await decide(eml([...HEAD, 'Content-Type: multipart/mixed'], crlf('--x\nContent-Type: text/plain; charset=utf-8\n\n境界の指定がない本文\n--x--\n')));
    expect(o.result.action).toBe('deliver');
    expectNotSilentlyLost(o, '境界の指定がない本文');
  });

  it('a multipart with no parts at all gets a decision', async () => {
    for (const body of ['--BB--\n', '', 'preamble only\n--BB--\nepilogue\n']) {
      const o = await decide(eml([...HEAD, 'Content-Type: multipart/mixed; boundary="BB"'], crlf(body)));
      expect(o.result.action).toBe('deliver');
      expect(o.mail!.attachments).toEqual([]);
      if (body.includes('preamble')) expectNotSilentlyLost(o, 'preamble only');
    }
  });

  it('a multipart/alternative whose only part is empty gets a decision', async () => {
    const o = await decide(eml([...HEAD, 'Content-Type: multipart/alternative; boundary="a"'], crlf('--a\nContent-Type: text/plain\n\n--a--\n')));
    expect(o.result.action).toBe('deliver');
  });
});

describe('lying transfer encodings and charsets', () => {
  it('base64 declared on text that is not base64 gets a decision, with no control bytes let through', async () => {
    for (const body of ['これはbase64ではありません!!! @@@ ~~~\n%%%%\n', 'this is *not* base64 at all!!!\n', '====\n']) {
      const o = await decide(eml([...HEAD, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'], crlf(body)));
      expect(o.result.action).toBe('deliver');
      expect(o.mail!.text).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    }
  });

  it('base64 declared on a garbage attachment gets a decision', async () => {
    const o = await decide(
      eml(
        [...HEAD, 'Content-Type: multipart/mixed; boundary="BB"'],
        crlf(
          '--BB\nContent-Type: text/plain; charset=utf-8\n\n本文\n--BB\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="photo.png"\n\n!!!not base64, not png!!!\n--BB--\n',
        ),
      ),
    );
    expect(o.result.action).toBe('deliver');
    expect(bodyOf(o)).toBe('本文');
    expect(o.mail!.attachments.every((a) => ['text/plain', 'image/png', 'image/jpeg'].includes(a.contentType))).toBe(true);
  });

  it('broken quoted-printable and an unknown transfer encoding get a decision and keep the readable text', async () => {
    const qp = await decide(eml([...HEAD, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'], crlf('abc =ZZ =E3=81 tail =\nnext =E6=9C=AC\n')));
    expect(qp.result.action).toBe('deliver');
    expect(qp.mail!.text).toContain('abc =ZZ');
    expect(qp.mail!.text).toContain('本');
    const unknown = await decide(eml([...HEAD, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: x-made-up'], crlf('未知の転送符号化\n')));
    expect(unknown.result.action).toBe('deliver');
    expect(bodyOf(unknown)).toBe('未知の転送符号化');
  });

  it('an unknown charset name (x-unknown-foo) on UTF-8 text gets a decision and the text arrives', async () => {
    const o = await decide(eml([...HEAD, 'Content-Type: text/plain; charset=x-unknown-foo', 'Content-Transfer-Encoding: 8bit'], crlf('未知の文字コード名\n二行目\n')));
    expect(o.result.action).toBe('deliver');
    expect(bodyOf(o)).toBe('未知の文字コード名\n二行目');
    // In an encoded word as well.
    const w = await decide(eml([...HEAD.filter((h) => !h.startsWith('Subject')), `Subject: =?x-unknown-foo?B?${utf8('件名').toString('base64')}?=`], 'x'));
    expect(w.mail!.subject).toBe('[無害化] 件名');
  });

  it('a text/html part that is really plain text: its words, symbols and (inert) link arrive', async () => {
    const o = await decide(eml([...HEAD, 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], crlf('こんにちは\n条件 a < b & c > d\nhttps://example.jp/page\n')));
    expect(o.result.action).toBe('deliver');
    expect(o.codes).toContain('html-converted');
    const text = bodyOf(o);
    expect(text).toContain('こんにちは');
    expect(text).toContain('条件 a < b & c > d');
    expect(text).toContain('hxxps://example[.]jp/page');
    expect(text).not.toContain('https://');
  });
});

describe('messages missing their parts', () => {
  it('an empty message (0 bytes) gets a decision', async () => {
    const o = await decide(Buffer.alloc(0));
    if (o.result.action === 'deliver') expect(o.result.quarantineId).not.toBeNull();
  });

  it('only headers, no body (with and without the blank line) is delivered with the subject intact', async () => {
    for (const raw of [Buffer.from(HEAD.join('\r\n')), Buffer.from(`${HEAD.join('\r\n')}\r\n`), Buffer.from(`${HEAD.join('\r\n')}\r\n\r\n`)]) {
      const o = await decide(raw);
      expect(o.result.action).toBe('deliver');
      expect(o.mail!.subject).toBe('[無害化] malformed');
      expect(o.mail!.from!.value[0]!.address).toBe('sender@example.jp');
      expect(bodyOf(o)).toBe('（本文はありません）');
    }
  });

  it('a body with no headers at all gets a decision, and the original is kept', async () => {
    for (const raw of [utf8('ただの本文です。\r\nヘッダーがありません。\r\n'), utf8('\r\n本文だけです。\r\n'), utf8('注意: これは本文です。\r\n\r\n続き\r\n')]) {
      const o = await decide(raw);
      if (o.result.action === 'deliver') {
        expect(o.result.quarantineId).not.toBeNull();
        expect(o.mail!.from!.value[0]!.address).toBe('unknown-sender@mugaika.invalid');
      }
    }
  });
});

describe('line ends, control bytes and sizes', () => {
  it('bare LF line endings throughout (headers, boundaries, parts) still decode whole', async () => {
    const raw = utf8(
      [
        `From: =?UTF-8?B?${utf8('山田').toString('base64')}?= <yamada@example.jp>`,
        'To: staff@city.example.lg.jp',
        `Subject: =?UTF-8?B?${utf8('改行コードLFのみ').toString('base64')}?=`,
        'Date: Thu, 26 Nov 2026 10:00:00 +0900',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="BB"',
        '',
        '--BB',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        '一行目',
        '二行目',
        '--BB',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Disposition: attachment; filename="memo"',
        'Content-Transfer-Encoding: base64',
        '',
        utf8('添付の一行目\n添付の二行目\n').toString('base64'),
        '--BB--',
        '',
      ].join('\n'),
    );
    expect(raw.includes('\r')).toBe(false);
    const o = await decide(raw);
    expect(o.result.action).toBe('deliver');
    expect(o.mail!.subject).toBe('[無害化] 改行コードLFのみ');
    expect(o.mail!.from!.value[0]).toEqual({ name: '山田', address: 'yamada@example.jp' });
    expect(bodyOf(o)).toBe('一行目\n二行目');
    expect(o.mail!.attachments.map((a) => [a.filename, a.content.toString('utf8')])).toEqual([['memo.txt', '添付の一行目\n添付の二行目\n']]);
  });

  it('NUL bytes in the body are removed and reported (control-chars-removed)', async () => {
    const body = Buffer.concat([utf8('前\u0000半'), Buffer.from([0x00, 0x00]), utf8('後半\r\n次の\u0000行\r\n')]);
    const o = await decide(eml([...HEAD, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], body));
    expect(o.result.action).toBe('deliver');
    expect(o.result.findings).toContainEqual({ code: 'control-chars-removed', detail: '4' });
    expect(bodyOf(o)).toBe('前半後半\n次の行');
    expect(o.result.quarantineId).not.toBeNull();
  });

  it('a 100 000-character line arrives whole, in lines of at most 998 octets', async () => {
    const ascii = 'a'.repeat(100_000);
    const kana = 'あいうえお'.repeat(20_000);
    for (const line of [ascii, kana]) {
      const o = await decide(eml([...HEAD, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], utf8(`${line}\r\n`)));
      expect(o.result.action).toBe('deliver');
      expect(bodyOf(o)).toBe(line);
      expect(
        Math.max(
          ...o
            .raw!.toString('latin1')
            .split('\r\n')
            .map((l) => l.length),
        ),
      ).toBeLessThanOrEqual(998);
    }
  });

  it('a 5 000-character Subject arrives whole, in lines of at most 998 octets', async () => {
    const japanese = '長い件名のテスト'.repeat(625);
    const ascii = Array.from({ length: 1000 }, (_, i) => `w${i % 10}xyz`)
      .join(' ')
      .slice(0, 5000);
    expect([...japanese]).toHaveLength(5000);
    expect(ascii).toHaveLength(5000);
    const cases: Array<[string, string]> = [
      [japanese, `=?UTF-8?B?${utf8(japanese).toString('base64')}?=`],
      [ascii, ascii],
    ];
    for (const [want, field] of cases) {
      const o = await decide(eml([...HEAD.filter((h) => !h.startsWith('Subject')), `Subject: ${field}`], 'x'));
      expect(o.result.action).toBe('deliver');
      expect(o.mail!.subject).toBe(`[無害化] ${want}`);
      expect(
        Math.max(
          ...o
            .raw!.toString('latin1')
            .split('\r\n')
            .map((l) => l.length),
        ),
      ).toBeLessThanOrEqual(998);
    }
  });
});
