// The body's own text passes (how alike the text and HTML versions are) take
// time linear in the body, whatever brackets it is made of.
import { describe, expect, it } from 'vitest';
import { similarity } from '../../src/core/body.js';
import { b64, eml, run } from '../helpers/run.js';

const alternative = (text: string, html: string): Buffer =>
  eml(
    ['From: a@example.jp', 'To: b@city.example.lg.jp', 'Subject: s', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="alt"'],
    [
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
    ].join('\r\n'),
  );

describe('similarity of the text and HTML versions', () => {
  it('ignores URLs and bracketed labels, as before', () => {
    expect(similarity('詳しくは県のページ https://www.pref.example.jp/ をご覧ください。', '詳しくは県のページ [hxxps://www[.]pref[.]example[.]jp/] をご覧ください。')).toBe(1);
    expect(similarity('会場の写真です', '[画像: 会場の写真] 会場の写真です')).toBe(1);
    expect(similarity('振込先を変更しました', '特にお知らせはありません')).toBeLessThan(0.2);
  });

  it('a text version of 250,000 "[" is compared in linear time (it took 46.7 s)', async () => {
    for (const junk of ['['.repeat(250_000), '[画像: '.repeat(50_000), '[image: '.repeat(40_000)]) {
      const t = performance.now();
      const o = await run(alternative(junk, '<p>お知らせです。</p>'));
      expect(performance.now() - t).toBeLessThan(5000);
      expect(o.codes).toEqual(expect.arrayContaining(['html-converted', 'alternative-mismatch']));
      expect(o.mail!.text).toContain('お知らせです。');
    }
  });
});
