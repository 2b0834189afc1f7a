// The whole release workflow in a real browser (Debian's Chromium through
// playwright-core) against a real `mugaika serve`: two mails arrive over SMTP,
// one with a Word document carrying macros, one with a password-protected zip
// (AES-256, PPAP). The staff member opens the console address at the end of
// the notice the sink received, signs in, asks for the first original with a
// reason and opens the zip with its password; the administrator signs in
// (TOTP enrolment at the first login), finds the request at the top of the
// queue and approves it; the original (its attachment byte for byte) and the
// zip's sanitized contents reach the sink; the auditor signs in, finds every
// step in the audit search, exports it as CSV and verifies the chain.
//
// Every screen is saved to test-output/screens/NN-name.png, overwritten by
// each run; `MUGAIKA_SCREENS=docs/screens npx vitest run test/web/workflow-e2e.test.ts`
// writes them where the README's "Try it" shows them. Times, ids and hashes
// differ run to run; the TOTP key, its QR code and the recovery codes are masked.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../src/users/totp.js';
import { cfb, zip } from '../helpers/bytes.js';
import { launchChromium, type Chromium } from '../helpers/chromium.js';
import { cleanup, cli, client, freePort, HOST, startGateway, startSink, waitFor, type Client, type Gateway, type Sink, type SinkMessage } from '../relay/harness.js';

// test-output/screens/ (not in git) on every run; MUGAIKA_SCREENS=docs/screens refreshes the README's copies.
const SCREENS = path.resolve(import.meta.dirname, '../..', process.env.MUGAIKA_SCREENS ?? 'test-output/screens');
const DOMAIN = 'city.example.lg.jp';
const ZIP_PASSWORD = 'Ppap-秘密-2026-e2e';
const REASON = '予算要求の集計にマクロが必要なため、原本を申請します。';
const COMMENT = '送信元に電話で確認しました。';

/**
 * A small macro-enabled Word document (.docm): a real WordprocessingML package
 * with Japanese text whose main part is declared macro-enabled and which
 * carries word/vbaProject.bin (a compound file with the streams a VBA project
 * has) through its relationship, as Word writes it.
 */
async function docm(): Promise<Buffer> {
  const xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n';
  return zip([
    [
      '[Content_Types].xml',
      `${xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' +
        '<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/>' +
        '</Types>',
    ],
    [
      '_rels/.rels',
      `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
        '</Relationships>',
    ],
    [
      'word/_rels/document.xml.rels',
      `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
        '<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>' +
        '</Relationships>',
    ],
    [
      'word/document.xml',
      `${xml}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
        '<w:p><w:r><w:t>令和9年度 予算要求書（集計マクロ付き）</w:t></w:r></w:p>' +
        '<w:p><w:r><w:t>「集計」ボタンで各課の要求額を合計します。</w:t></w:r></w:p>' +
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>',
    ],
    ['word/vbaProject.bin', cfb(['PROJECT', 'PROJECTwm', 'dir', 'ThisDocument'])],
  ]);
}

const mail = (o: { subject: string; text: string; file: string; bytes: Buffer }): Promise<Buffer> =>
  new MailComposer({
    from: '見本商事 経理部 <keiri@example.jp>',
    to: `田中 <tanaka@${DOMAIN}>`,
    subject: o.subject,
    text: o.text,
    date: new Date('2026-12-01T01:00:00Z'),
    attachments: [{ filename: o.file, content: o.bytes, contentType: 'application/octet-stream' }],
  })
    .compile()
    .build();

let sink: Sink;
let gw: Gateway;
let smtp: Client;
let chrome: Chromium;
let base: string;
const initial: Record<string, string> = {};

beforeAll(async () => {
  sink = await startSink();
  // The console's address must be known before the gateway starts: it ends every notice.
  const webPort = await freePort();
  base = `http://${HOST}:${webPort}`;
  gw = await startGateway({ nextHop: `${HOST}:${sink.port}`, config: { web: { listen: `${HOST}:${webPort}`, publicUrl: base } } });
  smtp = client(gw.smtpPort);
  for (const [name, role, display] of [
    ['tanaka', 'staff', '総務課 田中'],
    ['kanri', 'admin', '情報政策担当 管理者'],
    ['kansa', 'auditor', '監査担当'],
  ] as const) {
    const r = await cli(['user', 'add', name, '--role', role, '--display-name', display, '--email', `${name}@${DOMAIN}`, '--data-dir', gw.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    initial[name] = /initial password: (\S+)/.exec(r.stdout)![1]!;
  }
  chrome = await launchChromium({ screenshots: SCREENS });
  // Two busy cores: every wait is for a real event, with room (an approval delivers the original before it answers).
  chrome.page.setDefaultTimeout(60_000);
  chrome.page.setDefaultNavigationTimeout(90_000);
}, 180_000);

afterAll(async () => {
  await chrome?.close();
  await cleanup();
});

/** Sends one mail over SMTP and waits for the notice the sink receives; returns it and the console address it ends with. */
async function arrive(raw: Buffer, subjectHas: string): Promise<{ notice: SinkMessage; link: string; id: string }> {
  const sent = await smtp.send({ from: 'keiri@example.jp', to: [`tanaka@${DOMAIN}`] }, raw);
  expect(sent.ok, sent.response).toBe(true);
  const notice = await waitFor(
    `the notice of "${subjectHas}"`,
    () => sink.messages.find((m) => m.subject.includes(subjectHas) && !m.raw.toString('latin1').includes('X-Mugaika-Released-By')),
    120_000,
  );
  const link = new RegExp(`^${base.replace(/[.]/g, '\\.')}/items/(Q-\\d{8}-[0-9A-Z]{10})$`, 'm').exec(notice.text);
  expect(link, notice.text).not.toBeNull();
  return { notice, link: link![0], id: link![1]! };
}

async function signIn(name: string): Promise<void> {
  const { page } = chrome;
  await page.getByLabel('ユーザー名').fill(name);
  await page.getByLabel('パスワード').fill(initial[name]!);
  await page.getByRole('button', { name: 'ログイン' }).click();
}

/** The first login of an administrator or auditor: the TOTP key is shown once and confirmed with a code. */
async function enrol(shots: { enrol: string; codes: string }): Promise<void> {
  const { page } = chrome;
  await page.waitForURL(`${base}/login/enrol`);
  const secret = (await page.locator('.secret').innerText()).replace(/\s/g, '');
  await chrome.screenshot(shots.enrol, [page.locator('.secret'), page.getByRole('img', { name: 'QR' })]);
  await page.getByLabel('確認コード').fill(await totpCodeAt(secret, new Date()));
  await page.getByRole('button', { name: '登録する' }).click();
  await page.getByRole('heading', { name: '回復コード' }).waitFor();
  await chrome.screenshot(shots.codes, [page.locator('ol.codes')]);
  await page.getByRole('link', { name: '管理コンソールへ進む' }).click();
}

async function logOut(): Promise<void> {
  const { page } = chrome;
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await page.getByText('ログアウトしました').waitFor();
}

describe('request, unlock, approve, audit: the whole workflow in Chromium', () => {
  it('takes a macro document and a PPAP zip from the notice to the LGWAN side, every step audited and the chain intact', async () => {
    const { page } = chrome;
    const doc = await docm();
    const secretZip = await zip(
      [
        ['見積一式/見積書.txt', '見積金額 1,234,000円（税込）ZIP-CONTENT-見積'],
        ['見積一式/内訳.csv', '品目,金額\r\n機器,=1000*1.1\r\n'],
      ],
      { password: ZIP_PASSWORD },
    );

    // 1. Two mails arrive; each notice ends with the item's address in the console.
    const macro = await arrive(
      await mail({ subject: '令和9年度 予算要求書の送付', text: '予算要求書をお送りします。マクロを有効にしてご利用ください。', file: '予算要求書.docm', bytes: doc }),
      '予算要求書の送付',
    );
    expect(macro.notice.text).toContain('マクロ');
    const ppap = await arrive(
      await mail({ subject: 'お見積りの送付（パスワード別送）', text: 'お見積りをお送りします。パスワードは別のメールでお送りします。', file: '見積一式.zip', bytes: secretZip }),
      'お見積りの送付',
    );
    expect(ppap.notice.text).toContain('見積一式.zip');
    expect(ppap.notice.text).not.toContain('ZIP-CONTENT');

    // 2. The staff member opens the link from the notice: first the login page.
    await page.goto(macro.link);
    await page.waitForURL(`${base}/login`);
    await chrome.screenshot('01-login');
    await signIn('tanaka');
    // Signed in, the page the link asked for: what was changed, and the request form.
    await page.waitForURL(macro.link);
    await page.getByRole('heading', { name: '隔離メールの詳細' }).waitFor();
    expect(await page.getByText('予算要求書.docm').first().isVisible()).toBe(true);
    await chrome.screenshot('03-staff-item');
    // A reason is required: the browser does not send the form without one (the server refuses it too: staff.test.ts).
    const reason = page.getByLabel('申請の理由（必須、1000文字まで）');
    expect(await reason.getAttribute('required')).not.toBeNull();
    await reason.fill(REASON);
    await page.getByRole('button', { name: '申請する' }).click();
    await page.getByText('原本を申請しました。管理者の確認をお待ちください。').waitFor();
    expect(await page.getByRole('cell', { name: REASON }).isVisible()).toBe(true);
    await chrome.screenshot('04-staff-requested');
    // The clerk's own list: both mails, newest first.
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'あなた宛ての隔離メール' }).waitFor();
    expect(await page.getByRole('link', { name: /予算要求書の送付/ }).count()).toBe(1);
    expect(await page.getByRole('link', { name: /お見積りの送付/ }).count()).toBe(1);
    await chrome.screenshot('02-staff-list');

    // 3. The zip: its item page offers the password form.
    await page.goto(ppap.link);
    await page.getByRole('link', { name: 'パスワードを入力する' }).click();
    await page.getByRole('heading', { name: 'パスワード付きファイルを開く' }).waitFor();
    await chrome.screenshot('05-staff-unlock');
    await page.getByLabel('パスワード').fill(ZIP_PASSWORD);
    await page.getByRole('button', { name: '開く' }).click();
    await page.getByText('パスワード付きファイルを開きました（1件）').waitFor();
    await chrome.screenshot('06-staff-unlocked');
    await logOut();

    // 4. The administrator: TOTP at the first login, then the queue of requests.
    await signIn('kanri');
    await enrol({ enrol: '07-admin-enrol', codes: '08-admin-recovery-codes' });
    await page.getByText('解放申請（古い順）').waitFor();
    const queued = page.getByRole('link', { name: macro.id });
    expect(await queued.count()).toBe(1);
    expect(await page.getByRole('cell', { name: REASON }).isVisible()).toBe(true);
    await chrome.screenshot('09-admin-queue');
    await queued.click();
    await page.waitForURL(`${base}/admin/items/${macro.id}`);
    expect(await page.getByRole('cell', { name: '予算要求書.docm' }).isVisible()).toBe(true);
    await chrome.screenshot('10-admin-item');
    await page.locator(`form[action="/admin/items/${macro.id}/approve"] textarea`).fill(COMMENT);
    await page.getByRole('button', { name: '承認して解放する' }).click();
    await page.waitForURL(`${base}/admin/items/${macro.id}?done=released&n=1`);
    await chrome.screenshot('11-admin-released');
    await logOut();

    // 5. The LGWAN side: the original, marked, with the document byte for byte; the zip's contents, sanitized.
    const original = await waitFor('the released original at the sink', () => sink.messages.find((m) => m.raw.toString('latin1').includes('X-Mugaika-Released-By: console:kanri')), 60_000);
    expect(original.to).toEqual([`tanaka@${DOMAIN}`]);
    expect(original.subject).toContain('【原本】');
    const originalFiles = (await simpleParser(original.raw)).attachments;
    expect(originalFiles.map((a) => a.filename)).toEqual(['予算要求書.docm']);
    expect(originalFiles[0]!.content.equals(doc)).toBe(true);
    const contents = await waitFor(
      'the unlocked contents at the sink',
      () => sink.messages.find((m) => m.text.includes(`隔離ID（${ppap.id}）のメールに添付されていたパスワード付きファイル`)),
      120_000,
    );
    expect(contents.to).toEqual([`tanaka@${DOMAIN}`]);
    const unpacked = Object.fromEntries((await simpleParser(contents.raw)).attachments.map((a) => [a.filename, a.content.toString('utf8')]));
    expect(Object.keys(unpacked).sort()).toEqual(['見積一式_内訳.csv', '見積一式_見積書.txt']);
    expect(unpacked['見積一式_見積書.txt']).toContain('ZIP-CONTENT-見積');
    expect(unpacked['見積一式_内訳.csv']).toContain("'=1000*1.1");
    expect(contents.raw.toString('latin1')).toMatch(/X-Mugaika-Verdict: sanitized/);
    // The administrator was told of the request, and the clerk of the decision, each in a mail of their own.
    const told = await waitFor('the mail to the administrator', () => sink.messages.find((m) => m.to.includes(`kanri@${DOMAIN}`)), 60_000);
    expect(told.text).toContain(macro.id);
    await waitFor(
      'the mail to the clerk about the decision',
      () => sink.messages.find((m) => m.to.includes(`tanaka@${DOMAIN}`) && m.subject.includes(`解放申請を承認しました（${macro.id}）`)),
      60_000,
    );

    // 6. The auditor: every step of the macro document's item, in the audit search.
    await signIn('kansa');
    await enrol({ enrol: '12-auditor-enrol', codes: '13-auditor-recovery-codes' });
    await page.getByRole('heading', { name: '監査ログの検索' }).waitFor();
    await page.getByLabel('対象（隔離ID・キューID・ユーザー名）').fill(macro.id);
    await page.getByRole('button', { name: '検索する' }).click();
    await page.waitForURL((u) => u.searchParams.get('object') === macro.id);
    const actions = await page.locator('tbody tr td:nth-child(4)').allInnerTexts();
    // Kept, asked for, looked at, approved, delivered, and the mails to the administrators and back to the requester: in words (the CSV below keeps the codes).
    expect(new Set(actions)).toEqual(new Set(['隔離', '解放の申請', 'お知らせメールの送信', '原本の閲覧', '解放の承認', '解放した原本の配送']));
    await chrome.screenshot('14-audit-item');

    // Everything since the first mail, exported as CSV for Excel.
    await page.getByLabel('対象（隔離ID・キューID・ユーザー名）').fill('');
    await page.getByRole('button', { name: '検索する' }).click();
    await page.waitForURL((u) => u.pathname === '/audit' && !u.searchParams.get('object'));
    await chrome.screenshot('15-audit-all');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'CSV（Excel 用）' }).click();
    const csv = readFileSync((await (await download).path())!);
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [head, ...rows] = parse(csv.subarray(3), { relaxColumnCount: false }) as string[][];
    expect(head).toEqual(['連番', '日時', '操作者', '操作', '対象', '差出人', '宛先', '判定', '詳細', 'ハッシュ']);
    const steps = rows.map(([, time, actor, action, object]) => ({ time: time!, actor: actor!, action: action!, object: object! }));
    const did = (actor: string, action: string, object: string): boolean => steps.some((r) => r.actor === actor && r.action === action && r.object === object);
    // Times as Excel reads them, in JST.
    expect(steps.every((r) => /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/.test(r.time))).toBe(true);
    expect(steps.filter((r) => r.action === 'quarantined').map((r) => r.object)).toEqual(expect.arrayContaining([macro.id, ppap.id]));
    expect(did('console:tanaka', 'release-requested', macro.id)).toBe(true);
    expect(did('console:tanaka', 'unlock-succeeded', ppap.id)).toBe(true);
    expect(did('console:kanri', 'original-viewed', macro.id)).toBe(true);
    expect(did('console:kanri', 'release-approved', macro.id)).toBe(true);
    expect(steps.some((r) => r.action === 'release-delivered' && r.object === macro.id)).toBe(true);
    for (const who of ['tanaka', 'kanri', 'kansa']) expect(steps.some((r) => r.actor === `console:${who}` && r.action === 'login-succeeded')).toBe(true);
    expect(csv.includes(Buffer.from(ZIP_PASSWORD))).toBe(false);

    // The chain, verified from the browser.
    await page.getByRole('link', { name: '改ざん検証' }).click();
    await page.getByRole('heading', { name: '監査ログの改ざん検証' }).waitFor();
    await page.getByRole('button', { name: '検証を開始する' }).click();
    await page.waitForURL(`${base}/audit/verify?started=1`);
    await waitFor(
      'the verification result',
      async () => {
        await page.goto(`${base}/audit/verify`);
        return (await page.locator('#verify-result').count()) > 0;
      },
      60_000,
      500,
    );
    expect(await page.locator('#verify-result').innerText()).toMatch(/改ざんはありませんでした/);
    await chrome.screenshot('16-audit-verified');

    expect(chrome.errors.filter((e) => !e.startsWith('Failed to load resource: the server responded with a status of'))).toEqual([]);
  }, 600_000);
});
