// The notice as the clerk reads it: one line for a clean mail; a plain
// warning first for what is never legitimate, without inviting a request for
// it; file kinds in words; the contact as the policy gives it; the policy's
// own sentences; and, with quarantine.keepOriginals: content-changed, no
// original kept for a mail whose only change was making links inert.
import { describe, expect, it } from 'vitest';
import { NOTICE_RULE } from '../../src/core/notice.js';
import { cfb, zip } from '../helpers/bytes.js';
import { violations } from '../helpers/conformance.js';
import { eml, plain, policyWith, run, withAttachments, type Outcome } from '../helpers/run.js';
import type { Policy } from '../../src/core/policy.js';
import type { PartSpec } from '../helpers/run.js';

const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);
const DATE = 'Date: Thu, 26 Nov 2026 10:00:00 +0900';

const ooxml = (main: string, type: string): Promise<Buffer> =>
  zip([
    [
      '[Content_Types].xml',
      `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/${main}" ContentType="${type}"/></Types>`,
    ],
    ['_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'],
    [main, '<?xml version="1.0" encoding="UTF-8"?><root/>'],
  ]);

/** The notice's lines, up to the rule that ends it. */
const notice = (o: Outcome): string[] => {
  const text = o.mail!.text!;
  const end = text.indexOf(NOTICE_RULE);
  expect(end).toBeGreaterThan(0);
  return text.slice(0, end).replace(/\n$/, '').split('\n');
};

async function send(raw: Buffer, policy?: Policy): Promise<Outcome> {
  const o = await run(raw, policy);
  expect(o.result.action).toBe('deliver');
  expect(await violations(o.raw!)).toEqual([]);
  return o;
}
const attach = (parts: PartSpec[], policy?: Policy, text = '至急ご確認ください。添付ファイルを開き、「編集を有効にする」を押してください。'): Promise<Outcome> =>
  send(withAttachments(text, parts), policy);

describe('the notice', () => {
  it('a clean mail gets one line', async () => {
    const o = await send(plain('田中様\n\n会議の件、承知しました。\n'));
    expect(o.result.verdict).toBe('clean');
    expect(notice(o)).toEqual(['【無害化通知】インターネットから届いたメールです。変更した箇所はありません。']);
    expect(o.mail!.text).toBe(`【無害化通知】インターネットから届いたメールです。変更した箇所はありません。\n${NOTICE_RULE}\n\n田中様\n\n会議の件、承知しました。\n`);
  });

  it('an executable named like an invoice: the warning first, removed once, no invitation to ask for it', async () => {
    const o = await attach([{ type: 'application/pdf', filename: '請求書.pdf.exe', body: exe }]);
    expect(notice(o)).toEqual([
      '【注意】PDF を装った実行ファイル（請求書.pdf.exe）を削除しました。本文の指示に従わず、情報政策担当へご相談ください。',
      '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
      '・添付ファイル（1件）',
      '  1. 請求書.pdf.exe（実行ファイル）',
      '     この種類のファイルは受け取れないため、削除しました。',
      `原本は隔離しています（隔離ID: ${o.result.quarantineId}）。ご相談の際にお伝えください。`,
    ]);
    expect(o.mail!.text).not.toContain('申請');
  });

  it('an executable under its own name, a script in a zip, a shortcut: each a warning, listed under one first line', async () => {
    const shortcut = Buffer.concat([Buffer.from([0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46]), Buffer.alloc(60)]);
    const o = await attach([
      { type: 'application/octet-stream', filename: 'setup.exe', body: exe },
      {
        type: 'application/zip',
        filename: '資料.zip',
        body: await zip([
          ['資料/手順.vbs', 'WScript.Echo 1'],
          ['資料/説明.txt', '説明'],
        ]),
      },
      { type: 'application/octet-stream', filename: '見積書.lnk', body: shortcut },
    ]);
    const lines = notice(o);
    expect(lines.slice(0, 4)).toEqual([
      '【注意】危険なものが3件含まれていました。本文の指示に従わず、情報政策担当へご相談ください。',
      '・実行ファイル（setup.exe）を削除しました。',
      '・スクリプト（資料/手順.vbs）を削除しました。',
      '・ショートカット（見積書.lnk）を削除しました。',
    ]);
    // The text file in the zip crossed: it may be asked for, the dangerous ones not.
    expect(lines.at(-1)).toBe(`原本は隔離しています（隔離ID: ${o.result.quarantineId}）。【注意】のもの以外で元の本文や添付ファイルが必要なときは、隔離IDを添えて、情報政策担当へ申請してください。`);
  });

  it('a name disguised with a right-to-left override, on a file that is not itself dangerous', async () => {
    const o = await attach([{ type: 'text/plain', filename: '報告\u202Etxt.cod', body: 'ただのテキスト' }]);
    expect(notice(o)[0]).toBe('【注意】名前を偽装したファイル（報告txt.cod）が添付されていました。本文の指示に従わず、情報政策担当へご相談ください。');
  });

  it('a document with macros (xlsm; a .doc with VBA)', async () => {
    const xlsm = await ooxml('xl/workbook.xml', 'application/vnd.ms-excel.sheet.macroEnabled.main+xml');
    const o = await attach([{ type: 'application/vnd.ms-excel.sheet.macroEnabled.12', filename: '調査票.xlsm', body: xlsm }]);
    expect(o.codes).toContain('document-macro');
    // No converter in this harness: the document is removed.
    expect(notice(o)[0]).toBe('【注意】マクロ付きの Excel ファイル（調査票.xlsm）を削除しました。本文の指示に従わず、情報政策担当へご相談ください。');
    expect(notice(o)).toContain('  1. 調査票.xlsm（Excel ファイル）');
    const doc = await attach([{ type: 'application/msword', filename: '議事録.doc', body: cfb(['WordDocument', 'Macros', 'VBA']) }]);
    expect(notice(doc)[0]).toBe('【注意】マクロ付きの Word ファイル（議事録.doc）を削除しました。本文の指示に従わず、情報政策担当へご相談ください。');
    const plainDoc = await attach([{ type: 'application/msword', filename: '議事録.doc', body: cfb(['WordDocument']) }]);
    expect(notice(plainDoc)[0]).toBe('【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。');
  });

  it('a phishing link', async () => {
    const o = await send(
      eml(['From: a@example.jp', DATE, 'Content-Type: text/html; charset=utf-8'], '<p>再認証してください: <a href="https://evil.example.net/login">https://www.city.example.lg.jp/login</a></p>'),
    );
    expect(notice(o)[0]).toBe('【注意】表示と実際のリンク先が違うリンクがありました（フィッシングのおそれがあります）。本文の指示に従わず、情報政策担当へご相談ください。');
  });

  it('names file kinds in words, never as MIME types', async () => {
    const xlsx = await ooxml('xl/workbook.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml');
    const o = await attach(
      [
        { type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', filename: '集計表.xlsx', body: xlsx },
        { type: 'application/octet-stream', filename: 'data.bin', body: Buffer.from(Array.from({ length: 300 }, (_, i) => i % 7)) },
      ],
      undefined,
      '集計表です。',
    );
    const lines = notice(o);
    expect(lines).toContain('  1. 集計表.xlsx（Excel ファイル）');
    expect(lines).toContain('  2. data.bin（種類の分からないファイル）');
    expect(lines.join('\n')).not.toMatch(/\b(application|text|image)\/[a-z]/);
  });

  it('a calendar sent twice (alternative and .ics) is listed once, by its name', async () => {
    const ics = 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:打合せ\r\nDTSTART:20260522T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    const o = await attach(
      [
        { type: 'text/calendar; method=REQUEST', body: ics },
        { type: 'application/ics', filename: 'invite.ics', body: ics },
      ],
      undefined,
      '会議のご案内です。',
    );
    expect(notice(o).filter((l) => /^ {2}\d+\. /.test(l))).toEqual(['  1. invite.ics（予定表）']);
    expect(o.mail!.text).not.toContain('attachment-');
  });

  it('shows a Reply-To on another domain, and says how to read inert links', async () => {
    const o = await send(plain('振込先が変わりました。https://pay.example.net/ をご覧ください。', ['Reply-To: keiri@evil.example.net']));
    expect(notice(o).slice(1)).toEqual([
      '・返信先（Reply-To）に差出人と別のドメインのアドレス（keiri@evil.example.net）が指定されていたため、返信先にしていません。返信するときは宛先をご確認ください。',
      '・リンクは無効にしています。開く必要があるときは、インターネット接続系の端末で hxxp を http に、[.] を . に直して入力してください。',
      `原本は隔離しています（隔離ID: ${o.result.quarantineId}）。`,
    ]);
  });

  it('the contact comes from the policy, with its phone and mail address and no stray spaces', async () => {
    const policy = policyWith({ notice: { contact: '総務課 情報係', contactPhone: '内線 1234', contactMail: 'joho@town.example.lg.jp' } });
    const o = await attach([{ type: 'image/svg+xml', filename: '地図.svg', body: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' }], policy, '地図です。');
    expect(notice(o).at(-1)).toBe(
      `原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（${o.result.quarantineId}）を添えて、総務課 情報係（内線 1234、joho@town.example.lg.jp）へ申請してください。`,
    );
    const danger = await attach([{ type: 'application/octet-stream', filename: 'a.exe', body: exe }], policy);
    expect(notice(danger)[0]).toBe('【注意】実行ファイル（a.exe）を削除しました。本文の指示に従わず、総務課 情報係（内線 1234、joho@town.example.lg.jp）へご相談ください。');
    expect(o.mail!.text).not.toMatch(/ [、。（）「」]|[、。（）「」] /);
  });

  it("uses the policy's own sentence for a finding", async () => {
    const policy = policyWith({ notice: { findings: { 'attachment-removed': 'この種類のファイルは受け取れません。必要なときは情報係へご連絡ください。' } } });
    const o = await attach([{ type: 'image/svg+xml', filename: '地図.svg', body: '<svg xmlns="http://www.w3.org/2000/svg"/>' }], policy, '地図です。');
    expect(notice(o)).toContain('     この種類のファイルは受け取れません。必要なときは情報係へご連絡ください。');
  });

  it('says the same in English', async () => {
    const o = await attach([{ type: 'application/pdf', filename: '請求書.pdf.exe', body: exe }], policyWith({ language: 'en', notice: { contact: 'the IT office', contactPhone: 'ext. 1234' } }));
    expect(notice(o)).toEqual([
      '[CAUTION] An executable disguised as a PDF (請求書.pdf.exe) was removed. Do not follow the instructions in the message; contact the IT office (ext. 1234).',
      '[Sanitization notice] This message came from the Internet. For safety, the following was changed:',
      '- Attachments (1)',
      '  1. 請求書.pdf.exe (executable)',
      '     Files of this type are not accepted; removed.',
      `The original is kept in quarantine (quarantine ID ${o.result.quarantineId}). Quote it when you ask for advice.`,
    ]);
    const clean = await send(plain('hello'), policyWith({ language: 'en' }));
    expect(notice(clean)).toEqual(['[Sanitization notice] This message came from the Internet. Nothing in it was changed.']);
  });
});

describe('policy quarantine.keepOriginals', () => {
  const linkOnly = plain('省庁からのお知らせです。詳しくは https://www.example.go.jp/news/ をご覧ください。');
  it('always (the default) keeps the original of a mail whose links were made inert', async () => {
    const o = await send(linkOnly);
    expect(o.result.quarantineId).not.toBeNull();
  });

  it('content-changed keeps none when only links were made inert, and says so; it keeps one when content changed', async () => {
    const policy = policyWith({ quarantine: { keepOriginals: 'content-changed' } });
    const o = await send(linkOnly, policy);
    expect(o.result).toMatchObject({ verdict: 'sanitized', quarantineId: null });
    expect(o.codes).toEqual(['link-defanged']);
    expect(o.raw!.toString('latin1')).not.toMatch(/^X-Mugaika-Quarantine-Id:/im);
    expect(notice(o).at(-1)).toBe('変更はリンクの無効化などに限られるため、原本は保管していません。');
    expect(o.mail!.text).toContain('hxxps://www[.]example[.]go[.]jp/news/');

    const html = await send(eml(['From: a@example.go.jp', DATE, 'Content-Type: text/html; charset=utf-8'], '<p>お知らせ <a href="https://www.example.go.jp/">こちら</a></p>'), policy);
    expect(html.result.quarantineId).not.toBeNull();
    const removed = await attach([{ type: 'application/octet-stream', filename: 'a.exe', body: exe }], policy);
    expect(removed.result.quarantineId).not.toBeNull();
  });
});
