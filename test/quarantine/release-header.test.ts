// A released original is marked as one, and otherwise is the original: the
// header X-Mugaika-Released-By in front, 【原本】 in front of the Subject, a
// line in front of its first text (and HTML) part saying who released it and
// when; every header field, part and attachment else as it was, on the
// samples (ISO-2022-JP, base64 alternatives, Shift_JIS 8bit, a forward, raw
// 8-bit EUC-JP headers, bare LF) and on quoted-printable, UTF-16 and
// header-only messages.
import { readFileSync } from 'node:fs';
import { simpleParser, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { markReleased, withReleasedBy } from '../../src/quarantine/release-header.js';

const AT = new Date('2026-12-06T04:05:00Z'); // 13:05 in Japan
const NOTE = '【原本】隔離していた原本を解放したものです。無害化していません（解放: admin:suzuki、2026年12月6日 13:05）。';
const NOTE_EN = '[Original] This is the quarantined original, released by admin:suzuki on 2026-12-06 13:05 JST. It was not sanitized.';
const mark = (raw: Buffer, over: Partial<Parameters<typeof markReleased>[1]> = {}): Buffer => markReleased(raw, { actor: 'admin:suzuki', at: AT, subjectPrefix: '【原本】', language: 'ja', ...over });

/** Every header line but the ones a release changes, as raw lines. */
const otherHeaders = (m: ParsedMail): string[] => m.headerLines.filter((l) => l.key !== 'subject' && l.key !== 'x-mugaika-released-by').map((l) => l.line);
const files = (m: ParsedMail): Array<[string | undefined, string, string]> => m.attachments.map((a) => [a.filename, a.contentType, a.content.toString('base64')]);

describe('X-Mugaika-Released-By', () => {
  it('is one header line whatever the actor holds, in the original’s own line ending', async () => {
    const crlf = Buffer.from('Subject: a\r\nTo: b@city.example.lg.jp\r\n\r\nbody\r\n');
    const out = withReleasedBy(crlf, 'evil\r\nBcc: all@city.example.lg.jp');
    expect(out.toString()).toBe(`X-Mugaika-Released-By: evil Bcc: all@city.example.lg.jp\r\n${crlf.toString()}`);
    const parsed = await simpleParser(out);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.get('x-mugaika-released-by')).toBe('evil Bcc: all@city.example.lg.jp');

    const lf = Buffer.from('Subject: a\n\nbody\n');
    const jp = withReleasedBy(lf, '管理者 佐藤');
    expect(jp.subarray(jp.length - lf.length).equals(lf)).toBe(true);
    const word = /^X-Mugaika-Released-By: =\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=\nSubject: a\n/.exec(jp.toString());
    expect(Buffer.from(word?.[1] ?? '', 'base64').toString('utf8')).toBe('管理者 佐藤');
  });
});

describe('a released original is visible as one', () => {
  it('a plain UTF-8 message: exactly three changes, byte for byte', () => {
    const raw = Buffer.from('From: a@example.jp\r\nSubject: =?UTF-8?B?5Lya6K2w?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n本文です。\r\n');
    const prefix = `=?UTF-8?B?${Buffer.from('【原本】').toString('base64')}?=`;
    expect(mark(raw).toString('utf8')).toBe(
      `X-Mugaika-Released-By: admin:suzuki\r\nFrom: a@example.jp\r\nSubject: ${prefix}\r\n =?UTF-8?B?5Lya6K2w?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${NOTE}\r\n本文です。\r\n`,
    );
  });

  const samples: Array<[string, { text: boolean; html: boolean; spaceAfterPrefix?: boolean }]> = [
    ['01-iso2022jp-notice.eml', { text: true, html: false }],
    ['02-html-newsletter.eml', { text: true, html: true }],
    ['04-shiftjis-csv.eml', { text: true, html: false }],
    ['08-exe-attachment.eml', { text: true, html: false }],
    ['09-forwarded-mail.eml', { text: true, html: false }],
    ['10-eucjp-plain.eml', { text: true, html: false, spaceAfterPrefix: true }],
    ['12-malformed-mime.eml', { text: true, html: false }],
    ['13-calendar-invite.eml', { text: true, html: false }],
  ];
  for (const [file, want] of samples) {
    it(`samples/${file}: subject, first text part, everything else as it was`, async () => {
      const raw = readFileSync(`samples/${file}`);
      const out = mark(raw);
      const [before, after] = await Promise.all([simpleParser(raw), simpleParser(out)]);
      expect(after.headers.get('x-mugaika-released-by')).toBe('admin:suzuki');
      // A raw 8-bit Subject cannot join an encoded word: a space separates them.
      expect(after.subject).toBe(`【原本】${want.spaceAfterPrefix ? ' ' : ''}${before.subject}`);
      expect(otherHeaders(after)).toEqual(otherHeaders(before));
      // (In a base64 part, spaces before its line end make the note a multiple of 3 bytes.)
      if (want.text) expect(after.text!.replace(/^(.*?) *\n/, '$1\n')).toBe(`${NOTE}\n${before.text}`);
      if (want.html) {
        expect(after.html).toContain(NOTE);
        // A base64 HTML part gets it before its first byte (the <body> tag is not found without decoding it).
        expect((after.html as string).replace(/^<div style="[^"]*">【原本】[^<]*<\/div> *\r?\n/, '')).toBe(before.html);
      }
      // Attachments, the forwarded message included, are the original's bytes.
      expect(files(after)).toEqual(files(before));
      expect(out.length).toBeGreaterThan(raw.length);
    });
  }

  it('an empty prefix leaves the Subject alone; English; no Subject at all gets one', async () => {
    const raw = Buffer.from('From: a@example.jp\r\nSubject: hello\r\n\r\nbody\r\n');
    const a = await simpleParser(mark(raw, { subjectPrefix: '', language: 'en' }));
    expect(a.subject).toBe('hello');
    expect(a.text).toBe(`${NOTE_EN}\nbody\n`);
    const none = await simpleParser(mark(Buffer.from('From: a@example.jp\r\n\r\nbody\r\n')));
    expect(none.subject).toBe('【原本】');
    // us-ascii (the default) cannot carry the Japanese line: it gets the English one.
    expect(none.text).toBe(`${NOTE_EN}\nbody\n`);
  });

  it('quoted-printable HTML: the line goes right after <body>, soft-broken, as quoted-printable', async () => {
    const html = '<html><head><title>t</title></head><body style=3D"margin:0"><p>=E6=9C=AC=E6=96=87</p></body></html>';
    const raw = Buffer.from(
      [
        'From: a@example.jp',
        'Subject: x',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '=E6=9C=AC=E6=96=87',
        '--b',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        html,
        '--b--',
        '',
      ].join('\r\n'),
    );
    const out = mark(raw);
    expect(
      out
        .toString('latin1')
        .split('\r\n')
        .every((l) => l.length <= 998),
    ).toBe(true);
    const m = await simpleParser(out);
    expect(m.text).toBe(`${NOTE}\n本文`);
    expect(m.html).toBe(`<html><head><title>t</title></head><body style="margin:0"><div style="border:1px solid #b00;padding:4px;margin:0 0 8px 0">${NOTE}</div>\n<p>本文</p></body></html>`);
  });

  it('a base64 part: the note is base64 of its own, a multiple of 3 bytes, and the original base64 lines follow unchanged', async () => {
    const body = Buffer.from('ご確認ください。\r\n', 'utf8').toString('base64');
    const raw = Buffer.from(`From: a@example.jp\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n`);
    const out = mark(raw);
    expect(out.toString('latin1').endsWith(`\r\n${body}\r\n`)).toBe(true);
    const m = await simpleParser(out);
    expect(m.text).toMatch(new RegExp(`^${NOTE.replace(/[()（）]/g, '\\$&')} *\\nご確認ください。\\n?$`));
  });

  it('a UTF-16 part gets no line (nothing ASCII reads right in it); the header and subject still say it', async () => {
    const raw = Buffer.concat([
      Buffer.from('From: a@example.jp\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-16le\r\nContent-Transfer-Encoding: base64\r\n\r\n'),
      Buffer.from(`${Buffer.from('本文', 'utf16le').toString('base64')}\r\n`),
    ]);
    const m = await simpleParser(mark(raw));
    expect(m.text).toBe('本文');
    expect(m.subject).toBe('【原本】 x');
    expect(m.headers.get('x-mugaika-released-by')).toBe('admin:suzuki');
  });

  it('a text attachment is not the body: only the first text part gets the line', async () => {
    const raw = Buffer.from(
      [
        'From: a@example.jp',
        'Subject: x',
        'Content-Type: multipart/mixed; boundary=m',
        '',
        '--m',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'body',
        '--m',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Disposition: attachment; filename=a.txt',
        '',
        'file',
        '--m--',
        '',
      ].join('\r\n'),
    );
    const m = await simpleParser(mark(raw));
    expect(m.text).toBe(`${NOTE}\nbody`);
    expect(m.attachments.map((a) => a.content.toString())).toEqual(['file']);
  });
});
