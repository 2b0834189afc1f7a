// The hostile messages of issue 12, as they were sent, each with the bound it
// broke. Parse and sanitize times are asserted with room for a busy machine:
// each took from 14 s to over a minute before, and takes milliseconds now
// (linear-time.test.ts checks how time grows).
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/core/parse.js';
import { violations } from '../helpers/conformance.js';
import { b64, eml, run, withAttachments } from '../helpers/run.js';

const HEAD = ['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'MIME-Version: 1.0'];

const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
};

describe('issue 12: the hostile messages, each within its bound', () => {
  it('an ESC and 250,000 letters in the Subject and the body: parsed in well under a second (67 s before)', async () => {
    const escs = `\x1b${'a'.repeat(250_000)}`;
    const raw = Buffer.from(`${[...HEAD, `Subject: ${escs}`, 'Content-Type: text/plain; charset=us-ascii'].join('\r\n')}\r\n\r\n${escs}\r\n${escs}\r\n`, 'latin1');
    expect(raw.length).toBeGreaterThan(650_000);
    const parse = await timed(() => parseMessage(raw));
    expect(parse.ms).toBeLessThan(1000);
    expect(parse.value.subject).toContain('aaaa');
    const whole = await timed(() => run(raw));
    expect(whole.ms).toBeLessThan(5000);
    expect(whole.value.result.verdict).toBe('sanitized');
    expect(await violations(whole.value.raw!)).toEqual([]);
  });

  it('a file name of 60,000 characters (14.5 s before)', async () => {
    const name = `\x1b${' .'.repeat(30_000)}請求書.pdf`;
    const raw = withAttachments('添付します。', [{ type: 'application/octet-stream', filename: name, body: 'x' }]);
    const o = await timed(() => run(raw));
    expect(o.ms).toBeLessThan(5000);
    expect(o.value.result.action).toBe('deliver');
  });

  it('150,000 characters of link text (72.7 s before, and delivered past the 60 s limit)', async () => {
    const html = `<p><a href="https://evil.example.net/login">${'a@'.repeat(75_000)}</a></p>`;
    const raw = eml([...HEAD, 'Subject: link', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: base64'], b64(html));
    const o = await timed(() => run(raw));
    expect(o.ms).toBeLessThan(5000);
    expect(o.value.mail!.text).toContain('hxxps://evil[.]example[.]net/login');
  });

  it('250,000 "[" in a body with both a text and an HTML part (46.7 s before)', async () => {
    const brackets = '['.repeat(250_000);
    const raw = eml(
      [...HEAD, 'Subject: brackets', 'Content-Type: multipart/alternative; boundary="b"'],
      `--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${brackets}\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>${brackets}x</p>\r\n--b--\r\n`,
    );
    const o = await timed(() => run(raw));
    expect(o.ms).toBeLessThan(5000);
    expect(o.value.result.verdict).toBe('sanitized');
  });

  it('100,000 nested <div> (17.4 s before): the words inside still cross', async () => {
    const html = `${'<div>'.repeat(100_000)}奥の本文${'</div>'.repeat(100_000)}`;
    const raw = eml([...HEAD, 'Subject: divs', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: base64'], b64(html));
    const o = await timed(() => run(raw));
    expect(o.ms).toBeLessThan(5000);
    expect(o.value.mail!.text).toContain('奥の本文');
  });

  it('an HTML attachment that draws an <svg> in its first KiB is converted as HTML, not removed as a mislabelled SVG', async () => {
    const page = '<!DOCTYPE html>\n<html><body><svg width="10" height="10"><circle r="4"/></svg><p>地図の説明です。</p></body></html>\n';
    const o = await run(withAttachments('地図です。', [{ type: 'text/html; charset=utf-8', filename: '地図.html', body: page }]));
    const codes = o.result.findings.filter((f) => f.attachment === 1).map((f) => f.code);
    expect(codes).toContain('html-attachment-converted');
    expect(codes).not.toContain('type-mismatch');
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['地図.html.txt']);
    expect(o.mail!.attachments[0]!.content.toString('utf8')).toContain('地図の説明です。');
    expect(o.mail!.text).toContain('地図.html（HTML ファイル）');
  });

  it('an SVG file is still an SVG, and removed', async () => {
    const svg = '<?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>\n';
    const o = await run(withAttachments('図です。', [{ type: 'text/html', filename: '図.html', body: svg }]));
    expect(o.result.findings.filter((f) => f.attachment === 1).map((f) => f.code)).toEqual(['type-mismatch', 'attachment-removed']);
    expect(o.mail!.attachments).toEqual([]);
  });
});
