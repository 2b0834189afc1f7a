// Every finding code the core can report, each produced by a real message.
// The last test fails when a code is added without an input that produces it.
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { findingCodes, type FindingCode } from '../../src/core/findings.js';
import type { Policy } from '../../src/core/policy.js';
import type { ImageTranscoder } from '../../src/core/ports.js';
import { cfb, overlappingZip, zip } from '../helpers/bytes.js';
import { violations } from '../helpers/conformance.js';
import { closeDocuments, realDocuments } from '../helpers/documents.js';
import { tnef } from '../helpers/tnef.js';
import { uuencode } from '../helpers/encoded.js';
import { PDFDocument } from 'pdf-lib';
import { textPdf } from '../converters/pdf-samples.js';
import { crowdedPdf } from '../converters/pdf-text-samples.js';
import { scannedPdf } from '../converters/ocr-samples.js';
import { eml, harness, plain, policyWith, run, tempDir, withAttachments, type Harness } from '../helpers/run.js';
import { makeWorkbooks } from '../helpers/workbooks.js';
import { NOTICE_RULE } from '../../src/core/notice.js';
import { createClamdScanner } from '../../src/scan/clamd.js';
import { EICAR, startClamd, type Clamd } from '../helpers/clamd.js';
import type { SenderFacts } from '../../src/model/sender-trust.js';

const png = (w: number, h: number): Promise<Buffer> =>
  sharp({ create: { width: w, height: h, channels: 3, background: '#0a0' } })
    .png()
    .toBuffer();
const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);
const html = (body: string, text?: string): Buffer =>
  text === undefined
    ? eml(['From: a@example.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: text/html; charset=utf-8'], body)
    : eml(
        ['From: a@example.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: multipart/alternative; boundary=x'],
        `--x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n--x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${body}\r\n--x--\r\n`,
      );
const nested = (depth: number): Buffer => {
  let body = 'Content-Type: text/plain\r\n\r\nx\r\n';
  for (let i = depth; i > 0; i--) body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
  return Buffer.from(`From: a@example.jp\r\n${body}`);
};
const hanging: ImageTranscoder = { reencode: () => new Promise(() => undefined) };
const crashing: ImageTranscoder = { reencode: () => Promise.reject(new Error('converter crashed')) };

const pdf = async (pages = 1): Promise<Buffer> => {
  const d = await PDFDocument.create();
  for (let i = 0; i < pages; i++) d.addPage([200, 200]);
  return Buffer.from(await d.save());
};
const att = (type: string, filename: string, body: Buffer | string): Buffer => withAttachments('x', [{ type, filename, body }]);
const forwarded = (inner: string): Buffer => att('message/rfc822', 'fw.eml', inner);
const converting = (): Promise<Harness> => harness({ documents: realDocuments() });
// A real clamd (test/helpers/clamd.ts) that takes at most 1 MiB a file, started once for the scanning codes.
let clamd: Promise<Clamd> | null = null;
const scanning = async (): Promise<Harness> => harness({ scanner: createClamdScanner({ socketPath: (await (clamd ??= startClamd({ streamMaxLength: '1M' }))).socket, timeoutMs: 60_000 }) });
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const quick = policyWith({ documents: { dpi: 36 } });
// Made once, by LibreOffice: a sheet and a hidden one; three rows with 40,000 characters in a hidden
// column (a small PDF; a large CSV when hidden cells are included).
let books: Promise<Record<string, Buffer>> | null = null;
const workbooks = (): Promise<Record<string, Buffer>> =>
  (books ??= makeWorkbooks(tempDir('mugaika-codes-'), 'xlsx', {
    plain: [
      { name: '表', rows: [{ cells: ['値', 1] }] },
      { name: '隠し', hidden: true, rows: [{ cells: ['x'] }] },
    ],
    long: [{ name: '長い', hiddenColumns: [1], rows: ['あ', 'い', 'う'].map((c, i) => ({ cells: [`値${i + 1}`, c.repeat(40_000)] })) }],
  }));

interface Case {
  input: () => Promise<Buffer> | Buffer;
  policy?: Policy;
  h?: () => Promise<Harness>;
  sender?: SenderFacts;
}

/** The From domain publishes DMARC p=reject and the message fails it. */
const dmarcFailReject: SenderFacts = {
  authentication: { spf: null, dkim: [], dmarc: { result: 'fail', domain: 'example.jp', policy: 'reject', detail: 'not aligned' }, arc: null, authservId: 'mugaika.test' },
  firstContactFor: null,
};

const cases: Record<FindingCode, Case> = {
  'message-too-large': { input: () => plain('x'.repeat(3000)), policy: policyWith({ limits: { maxMessageBytes: 1000 } }) },
  'mime-too-deep': { input: () => nested(4), policy: policyWith({ limits: { maxMimeDepth: 3 } }) },
  'too-many-parts': { input: () => nested(4), policy: policyWith({ limits: { maxParts: 3 } }) },
  'header-too-large': { input: () => plain('x', [`X-Long: ${'y'.repeat(5000)}`]), policy: policyWith({ limits: { maxHeaderBytes: 4096 } }) },
  'parse-error': { input: () => Buffer.from('this is not mail\r\nat all\r\n') },
  timeout: {
    input: async () => withAttachments('x', [{ type: 'image/png', filename: 'a.png', body: await png(4, 4) }]),
    policy: policyWith({ limits: { timeoutMs: 200 } }),
    h: () => harness({ images: hanging }),
  },
  'encoded-file-blocked': { input: () => plain(uuencode(exe, 'a.exe')), policy: policyWith({ text: { encodedFiles: 'quarantine' } }) },
  'internal-error': { input: async () => withAttachments('x', [{ type: 'image/png', filename: 'a.png', body: await png(4, 4) }]), h: () => harness({ images: crashing }) },
  'parts-truncated': {
    input: () =>
      withAttachments(
        'x',
        ['a', 'b', 'c'].map((n) => ({ type: 'text/plain', filename: `${n}.txt`, body: n })),
      ),
    policy: policyWith({ limits: { maxParts: 3 } }),
  },
  'depth-truncated': {
    input: () =>
      eml(
        ['From: a@example.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: multipart/mixed; boundary=x'],
        '--x\r\nContent-Type: text/plain\r\n\r\nbody\r\n--x\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--y--\r\n--x--\r\n',
      ),
    policy: policyWith({ limits: { maxMimeDepth: 1 } }),
  },
  'mime-ambiguous': { input: () => eml(['From: a@example.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: text/plain', 'Content-Type: text/html'], 'x') },
  'missing-from': { input: () => eml(['To: b@city.example.lg.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900'], 'x') },
  'missing-date': { input: () => eml(['From: a@example.jp'], 'x') },
  'reply-to-other-domain': { input: () => eml(['From: a@example.jp', 'Reply-To: pay@evil.example.net', 'Date: Thu, 26 Nov 2026 10:00:00 +0900'], 'x') },
  'invalid-address': { input: () => eml(['From: a@example.jp', 'To: "x" <not an address>', 'Date: Thu, 26 Nov 2026 10:00:00 +0900'], 'x') },
  'html-converted': { input: () => html('<p>こんにちは</p>') },
  'alternative-mismatch': { input: () => html('<p>振込先を変更しました</p>', '特にお知らせはありません') },
  'active-content-removed': { input: () => html('<p>a</p><script>alert(1)</script>') },
  'remote-image-removed': { input: () => html('<img src="https://t.example.com/p.gif">') },
  'link-defanged': { input: () => plain('https://example.jp/') },
  'link-text-mismatch': { input: () => html('<a href="https://evil.example.net/">https://bank.example.jp/</a>') },
  'control-chars-removed': { input: () => plain('a\u0000b\u001bc\u202ed') },
  'encoded-file-removed': { input: () => plain(`x\n${uuencode(exe, 'a.exe')}\n`) },
  'undecodable-characters': {
    input: () => eml(['From: a@example.jp', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'Content-Type: text/plain; charset=x-unknown'], Buffer.from([0x41, 0x80, 0x81, 0xfe, 0xff, 0x42])),
  },
  'image-reencoded': { input: async () => withAttachments('x', [{ type: 'image/png', filename: 'a.png', body: await png(4, 4) }]) },
  'image-too-large': { input: async () => withAttachments('x', [{ type: 'image/png', filename: 'a.png', body: await png(200, 200) }]), policy: policyWith({ limits: { maxImagePixels: 1000 } }) },
  'image-undecodable': { input: async () => withAttachments('x', [{ type: 'image/png', filename: 'a.png', body: (await png(64, 64)).subarray(0, 60) }]) },
  'text-reencoded': { input: () => withAttachments('x', [{ type: 'text/plain', filename: 'a.txt', body: 'テキスト' }]) },
  'csv-formula-neutralised': { input: () => withAttachments('x', [{ type: 'text/csv', filename: 'a.csv', body: 'a,=1+2\n' }]) },
  'text-undecodable': { input: () => withAttachments('x', [{ type: 'text/plain', filename: 'a.txt', body: Buffer.from([0x80, 0x81, 0x82, 0x83, 0xfe, 0xff, 0xfd]) }]) },
  'type-mismatch': { input: () => withAttachments('x', [{ type: 'application/pdf', filename: 'a.pdf', body: exe }]) },
  'name-bidi-control': { input: () => withAttachments('x', [{ type: 'text/plain', filename: 'a\u202Etxt.exe', body: 'x' }]) },
  'name-double-extension': { input: () => withAttachments('x', [{ type: 'application/octet-stream', filename: '請求書.pdf.exe', body: exe }]) },
  'name-path': { input: () => withAttachments('x', [{ type: 'text/plain', filename: '..\\..\\a.txt', body: 'x' }]) },
  'output-limit': { input: () => att('text/plain', 'a.txt', 'y'.repeat(20_000)), policy: policyWith({ limits: { maxOutputBytes: 10_000 } }) },
  'attachment-removed': { input: () => withAttachments('x', [{ type: 'application/octet-stream', filename: 'a.exe', body: exe }]) },
  'document-converted': { input: async () => att('application/pdf', 'a.pdf', await pdf()), h: converting },
  'document-converted-searchable': { input: async () => att('application/pdf', 'a.pdf', Buffer.from(await textPdf(1))), h: converting },
  'document-text-partial': { input: async () => att('application/pdf', 'a.pdf', Buffer.from(await crowdedPdf(110_000))), h: converting },
  'document-ocr': { input: async () => att('application/pdf', 'scan.pdf', Buffer.from(await scannedPdf())), policy: policyWith({ documents: { ocr: true } }), h: converting },
  'document-ocr-partial': {
    input: async () => att('application/pdf', 'scan.pdf', Buffer.from(await scannedPdf(2))),
    policy: policyWith({ documents: { ocr: true, ocrMaxPages: 1 } }),
    h: converting,
  },
  'document-macro': { input: () => att('application/msword', '調査票.doc', cfb(['WordDocument', 'Macros', 'VBA', '_VBA_PROJECT'])) },
  'document-encrypted': { input: () => att('application/octet-stream', 'a.docx', cfb(['EncryptionInfo', 'EncryptedPackage'])) },
  'document-too-large': { input: async () => att('application/pdf', 'a.pdf', await pdf(3)), policy: policyWith({ documents: { maxPages: 2 } }), h: converting },
  'document-unconvertible': { input: async () => att('application/pdf', 'a.pdf', await pdf()) },
  'sheet-values-csv': { input: async () => att(XLSX, 'a.xlsx', (await workbooks()).plain!), policy: quick, h: converting },
  'sheet-hidden-omitted': { input: async () => att(XLSX, 'a.xlsx', (await workbooks()).plain!), policy: quick, h: converting },
  'sheet-hidden-included': { input: async () => att(XLSX, 'a.xlsx', (await workbooks()).plain!), policy: policyWith({ documents: { dpi: 36, hiddenCells: 'include' } }), h: converting },
  'sheet-values-truncated': { input: async () => att(XLSX, 'a.xlsx', (await workbooks()).long!), policy: policyWith({ documents: { dpi: 36, sheetMaxCells: 2 } }), h: converting },
  'sheet-values-left-out': {
    input: async () => att(XLSX, 'a.xlsx', (await workbooks()).long!),
    policy: policyWith({ documents: { dpi: 36, hiddenCells: 'include' }, limits: { maxOutputBytes: 200_000 } }),
    h: converting,
  },
  'archive-opened': { input: async () => att('application/zip', 'a.zip', await zip([['a.txt', 'a']])) },
  'archive-encrypted': { input: async () => att('application/zip', 'a.zip', await zip([['a.txt', 'a']], { password: 'pw' })) },
  'archive-limit': { input: async () => att('application/zip', 'a.zip', await zip([['z.bin', Buffer.alloc(4 * 1024 * 1024)]], { level: 9 })) },
  'archive-corrupt': { input: async () => att('application/zip', 'a.zip', (await zip([['a.txt', 'a'.repeat(500)]])).subarray(0, 100)) },
  'archive-unsupported': { input: () => att('application/x-7z-compressed', 'a.7z', Buffer.concat([Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), Buffer.alloc(64)])) },
  'archive-path-unsafe': { input: async () => att('application/zip', 'a.zip', await zip([['../../etc/passwd', 'root']])) },
  'archive-overlap': { input: () => att('application/zip', 'a.zip', overlappingZip(Buffer.from('同じデータ'), 3)) },
  'message-sanitized': { input: () => forwarded('From: a@example.jp\r\nSubject: inner\r\nDate: Thu, 26 Nov 2026 09:00:00 +0900\r\n\r\nbody\r\n') },
  'nesting-too-deep': {
    input: () => forwarded(`From: a@example.jp\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('From: b@example.jp\r\n\r\nx\r\n').toString('base64')}\r\n`),
    policy: policyWith({ limits: { maxMimeDepth: 1 } }),
  },
  'tnef-opened': { input: () => att('application/ms-tnef', 'winmail.dat', tnef({ files: [{ title: 'a.txt', data: Buffer.from('a') }] })) },
  'tnef-corrupt': { input: () => att('application/ms-tnef', 'winmail.dat', tnef({ files: [{ title: 'a.txt', data: Buffer.from('a'.repeat(50)) }] }).subarray(0, 45)) },
  'calendar-as-text': { input: () => att('text/calendar', 'invite.ics', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:会議\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n') },
  'html-attachment-converted': { input: () => att('text/html', 'a.html', '<html><body><p>お知らせ</p></body></html>') },
  'malware-found': { input: () => att('application/octet-stream', 'a.txt', EICAR), h: scanning },
  'malware-scan-limit': { input: () => att('text/plain', 'a.txt', 'y'.repeat(2 * 1024 * 1024)), h: scanning },
  'malware-scan-unavailable': {
    input: () => att('text/plain', 'a.txt', 'x'),
    policy: policyWith({ scan: { unavailable: 'block' } }),
    h: () => harness({ scanner: createClamdScanner({ socketPath: '/nonexistent/clamd.sock', timeoutMs: 5000 }) }),
  },
  'dmarc-reject': { input: () => plain('x'), sender: dmarcFailReject },
  'sender-blocked': { input: () => plain('x'), policy: policyWith({ senders: { exclude: [{ sender: 'example.jp' }] } }) },
  'sender-quarantined': { input: () => plain('x'), policy: policyWith({ senders: { rules: [{ name: 'keep', when: { sender: ['sender@example.jp'] }, then: { quarantine: true } }] } }) },
  'image-as-pdf': {
    input: async () => withAttachments('x', [{ type: 'image/png', filename: 'a.png', body: await png(4, 4) }]),
    policy: policyWith({ senders: { rules: [{ name: 'pages', then: { images: 'pdf-page' } }] } }),
  },
};

afterAll(async () => {
  await closeDocuments();
  await (await clamd)?.stop();
});

describe('every finding code comes from a real message', () => {
  for (const [code, c] of Object.entries(cases)) {
    it(code, { timeout: 180_000 }, async () => {
      const o = await run(await c.input(), c.policy, c.h ? await c.h() : undefined, c.sender ? { sender: c.sender } : {});
      expect(o.codes).toContain(code);
      if (o.raw) {
        expect(await violations(o.raw)).toEqual([]);
        expect(o.result.quarantineId).not.toBeNull();
        // Every notice names kinds in words, says nothing twice and nothing of 転送.
        const notice = o.mail!.text!.slice(0, o.mail!.text!.indexOf(NOTICE_RULE));
        expect(notice).not.toMatch(/\b(application|text|image|message)\/[a-z]/);
        expect(notice).not.toMatch(/転送|削除しました。削除しました。|→/);
        expect(notice).toMatch(/^(【注意】|【無害化通知】)/);
      }
    });
  }

  it('the table covers every code', () => {
    expect(Object.keys(cases).sort()).toEqual([...findingCodes].sort());
  });
});
