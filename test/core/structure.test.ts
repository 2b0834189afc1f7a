// Ambiguous structure: a structural header or Content-Type parameter given
// twice lets two readers see two different messages. The first occurrence
// counts (it is what mailsplit and mailparser read); the duplicate is a
// finding, so the original is quarantined and the recipient is told.
import { describe, expect, it } from 'vitest';
import { duplicateParameters } from '../../src/core/ambiguity.js';
import { violations } from '../helpers/conformance.js';
import { b64, bodyOf, eml, run, withAttachments, type Outcome } from '../helpers/run.js';

const HEAD = ['From: sender@example.jp', 'To: staff@city.example.lg.jp', 'Subject: ambiguous', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Message-ID: <amb@example.jp>', 'MIME-Version: 1.0'];
const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);

/**
 * Parts under boundary B (a text and an executable) inside the only part under
 * boundary A: read by A, the B parts are text of one body part; read by B,
 * they are a text and an attachment.
 */
const twoReadings = [
  '--A',
  'Content-Type: text/plain; charset=utf-8',
  '',
  '厳密な読み方の本文です。',
  '--B',
  'Content-Type: text/plain; charset=utf-8',
  '',
  '別の読み方の本文です。',
  '--B',
  'Content-Type: application/octet-stream',
  'Content-Disposition: attachment; filename="invoice.exe"',
  'Content-Transfer-Encoding: base64',
  '',
  b64(exe),
  '--B--',
  '--A--',
  '',
].join('\r\n');

async function delivered(raw: Buffer): Promise<Outcome> {
  const o = await run(raw);
  expect(o.result.action).toBe('deliver');
  expect(await violations(o.raw!)).toEqual([]);
  return o;
}

/** The finding, the original kept byte for byte, and no executable crossing as a part. */
async function expectAmbiguous(o: Outcome, raw: Buffer, detail: RegExp): Promise<void> {
  expect(o.result.verdict).toBe('sanitized');
  expect(o.result.findings).toContainEqual({ code: 'mime-ambiguous', detail: expect.stringMatching(detail) });
  const kept = await o.h.store.get(o.result.quarantineId!);
  expect(Buffer.compare(kept.raw, raw)).toBe(0);
  expect(o.mail!.text).toContain('読み方によって内容が変わります。');
  for (const a of o.mail!.attachments) expect(a.content.subarray(0, 2).toString('latin1')).not.toBe('MZ');
}

describe('duplicated structural headers are a finding; the first occurrence counts', () => {
  it('two Content-Type headers: quarantined, the first reading in the body, the executable never an attachment', async () => {
    const raw = eml([...HEAD, 'Content-Type: multipart/mixed; boundary="A"', 'Content-Type: multipart/mixed; boundary="B"'], twoReadings);
    const o = await delivered(raw);
    await expectAmbiguous(o, raw, /^Content-Type$/);
    expect(bodyOf(o)).toContain('厳密な読み方の本文です。');
    expect(o.mail!.attachments.map((a) => a.filename)).not.toContain('invoice.exe');
  });

  it('the same headers the other way round: the reading by B counts, and its executable is removed', async () => {
    const raw = eml([...HEAD, 'Content-Type: multipart/mixed; boundary="B"', 'Content-Type: multipart/mixed; boundary="A"'], twoReadings);
    const o = await delivered(raw);
    await expectAmbiguous(o, raw, /^Content-Type$/);
    expect(bodyOf(o)).toBe('別の読み方の本文です。');
    expect(o.codes).toContain('attachment-removed');
  });

  it('a boundary parameter given twice: the first boundary counts', async () => {
    const raw = eml([...HEAD, 'Content-Type: multipart/mixed; boundary="A"; boundary="B"'], twoReadings);
    const o = await delivered(raw);
    await expectAmbiguous(o, raw, /^Content-Type parameter boundary$/);
    expect(bodyOf(o)).toContain('厳密な読み方の本文です。');
    expect(o.mail!.attachments).toEqual([]);
  });

  it('a boundary given plainly and in RFC 2231 form is given twice too', async () => {
    const raw = eml([...HEAD, 'Content-Type: multipart/mixed; boundary="A"; boundary*=\'\'B'], twoReadings);
    const o = await delivered(raw);
    await expectAmbiguous(o, raw, /^Content-Type parameter boundary$/);
  });

  it('two Content-Transfer-Encoding headers in a part: the first counts', async () => {
    const raw = withAttachments('本文です。', [{ type: 'text/plain; charset=utf-8', filename: 'memo.txt', body: 'メモの内容', headers: ['Content-Transfer-Encoding: 7bit'] }]);
    const o = await delivered(raw);
    await expectAmbiguous(o, raw, /^Content-Transfer-Encoding$/);
    expect(o.mail!.attachments.map((a) => a.content.toString('utf8'))).toEqual(['メモの内容']);
  });

  it('two Content-Type headers in a part: read as the first says, and no executable crosses', async () => {
    const raw = withAttachments('本文です。', [{ type: 'text/plain; charset=utf-8', body: '添付のテキスト', headers: ['Content-Type: application/octet-stream; name="setup.exe"'] }]);
    const o = await delivered(raw);
    await expectAmbiguous(o, raw, /^Content-Type$/);
    expect(o.mail!.attachments.map((a) => a.filename)).not.toContain('setup.exe');
    expect(bodyOf(o)).toContain('添付のテキスト');
  });

  it('a charset given twice, and MIME-Version twice, are named together', async () => {
    const raw = eml([...HEAD, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8; charset=iso-8859-1'], Buffer.from('日本語の本文\r\n', 'utf8'));
    const o = await delivered(raw);
    await expectAmbiguous(o, raw, /^MIME-Version, Content-Type parameter charset$/);
    expect(bodyOf(o)).toBe('日本語の本文');
  });

  it('in an attached message, the finding is on that attachment', async () => {
    const inner = ['From: a@example.jp', 'Date: Thu, 26 Nov 2026 09:00:00 +0900', 'Content-Type: text/plain; charset=utf-8', 'Content-Type: text/html; charset=utf-8', '', '転送された本文', ''].join(
      '\r\n',
    );
    const raw = withAttachments('転送します。', [{ type: 'message/rfc822', filename: 'fw.eml', body: inner }]);
    const o = await delivered(raw);
    expect(o.result.findings).toContainEqual({ code: 'mime-ambiguous', attachment: 1, detail: 'Content-Type' });
    expect(o.mail!.attachments[0]!.content.toString('utf8')).toContain('転送された本文');
  });

  it('the detail is bounded whatever the parameter names', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `p${i}${'x'.repeat(100)}`);
    const params = [...names, ...names].map((n) => `; ${n}=1`).join('');
    const raw = eml([...HEAD, `Content-Type: text/plain; charset=utf-8${params}`], '本文\r\n');
    const o = await delivered(raw);
    const f = o.result.findings.find((x) => x.code === 'mime-ambiguous');
    expect(f?.detail?.length).toBeLessThanOrEqual(200);
  });
});

describe('no finding for what is not given twice', () => {
  it('RFC 2231 continuations, name and filename, and repeated Received lines are not duplicates', async () => {
    const raw = eml(
      ['Received: from a', 'Received: from b', ...HEAD, 'Content-Type: multipart/mixed; boundary*0="mu"; boundary*1="ga"'],
      [
        '--muga',
        'Content-Type: text/plain; charset=utf-8',
        '',
        '普通の本文です。',
        '--muga',
        'Content-Type: text/plain; charset=utf-8; name="a.txt"',
        'Content-Disposition: attachment; filename="a.txt"',
        '',
        '添付',
        '--muga--',
        '',
      ].join('\r\n'),
    );
    const o = await delivered(raw);
    expect(o.codes).not.toContain('mime-ambiguous');
    expect(bodyOf(o)).toBe('普通の本文です。');
  });
});

describe('duplicateParameters', () => {
  it('reads quotes and escapes, RFC 2231 starts and continuations', () => {
    expect(duplicateParameters('multipart/mixed; boundary="a;boundary=b"')).toEqual([]);
    expect(duplicateParameters('multipart/mixed; boundary="a\\";boundary=b"')).toEqual([]);
    expect(duplicateParameters('multipart/mixed; BOUNDARY=a; boundary=b')).toEqual(['boundary']);
    expect(duplicateParameters("text/plain; name*0=a; name*1=b; name*=utf-8''c")).toEqual(['name']);
    expect(duplicateParameters('text/plain; charset; charset=utf-8')).toEqual(['charset']);
  });

  it('takes linear time on a value made of separators and quotes', () => {
    const started = Date.now();
    duplicateParameters(`x${'; a*1*="\\'.repeat(200_000)}`);
    duplicateParameters(`x${';'.repeat(1_000_000)}`);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
