// Attached messages, winmail.dat, calendar invitations and HTML files: each
// is opened or converted by the body's rules and what it carries sanitized
// like any attachment; nothing of the original bytes crosses.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { tnef } from '../helpers/tnef.js';
import { b64, eml, policyWith, run, withAttachments, type Outcome } from '../helpers/run.js';
import type { Policy } from '../../src/core/policy.js';

async function check(raw: Buffer, policy?: Policy): Promise<Outcome> {
  const o = await run(raw, policy);
  expect(o.result.action).toBe('deliver');
  expect(await violations(o.raw!)).toEqual([]);
  return o;
}
const files = (o: Outcome): string[] => o.mail!.attachments.map((a) => `${a.filename} ${a.contentType}`);
const textOf = (o: Outcome, i: number): string => o.mail!.attachments[i]!.content.toString('utf8');
const codesAt = (o: Outcome, i: number): string[] => o.result.findings.filter((f) => f.attachment === i).map((f) => f.code);

const inner = (body: string, headers: string[] = []): string =>
  [
    'From: =?UTF-8?B?' + Buffer.from('県 担当').toString('base64') + '?= <a@pref.example.jp>',
    'To: b@example.jp',
    'Subject: =?UTF-8?B?' + Buffer.from('元の件名').toString('base64') + '?=',
    'Date: Thu, 26 Nov 2026 09:00:00 +0900',
    'MIME-Version: 1.0',
    ...headers,
    '',
    body,
  ].join('\r\n');

const forward = (message: string, disposition = 'Content-Disposition: attachment; filename="original.eml"'): Buffer =>
  eml(
    ['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Subject: fwd', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b1"'],
    ['--b1', 'Content-Type: text/plain; charset=utf-8', '', '転送します。', '--b1', 'Content-Type: message/rfc822', disposition, '', message, '--b1--', ''].join('\r\n'),
  );

describe('an attached message is sanitized recursively', () => {
  it('crosses as text (decoded headers, HTML made text, links inert), never raw', async () => {
    const o = await check(
      forward(
        inner('<html><body><p>ログインしてください</p><a href="https://evil.example.net/">https://bank.example.jp/</a><script>x()</script></body></html>', ['Content-Type: text/html; charset=utf-8']),
      ),
    );
    expect(codesAt(o, 1)).toEqual(expect.arrayContaining(['message-sanitized', 'html-converted', 'active-content-removed', 'link-text-mismatch']));
    expect(files(o)).toEqual(['original.eml.txt text/plain']);
    const t = textOf(o, 0);
    expect(t).toContain('差出人: 県 担当 <a@pref.example.jp>');
    expect(t).toContain('件名: 元の件名');
    // Its date in Japan time, as people write it.
    expect(t).toContain('日時: 2026年11月26日 09:00');
    expect(t).toContain('ログインしてください');
    expect(t).toContain('hxxps://evil[.]example[.]net/');
    expect(o.raw!.toString('latin1')).not.toMatch(/evil\.example\.net|<script/);
  });

  it('an attached message without a name becomes 転送メッセージ.txt, and its attachments are sanitized', async () => {
    const png = await sharp({ create: { width: 6, height: 6, channels: 3, background: '#a00' } })
      .png()
      .toBuffer();
    const body = [
      'Content-Type: multipart/mixed; boundary="i1"',
      '',
      '--i1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      '内側の本文',
      '--i1',
      'Content-Type: image/png',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="map.png"',
      '',
      b64(png),
      '--i1--',
      '',
    ].join('\r\n');
    const o = await check(forward(inner(body.split('\r\n').slice(2).join('\r\n'), [body.split('\r\n')[0]!]), 'Content-Disposition: attachment'));
    expect(files(o)).toEqual(['転送メッセージ.txt text/plain', 'map.png image/png']);
    expect(codesAt(o, 2)).toEqual(['image-reencoded']);
    expect(o.mail!.text).toContain('2. map.png（1. の中');
  });

  it('messages nested beyond limits.maxMimeDepth get a verdict, not an exception', async () => {
    let m = inner('一番内側');
    for (let i = 0; i < 6; i++) {
      m = inner(['--n', 'Content-Type: text/plain', '', `level ${i}`, '--n', 'Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64', '', b64(m), '--n--', ''].join('\r\n'), [
        'Content-Type: multipart/mixed; boundary="n"',
      ]);
    }
    const o = await check(forward(m), policyWith({ limits: { maxMimeDepth: 3 } }));
    expect(o.codes).toContain('nesting-too-deep');
    expect(o.mail!.text).toContain('（メールの中のメールなど）が深すぎるため、削除しました。');
  });
});

describe('winmail.dat (TNEF) is opened', () => {
  it('its files are sanitized like attachments, Japanese names read as CP932, its body as text', async () => {
    const dat = tnef({
      body: 'TNEFの本文 https://example.jp/x',
      files: [
        { title: '議事録.txt', data: Buffer.from('議事録です') },
        { title: 'SETUP~1.EXE', longName: 'setup.exe', data: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(64)]) },
      ],
    });
    const o = await check(withAttachments('添付します', [{ type: 'application/ms-tnef', filename: 'winmail.dat', body: dat }]));
    expect(codesAt(o, 1)).toEqual(expect.arrayContaining(['tnef-opened', 'link-defanged']));
    expect(codesAt(o, 2)).toEqual(['text-reencoded']);
    expect(codesAt(o, 3)).toEqual(['attachment-removed']);
    expect(files(o)).toEqual(['winmail.dat.txt text/plain', '議事録.txt text/plain']);
    expect(textOf(o, 0)).toContain('hxxps://example[.]jp/x');
    expect(o.mail!.text).toContain('3. setup.exe（1. の中');
  });

  it('a truncated TNEF is removed', async () => {
    const dat = tnef({ files: [{ title: 'a.txt', data: Buffer.from('x'.repeat(100)) }] });
    const o = await check(withAttachments('添付します', [{ type: 'application/ms-tnef', filename: 'winmail.dat', body: dat.subarray(0, dat.length - 40) }]));
    expect(codesAt(o, 1)).toEqual(['tnef-corrupt']);
    expect(files(o)).toEqual([]);
  });
});

describe('calendars and HTML files become text', () => {
  it('an invitation is shown in the body, its link inert, and the .ics removed', async () => {
    const ics =
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:防災訓練\\, 第1回\r\nDTSTART;TZID=Asia/Tokyo:20260522T100000\r\nDTEND;TZID=Asia/Tokyo:20260522T120000\r\nLOCATION:県庁 3階\r\nORGANIZER;CN=危機管理課:mailto:kiki@pref.example.jp\r\nDESCRIPTION:参加は https://meet.example.com/j/1\\n資料は後日\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    const o = await check(withAttachments('会議のご案内', [{ type: 'text/calendar; method=REQUEST', filename: 'invite.ics', body: ics }]));
    expect(codesAt(o, 1)).toEqual(['calendar-as-text', 'link-defanged']);
    expect(files(o)).toEqual([]);
    for (const line of [
      '■ 予定表（invite.ics）',
      '件名: 防災訓練, 第1回',
      '開始: 2026年5月22日 10:00',
      '場所: 県庁 3階',
      '主催者: 危機管理課 <kiki@pref.example.jp>',
      'hxxps://meet[.]example[.]com/j/1',
    ]) {
      expect(o.mail!.text).toContain(line);
    }
  });

  it('event times are in Japan time: UTC converted, a Japanese zone as it is, another zone named', async () => {
    const ics =
      'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:オンライン説明会\r\nDTSTART:20260522T010000Z\r\nDTEND;TZID="Tokyo Standard Time":20260522T120000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:海外拠点との会議\r\nDTSTART;TZID=America/New_York:20260522T200000\r\nDTEND;VALUE=DATE:20260523\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    const o = await check(withAttachments('日程です', [{ type: 'text/calendar', filename: 'a.ics', body: ics }]));
    for (const line of ['開始: 2026年5月22日 10:00', '終了: 2026年5月22日 12:00', '開始: 2026年5月22日 20:00（America/New_York）', '終了: 2026年5月23日']) expect(o.mail!.text).toContain(line);
    const en = await check(withAttachments('schedule', [{ type: 'text/calendar', filename: 'a.ics', body: ics }]), policyWith({ language: 'en' }));
    for (const line of ['Start: 2026-05-22 10:00 JST', 'End: 2026-05-22 12:00 JST', 'Start: 2026-05-22 20:00 (America/New_York)', 'End: 2026-05-23']) expect(en.mail!.text).toContain(line);
  });

  it('an HTML file crosses as text made by the body rules', async () => {
    const html =
      '<!DOCTYPE html><html><body><h1>お知らせ</h1><a href="https://evil.example.net/">https://city.example.lg.jp/</a><script>alert(1)</script><img src="https://t.example.com/p.gif"></body></html>';
    const o = await check(withAttachments('資料', [{ type: 'text/html; charset=utf-8', filename: 'お知らせ.html', body: html }]));
    expect(codesAt(o, 1)).toEqual(expect.arrayContaining(['html-attachment-converted', 'active-content-removed', 'remote-image-removed', 'link-text-mismatch']));
    expect(files(o)).toEqual(['お知らせ.html.txt text/plain']);
    expect(textOf(o, 0)).toContain('お知らせ');
    expect(textOf(o, 0)).not.toMatch(/<script|evil\.example\.net/);
  });
});
