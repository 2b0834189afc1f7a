// Links never cross clickable: one pass over every piece of text we deliver
// (body, text made from HTML, calendars, text and CSV attachments, zip and
// winmail.dat members, names in the notice) makes every spelling a browser,
// Windows or a mail client would open inert, and leaves ordinary text alone.
import { describe, expect, it } from 'vitest';
import { defangText, defangUrl, hostNamedIn } from '../../src/core/defang.js';
import { zip } from '../helpers/bytes.js';
import { violations } from '../helpers/conformance.js';
import { tnef } from '../helpers/tnef.js';
import { bodyOf, eml, plain, run, withAttachments, type Outcome } from '../helpers/run.js';

// input -> what crosses. Every row is also checked by inert() below.
const HOSTILE: Array<[string, string]> = [
  ['https://evil.example/x', 'hxxps://evil[.]example/x'],
  ['HTTP://EVIL.EXAMPLE/x', 'hxxp://EVIL[.]EXAMPLE/x'],
  ['ftp://evil.example/x', 'fxp://evil[.]example/x'],
  // Glued to a letter, digit or underscore (\b missed these).
  ['_https://evil.example/x', '_hxxps://evil[.]example/x'],
  ['xhttps://evil.example/x', 'xhxxps://evil[.]example/x'],
  ['1https://evil.example/x', '1hxxps://evil[.]example/x'],
  ['見てhttps://evil.example/x', '見てhxxps://evil[.]example/x'],
  // Slashes a browser forgives.
  ['https:\\\\evil.example/x', 'hxxps:[\\\\]evil[.]example/x'],
  ['https:/\\evil.example/x', 'hxxps:/\\evil[.]example/x'],
  ['https:evil.example/x', 'hxxps:evil[.]example/x'],
  ['https:/evil.example/x', 'hxxps:/evil[.]example/x'],
  ['https:///evil.example', 'hxxps:///evil[.]example'],
  ['https://user.name:pw@evil.example:8443/a.b?c=d.e', 'hxxps://user[.]name:pw@evil[.]example:8443/a.b?c=d.e'],
  // Other schemes keep their name, with the colon broken.
  ['file:///C:/Windows/system32/calc.exe', 'file[:]///C:/Windows/system32/calc.exe'],
  ['file://evil.example/share/a.lnk', 'file[:]//evil[.]example/share/a.lnk'],
  ['file:\\\\evil.example\\share', 'file[:][\\\\]evil[.]example\\share'],
  ['smb://evil.example/share', 'smb[:]//evil[.]example/share'],
  ['ms-msdt:/id PCWDiagnostic /skip force', 'ms-msdt[:]/id PCWDiagnostic /skip force'],
  ['search-ms:query=invoice&crumb=location:\\\\evil.example\\share', 'search-ms[:]query=invoice&crumb=location[:][\\\\]evil[.]example\\share'],
  ['vbscript:Execute("x")', 'vbscript[:]Execute("x")'],
  ['javascript:alert(1)', 'javascript[:]alert(1)'],
  ['JavaScript:alert(document.cookie)', 'JavaScript[:]alert(document[.]cookie)'],
  ['telnet:evil.example', 'telnet[:]evil[.]example'],
  ['news:comp.lang.javascript', 'news[:]comp[.]lang[.]javascript'],
  ['ms-word:ofe|u|https://evil.example/a.docx', 'ms-word[:]ofe|u|hxxps://evil[.]example/a.docx'],
  ['ms-officecmd:{"id":3}', 'ms-officecmd[:]{"id":3}'],
  ['ms-settings:display', 'ms-settings[:]display'],
  ['ms-appinstaller:?source=https://evil.example/a.appinstaller', 'ms-appinstaller[:]?source=hxxps://evil[.]example/a.appinstaller'],
  ['data:text/html;base64,PHNjcmlwdD4=', 'data[:]text/html;base64,PHNjcmlwdD4='],
  ['webcal://evil.example/c.ics', 'webcal[:]//evil[.]example/c.ics'],
  ['zoommtg://evil.example/join', 'zoommtg[:]//evil[.]example/join'],
  // Any scheme followed by slashes is a link, known or not.
  ['made-up+scheme://evil.example/x', 'made-up+scheme[:]//evil[.]example/x'],
  // UNC paths, which Windows opens over SMB (and sends the user's hash to).
  ['\\\\evil.example\\share\\a.exe', '[\\\\]evil[.]example\\share\\a.exe'],
  ['\\\\evil\\share', '[\\\\]evil\\share'],
  ['\\\\203.0.113.5/share', '[\\\\]203[.]0[.]113[.]5/share'],
  ['\\\\evil.example', '[\\\\]evil[.]example'],
  ['\\\\\\\\evil\\share', '[\\\\\\\\]evil\\share'],
  ['共有は\\\\evil.example\\share', '共有は[\\\\]evil[.]example\\share'],
  // www. and ftp. hosts, glued or not.
  ['www.evil.example', 'www[.]evil[.]example'],
  ['xwww.evil.example/path', 'xwww[.]evil[.]example/path'],
  ['ftp.evil.example', 'ftp[.]evil[.]example'],
  ['（www.evil.example）', '（www[.]evil[.]example）'],
  // A link hidden in another link's query is made inert too.
  ['https://a.example/r?u=https://evil.example/x', 'hxxps://a[.]example/r?u=hxxps://evil[.]example/x'],
  // Our own form with its dots not yet bracketed.
  ['hxxps://evil.example/x', 'hxxps://evil[.]example/x'],
];

const HARMLESS = [
  'TEL:03-1234-5678',
  'tel:0312345678',
  '10:30〜11:30',
  '注意: 明日は休みです',
  'News: 今日は晴れ',
  'Re:Re: ご連絡',
  'C:\\Users\\a\\Desktop',
  'C:\\\\Users\\\\a',
  'D:/資料/一覧.xlsx',
  'mailto:a@b.example.jp',
  'info@www.example.jp',
  'hxxps://www[.]example[.]jp/x',
  'javascript[:]alert(1)',
  'file[:]///C:/x',
  '[\\\\]evil[.]example\\share',
  'https://',
  'ver.1.2 の www.example と 1.5:1',
  '比率 16:9、場所:会議室A',
];

/** Nothing in `s` a client could open: no live scheme, no UNC path, no unbracketed host dot. */
const inert = (s: string): void => {
  expect(s).not.toMatch(/(?:https?|ftp):/i);
  expect(s).not.toMatch(/(?:file|smb|javascript|vbscript|ms-[a-z]+|search-ms|telnet|news|data|webcal|zoommtg|scheme):/i);
  expect(s).not.toMatch(/\\\\[^\\\]]/);
  expect(s).not.toMatch(/evil\.example|\d\.\d+\.\d/);
};

describe('defangText', () => {
  for (const [input, output] of HOSTILE) {
    it(`makes ${JSON.stringify(input)} inert`, () => {
      const d = defangText(input);
      expect(d.text).toBe(output);
      inert(d.text);
      expect(d.count).toBeGreaterThan(0);
      // Running it again changes nothing.
      expect(defangText(d.text).text).toBe(d.text);
    });
  }

  for (const text of HARMLESS) {
    it(`leaves ${JSON.stringify(text)} alone`, () => {
      expect(defangText(text).text).toBe(text);
    });
  }

  it('counts links already shown inert (the HTML converter writes them), not ordinary text', () => {
    expect(defangText('a [hxxps://example[.]jp/] b www[.]x[.]jp').count).toBe(1);
    expect(defangText(HARMLESS.filter((h) => !h.startsWith('hxxps')).join('\n')).count).toBe(0);
  });

  it('defangUrl is the same rewrite', () => {
    expect(defangUrl(' https:\\\\evil.example/x ')).toBe('hxxps:[\\\\]evil[.]example/x');
    expect(defangUrl('mailto:x@example.jp')).toBe('mailto:x@example.jp');
  });

  it('is linear on hostile text', () => {
    for (const unit of [':', 'a:', 'https:', 'ms-word:x|', '\\\\a', 'a:\\\\x', '[\\\\', 'www.', 'x'.repeat(39) + ':', 'ab:/', '.-']) {
      const text = unit.repeat(Math.ceil(400_000 / unit.length));
      const t = performance.now();
      defangText(text);
      expect(performance.now() - t, unit).toBeLessThan(2000);
    }
  });
});

describe('hostNamedIn', () => {
  it('reads the host a link text names', () => {
    expect(hostNamedIn('https://www.city.example.lg.jp/login')).toBe('www.city.example.lg.jp');
    expect(hostNamedIn('詳しくは www.Example.jp へ')).toBe('www.example.jp');
    expect(hostNamedIn('https://user.name:pw@evil.example/')).toBe('evil.example');
    expect(hostNamedIn('bank.example.jp:8443/login')).toBe('bank.example.jp');
    expect(hostNamedIn('example.co.jp.')).toBe('example.co.jp');
    expect(hostNamedIn('こちらをクリック')).toBeNull();
    expect(hostNamedIn('v1.2.3')).toBeNull();
  });

  it('takes linear time on 150,000 characters of link text (it took 72.7 s)', () => {
    for (const text of ['a'.repeat(150_000), 'a.'.repeat(75_000), ' a@'.repeat(50_000), 'ab:'.repeat(50_000)]) {
      const t = performance.now();
      hostNamedIn(text);
      expect(performance.now() - t).toBeLessThan(500);
    }
  });
});

describe('every piece of text we deliver has its links inert', () => {
  const LINKS = 'https:\\\\evil.example/a _https://evil.example/b \\\\evil.example\\share file:///C:/x ms-msdt:/id PCWDiagnostic xwww.evil.example';
  const clean = (o: Outcome, text: string): void => {
    inert(text);
    expect(text).toContain('hxxps:[\\\\]evil[.]example/a');
    expect(text).toContain('ms-msdt[:]/id');
  };
  const delivered = async (raw: Buffer): Promise<Outcome> => {
    const o = await run(raw);
    expect(o.result.action).toBe('deliver');
    expect(await violations(o.raw!)).toEqual([]);
    inert(o.mail!.text!);
    return o;
  };
  const attachmentText = (o: Outcome, name: string): string => {
    const a = o.mail!.attachments.find((x) => x.filename === name);
    expect(a, name).toBeDefined();
    return a!.content.toString('utf8');
  };
  const codes = (o: Outcome, attachment?: number): string[] => o.result.findings.filter((f) => f.attachment === attachment).map((f) => f.code);

  it('the body', async () => {
    const o = await delivered(plain(`ご確認ください。\n${LINKS}\n`));
    clean(o, bodyOf(o));
    expect(o.result.findings).toContainEqual({ code: 'link-defanged', detail: '6' });
  });

  it('an HTML body', async () => {
    const html = `<html><body><p>${LINKS.replace(/\\/g, '&#92;')}</p><a href="https:\\\\evil.example/c">ここ</a></body></html>`;
    const o = await delivered(eml(['From: a@example.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: text/html; charset=utf-8'], html));
    clean(o, bodyOf(o));
    expect(bodyOf(o)).toContain('ここ [hxxps:[\\\\]evil[.]example/c]');
    expect(codes(o)).toContain('link-defanged');
  });

  it('a calendar', async () => {
    const ics = `BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:会議\r\nLOCATION:${LINKS.replace(/\\/g, '\\\\')}\r\nURL:https:evil.example/join\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
    const o = await delivered(withAttachments('招待です', [{ type: 'text/calendar', filename: 'invite.ics', body: ics }]));
    clean(o, o.mail!.text!);
    expect(o.mail!.text).toContain('hxxps:evil[.]example/join');
    expect(codes(o, 1)).toEqual(['calendar-as-text', 'link-defanged']);
  });

  it('a .txt attachment', async () => {
    const o = await delivered(withAttachments('添付します', [{ type: 'text/plain; charset=utf-8', filename: 'memo.txt', body: `メモ\n${LINKS}\n` }]));
    clean(o, attachmentText(o, 'memo.txt'));
    expect(codes(o, 1)).toEqual(['text-reencoded', 'link-defanged']);
  });

  it('a CSV attachment, cell by cell', async () => {
    const csv = `名前,URL\n案内,"${LINKS}"\n資料,https://evil.example/a.xlsx\n`;
    const o = await delivered(withAttachments('添付します', [{ type: 'text/csv; charset=utf-8', filename: 'list.csv', body: csv }]));
    const text = attachmentText(o, 'list.csv');
    clean(o, text);
    expect(text).toContain('資料,hxxps://evil[.]example/a.xlsx\r\n');
    expect(codes(o, 1)).toEqual(['text-reencoded', 'link-defanged']);
  });

  it('a file in a zip, and the names the notice lists', async () => {
    const z = await zip([
      ['readme.txt', LINKS],
      ['www.evil.example.txt', 'x'],
    ]);
    const o = await delivered(withAttachments('添付します', [{ type: 'application/zip', filename: 'ftp.evil.example.zip', body: z }]));
    clean(o, attachmentText(o, 'readme.txt'));
    expect(codes(o, 2)).toEqual(['text-reencoded', 'link-defanged']);
    expect(o.mail!.text).toContain('1. ftp[.]evil[.]example[.]zip（');
    expect(o.mail!.text).toContain('「www[.]evil[.]example[.]txt」として添付しました');
  });

  it('a file in a winmail.dat', async () => {
    const dat = tnef({ files: [{ title: 'memo.txt', data: Buffer.from(LINKS) }] });
    const o = await delivered(withAttachments('添付します', [{ type: 'application/ms-tnef', filename: 'winmail.dat', body: dat }]));
    clean(o, attachmentText(o, 'memo.txt'));
    expect(codes(o, 2)).toEqual(['text-reencoded', 'link-defanged']);
  });
});
