// Attachment names are hostile text. neutraliseName makes one safe to show and
// to deliver, and reports the disguises it removed; deliveredName adds the
// extension of what the attachment now is.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { deliveredName, neutraliseName } from '../../src/core/names.js';
import { violations } from '../helpers/conformance.js';
import { run, withAttachments } from '../helpers/run.js';

const FALLBACK = 'attachment-3';

describe('neutraliseName', () => {
  it('removes a right-to-left override: report\\u202Efdp.exe is shown as reportfdp.exe', () => {
    const s = neutraliseName('report\u202Efdp.exe', FALLBACK);
    // What it shows a reader: report\u202Efdp.exe reads reportexe.pdf.
    expect(s).toEqual({ name: 'reportfdp.exe', ext: 'exe', claimedExt: 'pdf', findings: ['name-bidi-control'] });
  });

  it('removes every bidi control and invisible character, and reports it', () => {
    for (const ch of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200B', '\u200E', '\u200F', '\u061C', '\uFEFF']) {
      const s = neutraliseName(`議事録${ch}fdp.scr`, FALLBACK);
      expect(s.name, `U+${ch.codePointAt(0)!.toString(16)}`).toBe('議事録fdp.scr');
      expect(s.findings).toEqual(['name-bidi-control']);
      expect(s.ext).toBe('scr');
    }
  });

  it('reports bidi controls in every one of several names (no state kept between calls)', () => {
    const names = ['a\u202Etxt.exe', 'b\u202Etxt.exe', 'c\u202Etxt.exe'];
    expect(names.map((n) => neutraliseName(n, FALLBACK).findings)).toEqual([['name-bidi-control'], ['name-bidi-control'], ['name-bidi-control']]);
  });

  it('keeps only the base name of a path, and reports the path', () => {
    expect(neutraliseName('..\\..\\Windows\\evil.txt', FALLBACK)).toEqual({ name: 'evil.txt', ext: 'txt', claimedExt: null, findings: ['name-path'] });
    expect(neutraliseName('/etc/passwd', FALLBACK)).toEqual({ name: 'passwd', ext: null, claimedExt: null, findings: ['name-path'] });
    expect(neutraliseName('C:\\Users\\tanaka\\Desktop\\地図.png', FALLBACK)).toEqual({ name: '地図.png', ext: 'png', claimedExt: null, findings: ['name-path'] });
    expect(neutraliseName('../../.ssh/authorized_keys', FALLBACK)).toMatchObject({ name: 'authorized_keys', findings: ['name-path'] });
  });

  it('falls back when nothing is left of a path', () => {
    expect(neutraliseName('folder/', FALLBACK)).toEqual({ name: FALLBACK, ext: null, claimedExt: null, findings: ['name-path'] });
    expect(neutraliseName('..\\..', FALLBACK)).toMatchObject({ name: FALLBACK, findings: ['name-path'] });
  });

  it('reports a familiar extension hidden before the real one', () => {
    for (const n of ['請求書.pdf.exe', 'invoice.PDF.EXE', 'photo.jpg.scr', '見積書.xlsx.js', 'report.doc .exe', 'report.pdf\u3000.exe', 'a.txt.lnk']) {
      expect(neutraliseName(n, FALLBACK).findings, n).toEqual(['name-double-extension']);
    }
    expect(neutraliseName('請求書.pdf.exe', FALLBACK)).toEqual({ name: '請求書.pdf.exe', ext: 'exe', claimedExt: 'pdf', findings: ['name-double-extension'] });
  });

  it('does not report ordinary names with several dots', () => {
    for (const n of ['archive.tar.gz', 'report.pdf', 'v1.2.3.txt', 'doc.pdf.pdf', '2026.04.14.csv', 'a..exe', '令和8年度.予算.xlsx']) {
      expect(neutraliseName(n, FALLBACK).findings, n).toEqual([]);
    }
  });

  it('reports the padding disguise 請求書.pdf<many spaces>.exe even though the name is truncated', () => {
    const s = neutraliseName(`請求書.pdf${' '.repeat(200)}.exe`, FALLBACK);
    expect(s.findings).toEqual(['name-double-extension']);
    expect(s.ext).toBe('exe');
    expect(s.name.endsWith('.exe')).toBe(true);
    expect([...s.name].length).toBeLessThanOrEqual(150);
  });

  it('reports a hidden extension that truncation would cut away', () => {
    const s = neutraliseName(`${'a'.repeat(1000)}.pdf.exe`, FALLBACK);
    expect(s.findings).toEqual(['name-double-extension']);
    expect(s.ext).toBe('exe');
  });

  it("finds the last extension, lowercased, including Windows' hyphenated ones", () => {
    expect(neutraliseName('Photo.JPG', FALLBACK).ext).toBe('jpg');
    expect(neutraliseName('archive.tar.gz', FALLBACK).ext).toBe('gz');
    expect(neutraliseName('README', FALLBACK).ext).toBeNull();
    expect(neutraliseName('evil.SettingContent-ms', FALLBACK).ext).toBe('settingcontent-ms');
    expect(neutraliseName('app.appref-ms', FALLBACK).ext).toBe('appref-ms');
    expect(neutraliseName('q.search-ms', FALLBACK).ext).toBe('search-ms');
    expect(neutraliseName('a.-', FALLBACK).ext).toBeNull();
  });

  it('falls back for a missing, empty or dots-only name', () => {
    for (const n of [null, '', '   ', '...', ' . . ', '\u202E']) {
      const s = neutraliseName(n, FALLBACK);
      expect(s.name, JSON.stringify(n)).toBe(FALLBACK);
      expect(s.ext).toBeNull();
    }
    expect(neutraliseName(null, FALLBACK).findings).toEqual([]);
  });

  it('truncates a 1000-character name to 150 characters, keeping the extension', () => {
    const s = neutraliseName(`${'あ'.repeat(1000)}.xlsx`, FALLBACK);
    expect([...s.name]).toHaveLength(150);
    expect(s.name.endsWith('….xlsx')).toBe(true);
    expect(s.name.startsWith('あああ')).toBe(true);
    expect(s.ext).toBe('xlsx');

    const ascii = neutraliseName('b'.repeat(1000), FALLBACK);
    expect([...ascii.name]).toHaveLength(150);
    expect(ascii.name.endsWith('…')).toBe(true);
    expect(ascii.ext).toBeNull();
  });

  it('truncates by characters, never splitting a surrogate pair', () => {
    const s = neutraliseName(`${'😀'.repeat(400)}.png`, FALLBACK);
    expect([...s.name]).toHaveLength(150);
    expect(s.name).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(s.ext).toBe('png');
  });

  it('replaces the characters Windows reserves', () => {
    expect(neutraliseName('a<b>c:d"e|f?g*h.txt', FALLBACK)).toEqual({ name: 'a_b_c_d_e_f_g_h.txt', ext: 'txt', claimedExt: null, findings: [] });
    // An NTFS alternate data stream is no longer one.
    expect(neutraliseName('report.txt:evil.exe', FALLBACK).name).toBe('report.txt_evil.exe');
  });

  it('removes control characters: no C0 control, TAB or line break is left in a name', () => {
    for (const n of ['a\tb.txt', 'a\nb.txt', 'a\r\nb.txt', 'a\u0000b.txt', 'a\u001bb.txt', 'a\u007fb.txt', 'a\u0085b.txt']) {
      const s = neutraliseName(n, FALLBACK);
      expect(s.name, JSON.stringify(n)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(s.ext).toBe('txt');
    }
  });

  it('trims the spaces and dots that Windows drops from the end of a name', () => {
    expect(neutraliseName('evil.exe. . ', FALLBACK)).toMatchObject({ name: 'evil.exe', ext: 'exe' });
    expect(neutraliseName('  .hidden.txt', FALLBACK)).toMatchObject({ name: 'hidden.txt', ext: 'txt' });
  });

  it('reports each disguise once, in a fixed order', () => {
    expect(neutraliseName('C:\\tmp\\請求書.pdf\u202E.exe', FALLBACK)).toEqual({
      name: '請求書.pdf.exe',
      ext: 'exe',
      claimedExt: 'pdf',
      findings: ['name-bidi-control', 'name-path', 'name-double-extension'],
    });
  });
});

describe('deliveredName', () => {
  const d = (n: string | null, ext: 'jpg' | 'png' | 'txt' | 'pdf'): string => deliveredName(neutraliseName(n, FALLBACK), ext);

  it('keeps a name that already has the new extension', () => {
    expect(d('photo.jpg', 'jpg')).toBe('photo.jpg');
    expect(d('photo.JPEG', 'jpg')).toBe('photo.JPEG');
    expect(d('photo.jpe', 'jpg')).toBe('photo.jpe');
    expect(d('地図.png', 'png')).toBe('地図.png');
    expect(d('メモ.txt', 'txt')).toBe('メモ.txt');
  });

  it('adds the new extension to any other name', () => {
    expect(d('写真.bmp', 'png')).toBe('写真.bmp.png');
    expect(d('名簿.csv', 'txt')).toBe('名簿.csv.txt');
    expect(d('photo.png', 'jpg')).toBe('photo.png.jpg');
    expect(d('report.pdf', 'png')).toBe('report.pdf.png');
    expect(d('README', 'txt')).toBe('README.txt');
    expect(d(null, 'png')).toBe(`${FALLBACK}.png`);
  });

  it('adds the extension again when a familiar one hides before it', () => {
    expect(d('doc.pdf.png', 'png')).toBe('doc.pdf.png.png');
    expect(d('doc.pdf.txt', 'txt')).toBe('doc.pdf.txt.txt');
  });

  it('uses the neutralised name, never the raw one', () => {
    expect(d('..\\evil\u202Egnp.txt', 'txt')).toBe('evilgnp.txt');
  });
});

describe('names in a delivered message', () => {
  it('shows and delivers only neutralised names', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    const o = await run(
      withAttachments('添付します。', [
        { type: 'image/png', filename: 'report\u202Egnp.png', body: png },
        { type: 'text/plain; charset=utf-8', filename: '..\\..\\Windows\\evil.txt', body: 'x\n' },
        { type: 'image/png', filename: 'a<b>:c.png', body: png },
        { type: 'application/octet-stream', filename: '請求書\u202Efdp.exe', body: 'MZ' + '\0'.repeat(100) },
      ]),
    );
    expect(o.result.action).toBe('deliver');
    expect(await violations(o.raw!)).toEqual([]);
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['reportgnp.png', 'evil.txt', 'a_b__c.png']);
    const codes = (i: number) => o.result.findings.filter((f) => f.attachment === i).map((f) => f.code);
    expect(codes(1)).toContain('name-bidi-control');
    expect(codes(2)).toContain('name-path');
    expect(codes(4)).toContain('name-bidi-control');
    // Nothing the recipient sees carries a bidi control or a path.
    const seen = [o.mail!.text ?? '', o.mail!.subject ?? '', ...o.mail!.attachments.map((a) => a.filename ?? '')].join('\n');
    expect(seen).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
    expect(seen).not.toMatch(/Windows\\/);
    expect(o.mail!.text).toContain('請求書fdp.exe');
  });

  it('delivers a long Japanese name truncated, with the new extension, in a conformant header', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    const o = await run(withAttachments('添付します。', [{ type: 'image/bmp', filename: `${'長い名前'.repeat(250)}.png`, body: png }]));
    expect(await violations(o.raw!)).toEqual([]);
    const name = o.mail!.attachments[0]!.filename!;
    expect([...name]).toHaveLength(150);
    expect(name.endsWith('….png')).toBe(true);
  });
});
