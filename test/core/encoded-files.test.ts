// A file encoded in text (uuencode, its base64 form, yEnc, BinHex, a pasted
// base64 MIME part) never crosses: mail clients still decode such blocks into
// attachments. Each is replaced by one line we write, or with the policy
// text.encodedFiles: quarantine the whole message is held.
import { describe, expect, it } from 'vitest';
import { withoutEncodedFiles } from '../../src/core/encoded-files.js';
import { zip } from '../helpers/bytes.js';
import { violations } from '../helpers/conformance.js';
import { beginBase64, binhex, EXE, uudecodeAll, uuencode, yencode } from '../helpers/encoded.js';
import { tnef } from '../helpers/tnef.js';
import { b64, bodyOf, eml, plain, policyWith, run, withAttachments, type Outcome } from '../helpers/run.js';

const HEAD = ['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Subject: s', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'MIME-Version: 1.0'];

const delivered = async (raw: Buffer, policy = policyWith({})): Promise<Outcome> => {
  const o = await run(raw, policy);
  expect(o.result.action).toBe('deliver');
  expect(await violations(o.raw!)).toEqual([]);
  return o;
};

/** None of the block's data lines is anywhere in what was delivered: its bytes, its text, its parts. */
const gone = (o: Outcome, block: string): void => {
  const everything = [o.raw!.toString('latin1'), o.mail!.text ?? '', ...o.mail!.attachments.map((a) => a.content.toString('utf8'))].join('\n');
  const data = block.split('\n').filter((l) => l.length > 8 && !/^[A-Za-z-]+: |^begin|^\(This/.test(l));
  expect(data.length).toBeGreaterThan(2);
  for (const line of data) expect(everything).not.toContain(line);
  expect(uudecodeAll(everything)).toEqual([]);
};

const removedWith = (o: Outcome, detail: string, attachment?: number): void => {
  expect(o.result.findings).toContainEqual(attachment === undefined ? { code: 'encoded-file-removed', detail } : { code: 'encoded-file-removed', detail, attachment });
};

describe('the test encoders write what decoders read', () => {
  it('uuencode round-trips the executable', () => {
    expect(uudecodeAll(`前\n${uuencode(EXE, 'invoice.exe')}\n後`)).toEqual([EXE]);
  });
});

describe('a uuencoded executable', () => {
  const UU = uuencode(EXE, 'invoice.exe');

  it('in a text/plain body is removed, one line saying so in its place, the text around it kept', async () => {
    const o = await delivered(plain(`請求書を送ります。\n\n${UU}\n\nよろしくお願いします。\n`));
    gone(o, UU);
    expect(bodyOf(o)).toBe('請求書を送ります。\n\n[ここにあった埋め込みファイル（invoice.exe）を削除しました]\n\nよろしくお願いします。');
    removedWith(o, 'uuencode invoice.exe');
    expect(o.result.verdict).toBe('sanitized');
    expect(o.mail!.text).toContain('本文に文字の形で埋め込まれていたファイルを削除しました。');
  });

  it('in a .txt attachment is removed', async () => {
    const o = await delivered(withAttachments('添付します', [{ type: 'text/plain; charset=utf-8', filename: 'readme.txt', body: `説明\n${UU}\n` }]));
    gone(o, UU);
    expect(o.mail!.attachments[0]!.content.toString('utf8')).toBe('説明\n[ここにあった埋め込みファイル（invoice.exe）を削除しました]\n');
    removedWith(o, 'uuencode invoice.exe', 1);
    expect(o.mail!.text).toContain('文字の形で埋め込まれていたファイルを削除しました。');
  });

  it('in a CSV, a file in a zip, a winmail.dat body and an HTML <pre> is removed', async () => {
    const o = await delivered(
      withAttachments('添付します', [
        { type: 'text/csv; charset=utf-8', filename: 'a.csv', body: `a,b\n${UU}\n` },
        { type: 'application/zip', filename: 'a.zip', body: await zip([['memo.txt', UU]]) },
        { type: 'application/ms-tnef', filename: 'winmail.dat', body: tnef({ body: `本文\r\n${UU.replace(/\n/g, '\r\n')}`, files: [] }) },
        { type: 'text/html; charset=utf-8', filename: 'a.html', body: `<html><body><pre>${UU.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre></body></html>` },
      ]),
    );
    gone(o, UU);
    expect(o.result.findings.filter((f) => f.code === 'encoded-file-removed').map((f) => f.attachment)).toEqual([1, 3, 4, 5]);
  });

  it('in an attached message is removed', async () => {
    const inner = ['From: a@example.jp', 'Subject: fw', 'Date: Thu, 26 Nov 2026 09:00:00 +0900', '', UU.replace(/\n/g, '\r\n'), ''].join('\r\n');
    const o = await delivered(withAttachments('転送します', [{ type: 'message/rfc822', filename: 'fw.eml', body: inner }]));
    gone(o, UU);
    removedWith(o, 'uuencode invoice.exe', 1);
  });

  it('with policy text.encodedFiles: quarantine, the whole message is held', async () => {
    for (const raw of [plain(`請求書\n${UU}\n`), withAttachments('添付します', [{ type: 'text/plain; charset=utf-8', filename: 'readme.txt', body: UU }])]) {
      const o = await delivered(raw, policyWith({ text: { encodedFiles: 'quarantine' } }));
      expect(o.result.verdict).toBe('blocked');
      expect(o.result.findings[0]).toEqual({ code: 'encoded-file-blocked', detail: 'uuencode invoice.exe' });
      expect(o.result.quarantineId).not.toBeNull();
      expect(o.mail!.attachments).toEqual([]);
      expect(o.mail!.text).toContain('【無害化通知】インターネットから届いたメールです。本文に文字の形で埋め込まれたファイルがあったため、本文と添付ファイルをお届けできません。');
      gone(o, UU);
    }
  });

  it('the line is in English when the policy says so', async () => {
    const o = await delivered(plain(`${UU}\n`), policyWith({ language: 'en' }));
    expect(bodyOf(o)).toBe('[An embedded file (invoice.exe) was removed here]');
  });
});

describe('the other encodings', () => {
  it('begin-base64 (uuencode -m)', async () => {
    const block = beginBase64(EXE, 'setup.exe');
    const o = await delivered(plain(`前\n${block}\n後\n`));
    gone(o, block);
    expect(o.raw!.toString('latin1')).not.toContain(b64(EXE).slice(0, 40));
    expect(bodyOf(o)).toBe('前\n[ここにあった埋め込みファイル（setup.exe）を削除しました]\n後');
    removedWith(o, 'uuencode-base64 setup.exe');
  });

  it('yEnc, in raw 8-bit text', async () => {
    const raw = eml(
      [...HEAD, 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: 8bit'],
      Buffer.concat([Buffer.from('before\r\n'), yencode(EXE, 'invoice.exe'), Buffer.from('after\r\n')]),
    );
    const o = await delivered(raw);
    expect(bodyOf(o)).toBe('before\n[ここにあった埋め込みファイル（invoice.exe）を削除しました]\nafter');
    expect(o.raw!.toString('latin1')).not.toMatch(/=ybegin|=yend/);
    removedWith(o, 'yenc invoice.exe');
  });

  it('BinHex 4.0', async () => {
    const block = binhex(EXE, 'invoice.exe');
    const o = await delivered(plain(`前\n${block}\n後\n`));
    gone(o, block);
    expect(bodyOf(o)).toBe('前\n[ここにあった埋め込みファイルを削除しました]\n後');
    removedWith(o, 'binhex');
  });

  it('a base64 MIME part pasted into the text', async () => {
    const part = [
      'Content-Type: application/octet-stream; name="invoice.exe"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="invoice.exe"',
      '',
      b64(EXE).replace(/\r\n/g, '\n'),
    ].join('\n');
    const o = await delivered(plain(`--b\n${part}\n--b--\n`));
    gone(o, part);
    expect(bodyOf(o)).toBe('--b\n[ここにあった埋め込みファイル（invoice.exe）を削除しました]\n--b--');
    removedWith(o, 'mime-base64 invoice.exe');
  });

  it('a message with two conflicting Content-Type headers delivers no part of the executable', async () => {
    const body = [
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      '請求書です。',
      '--b',
      'Content-Type: application/octet-stream; name="invoice.exe"',
      'Content-Transfer-Encoding: base64',
      '',
      b64(EXE),
      '--b--',
      '',
    ].join('\r\n');
    const types = ['Content-Type: text/plain; charset=utf-8', 'Content-Type: multipart/mixed; boundary="b"'];
    // The parser takes the first: read as text, the part is in the body and is removed there.
    const asText = await delivered(eml([...HEAD, ...types], body));
    gone(asText, b64(EXE).replace(/\r\n/g, '\n'));
    removedWith(asText, 'mime-base64 invoice.exe');
    expect(bodyOf(asText)).toContain('[ここにあった埋め込みファイル（invoice.exe）を削除しました]');
    // Read as multipart, the executable is an attachment, removed as such.
    const asParts = await delivered(eml([...HEAD, ...types.reverse()], body));
    gone(asParts, b64(EXE).replace(/\r\n/g, '\n'));
    // Either way, the two Content-Type headers are themselves a finding (structure.test.ts).
    expect(asParts.codes).toEqual(['mime-ambiguous', 'attachment-removed']);
    expect(asText.codes).toContain('mime-ambiguous');
  });
});

describe('ordinary text stays', () => {
  const PROSE = [
    'begin 10 minutes early, please.',
    'begin 644 is the mode we use\nfor shared files.',
    'begin-base64 is a GNU option\nthat we do not use.',
    'Content-Transfer-Encoding: base64\n\nと書かれた部分は自動で変換されます。',
    '=ybegin は yEnc の開始行です。',
    '(This file must be converted with BinHex 4.0)\n\nという行は古い Mac の形式です。',
    'begin\nend',
  ];
  for (const text of PROSE) {
    it(JSON.stringify(text.slice(0, 30)), async () => {
      expect(withoutEncodedFiles(text, () => 'X')).toEqual({ text, files: [] });
    });
  }

  it('end to end, with no finding', async () => {
    const o = await delivered(plain(`${PROSE.join('\n\n')}\n`));
    expect(o.codes).not.toContain('encoded-file-removed');
    expect(bodyOf(o)).toContain('begin 644 is the mode we use\nfor shared files.');
  });
});

describe('linear in the text', () => {
  it('on lines that each start a block', () => {
    for (const line of ['begin 644 a', 'Content-Transfer-Encoding: base64', '(This file must be converted with BinHex 4.0)', 'M', ':']) {
      const text = `${line}\n`.repeat(100_000);
      const t = performance.now();
      withoutEncodedFiles(text, () => 'X');
      expect(performance.now() - t, line).toBeLessThan(2000);
    }
  });
});
