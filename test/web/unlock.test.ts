// PPAP end to end: password-protected attachments (a zip encrypted with AES-256,
// one with ZipCrypto, an encrypted PDF) arrive over real SMTP at a real
// gateway (`mugaika serve`), are removed and quarantined; their recipient logs
// in to the console over HTTP and enters the password; the gateway opens them
// (the PDF in the document sandbox), and the relay delivers a new sanitized
// mail with their contents to that recipient alone, at the sink. Wrong
// passwords count, five lock the item for that user until an admin lifts it;
// another staff member, or an id that does not exist, gets the same 404. The
// password is never written anywhere: the data dir (database, WAL, spool,
// quarantine, audit head), a dump of every table and the gateway's log output
// are searched for every password given, right and wrong.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { simpleParser, type ParsedMail } from 'mailparser';
import * as mupdf from 'mupdf';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../src/users/totp.js';
import { zip } from '../helpers/bytes.js';
import { cleanup, cli, client, HOST, startGateway, startSink, token, waitFor, type Client, type Gateway, type Sink, type SinkMessage } from '../relay/harness.js';
import { Browser, secretOn, type Page } from './browser.js';

const DOMAIN = 'city.example.lg.jp';
const AES_PASSWORD = 'Ppap-AES-秘密-7731';
const ZIPCRYPTO_PASSWORD = 'zipcrypto-Secret-4242';
const PDF_PASSWORD = 'pdf-Pass-9055-kagi';
const WRONG = ['wrong-guess-0001', 'wrong-guess-0002', 'wrong-guess-0003', 'wrong-guess-0004', 'wrong-guess-0005', 'wrong-guess-0006'];
const SECRETS = [AES_PASSWORD, ZIPCRYPTO_PASSWORD, PDF_PASSWORD, ...WRONG];

let gw: Gateway;
let sink: Sink;
let smtp: Client;
const initial: Record<string, string> = {};

/** An encrypted PDF of one page, made by mupdf (pdf-lib cannot encrypt). */
function encryptedPdf(text: string, password: string): Buffer {
  const doc = new mupdf.PDFDocument();
  const font = doc.addSimpleFont(new mupdf.Font('Helvetica'));
  const resources = doc.addObject({ Font: { F1: font } });
  doc.insertPage(-1, doc.addPage([0, 0, 595, 842], 0, resources, `BT /F1 24 Tf 72 720 Td (${text}) Tj ET`));
  return Buffer.from(doc.saveToBuffer(`encrypt=aes-256,user-password=${password},owner-password=${password}-owner`).asUint8Array());
}

async function mail(tok: string, to: string, file: { name: string; bytes: Buffer }): Promise<Buffer> {
  return new MailComposer({
    from: '取引先 <partner@example.jp>',
    to,
    subject: `資料送付 ${tok}`,
    text: `資料をお送りします。パスワードは別のメールでお送りします。${tok}`,
    attachments: [{ filename: file.name, content: file.bytes, contentType: 'application/octet-stream' }],
  })
    .compile()
    .build();
}

/** Sends a PPAP mail and returns the quarantine id from the notice the recipient got. */
async function sendPpap(to: string, file: { name: string; bytes: Buffer }): Promise<{ tok: string; id: string; notice: SinkMessage }> {
  const tok = token();
  const sent = await smtp.send({ from: 'partner@example.jp', to: [to] }, await mail(tok, to, file));
  expect(sent.ok, sent.response).toBe(true);
  const notice = await waitFor(`the notice of ${tok}`, () => sink.withToken(tok)[0], 60_000);
  const id = /X-Mugaika-Quarantine-Id: (Q-\d{8}-[0-9A-Z]{10})/i.exec(notice.raw.toString('latin1'))?.[1];
  expect(id, notice.raw.toString('latin1').slice(0, 1500)).toBeDefined();
  return { tok, id: id!, notice };
}

/** The mail the unlock produced, once the sink has it. */
const unlocked = (id: string): Promise<SinkMessage> =>
  waitFor(`the unlocked contents of ${id}`, () => sink.messages.find((m) => m.text.includes(`隔離ID（${id}）のメールに添付されていたパスワード付きファイル`)), 90_000);

async function staff(name: string): Promise<Browser> {
  const b = new Browser(gw.webPort);
  const home = await b.follow(await b.login(name, initial[name]!));
  expect(home.status, home.body).toBe(200);
  return b;
}

const unlockWith = async (b: Browser, id: string, password: string): Promise<Page> => b.submit(await b.get(`/items/${id}/unlock`), `/items/${id}/unlock`, { password });

/** Every file under the data dir, every row of every table, and the gateway's output, searched for each password. */
function leaks(): string[] {
  const found: string[] = [];
  const needles = SECRETS.map((s) => [s, Buffer.from(s, 'utf8')] as const);
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st) continue; // removed meanwhile (a spool entry delivered)
      if (st.isDirectory()) walk(file);
      else {
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch {
          continue;
        }
        for (const [s, b] of needles) if (bytes.includes(b) || bytes.includes(Buffer.from(s, 'utf16le'))) found.push(`${s} in ${file}`);
      }
    }
  };
  walk(gw.dataDir);
  const db = new Database(path.join(gw.dataDir, 'mugaika.db'), { readonly: true });
  try {
    db.pragma('busy_timeout = 5000');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    for (const t of tables) {
      const dump = JSON.stringify(db.prepare(`SELECT * FROM "${t}"`).all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
      for (const [s] of needles) if (dump.includes(s)) found.push(`${s} in table ${t}`);
    }
  } finally {
    db.close();
  }
  const output = JSON.stringify(gw.logs) + gw.stderr();
  for (const [s] of needles) if (output.includes(s)) found.push(`${s} in the gateway's output`);
  return found;
}

const records = (action: string): { actor: string; object: string | null; details: Record<string, unknown> }[] => {
  const db = new Database(path.join(gw.dataDir, 'mugaika.db'), { readonly: true });
  try {
    db.pragma('busy_timeout = 5000');
    return (db.prepare('SELECT actor, object, details FROM audit_records WHERE action = ? ORDER BY seq').all(action) as { actor: string; object: string | null; details: string }[]).map((r) => ({
      ...r,
      details: JSON.parse(r.details) as Record<string, unknown>,
    }));
  } finally {
    db.close();
  }
};

const attachmentsOf = async (m: SinkMessage): Promise<ParsedMail['attachments']> => (await simpleParser(m.raw)).attachments;

beforeAll(async () => {
  sink = await startSink();
  gw = await startGateway({ nextHop: `${HOST}:${sink.port}` });
  smtp = client(gw.smtpPort);
  for (const [name, role] of [
    ['tanaka', 'staff'],
    ['sato', 'staff'],
    ['kanri', 'admin'],
  ] as const) {
    const r = await cli(['user', 'add', name, '--role', role, '--email', `${name}@${DOMAIN}`, '--data-dir', gw.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    initial[name] = /initial password: (\S+)/.exec(r.stdout)![1]!;
  }
}, 120_000);
afterAll(cleanup);

describe('PPAP: opening a password-protected attachment from the console', () => {
  let aesItem: string;

  it('opens an AES-256 zip with its password, after a wrong one, and delivers the sanitized contents to the recipient alone', async () => {
    const secret = await zip(
      [
        ['資料/説明.txt', 'AES-CONTENT-説明 本文です。'],
        ['資料/名簿.csv', '氏名,電話\r\n山田,=1+2\r\n'],
      ],
      { password: AES_PASSWORD },
    );
    const { id, notice } = await sendPpap(`tanaka@${DOMAIN}`, { name: '資料.zip', bytes: secret });
    aesItem = id;
    expect(notice.text).toContain('資料.zip');
    expect(notice.text).not.toContain('AES-CONTENT');

    const tanaka = await staff('tanaka');
    const form = await tanaka.get(`/items/${id}/unlock`);
    expect(form.status).toBe(200);
    expect(form.body).toContain('資料.zip');
    expect(form.body).toContain('name="password" type="password"');

    const wrong = await unlockWith(tanaka, id, WRONG[0]!);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('パスワードが違います。あと4回');
    expect(wrong.body).not.toContain(WRONG[0]);
    expect(leaks()).toEqual([]);

    const right = await unlockWith(tanaka, id, AES_PASSWORD);
    expect(right.status, right.body).toBe(200);
    expect(right.body).toContain('パスワード付きファイルを開きました（1件）');
    expect(right.body).not.toContain(AES_PASSWORD);
    // Right after the answer the new mail may still be in the spool: searched there too.
    expect(leaks()).toEqual([]);

    const got = await unlocked(id);
    expect(got.to).toEqual([`tanaka@${DOMAIN}`]);
    expect(got.from).toBe(''); // the null sender: a failure is never bounced to the outside sender
    expect(got.text.startsWith(`【パスワード付きファイルの中身】隔離ID（${id}）のメールに添付されていたパスワード付きファイルを`)).toBe(true);
    expect(got.subject).toContain('資料送付');
    const files = await attachmentsOf(got);
    const byName = Object.fromEntries(files.map((a) => [a.filename, a]));
    expect(Object.keys(byName).sort()).toEqual(['資料_名簿.csv', '資料_説明.txt']);
    expect(byName['資料_説明.txt']!.content.toString('utf8')).toContain('AES-CONTENT-説明 本文です。');
    // Sanitized like any zip that arrived without a password: the formula cell is neutralised.
    expect(byName['資料_名簿.csv']!.content.toString('utf8')).toContain("'=1+2");
    const raw = got.raw.toString('latin1');
    expect(raw).toMatch(/X-Mugaika-Verdict: sanitized/);
    // Sent through the relay: received, verdict and delivered records, naming the item it came from.
    const succeeded = records('unlock-succeeded');
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]).toMatchObject({ actor: 'console:tanaka', object: id, details: { to: [`tanaka@${DOMAIN}`], files: 1 } });
    const queueId = succeeded[0]!.details.queueId as string;
    await waitFor('the delivered record', () => records('delivered').find((r) => r.object === queueId));
    expect(records('received').find((r) => r.object === queueId)?.details.detail).toBe(`unlocked from ${id} by tanaka`);
    expect(records('unlock-failed')).toEqual([expect.objectContaining({ actor: 'console:tanaka', object: id, details: expect.objectContaining({ reason: 'wrong-password', failures: 1 }) })]);
    // Nobody else got the contents.
    const carrying: string[][] = [];
    for (const m of sink.messages) if ((await attachmentsOf(m)).some((a) => a.content.toString('utf8').includes('AES-CONTENT'))) carrying.push(m.to);
    expect(carrying).toEqual([[`tanaka@${DOMAIN}`]]);
    expect(leaks()).toEqual([]);
  }, 240_000);

  it('opens a ZipCrypto zip and an encrypted PDF (decrypted in the document sandbox)', async () => {
    const legacy = await zip([['memo.txt', 'ZIPCRYPTO-CONTENT-memo']], { password: ZIPCRYPTO_PASSWORD, zipCrypto: true });
    const pdf = encryptedPdf('PDF-CONTENT-page', PDF_PASSWORD);
    const a = await sendPpap(`tanaka@${DOMAIN}`, { name: 'memo.zip', bytes: legacy });
    const b = await sendPpap(`tanaka@${DOMAIN}`, { name: '見積書.pdf', bytes: pdf });
    expect(b.notice.text).toContain('見積書.pdf');
    const tanaka = await staff('tanaka');

    expect((await unlockWith(tanaka, a.id, ZIPCRYPTO_PASSWORD)).status).toBe(200);
    const zipMail = await unlocked(a.id);
    expect((await attachmentsOf(zipMail)).map((f) => [f.filename, f.content.toString('utf8')])).toEqual([['memo.txt', 'ZIPCRYPTO-CONTENT-memo']]);

    // A wrong password for the PDF is told apart by mupdf in the sandbox.
    expect((await unlockWith(tanaka, b.id, WRONG[1]!)).status).toBe(401);
    const opened = await unlockWith(tanaka, b.id, PDF_PASSWORD);
    expect(opened.status, opened.body).toBe(200);
    const pdfMail = await unlocked(b.id);
    const [rebuilt, ...more] = await attachmentsOf(pdfMail);
    expect(more).toEqual([]);
    expect(rebuilt!.filename).toBe('見積書.pdf');
    expect(rebuilt!.contentType).toBe('application/pdf');
    // Rebuilt as images like any PDF, its visible text laid invisibly over them: no encryption left.
    const delivered = mupdf.Document.openDocument(rebuilt!.content, 'application/pdf');
    expect(delivered.needsPassword()).toBe(false);
    expect(delivered.countPages()).toBe(1);
    expect(delivered.loadPage(0).toStructuredText('preserve-whitespace').asText()).toContain('PDF-CONTENT-page');
    expect(pdfMail.text).toContain('画像化した PDF に作り直しました（文字の検索・コピーができます');
    expect(leaks()).toEqual([]);
  }, 240_000);

  it('locks the item for a user after five wrong passwords, until an administrator lifts the lock', async () => {
    const secret = await zip([['lock.txt', 'LOCK-CONTENT-after-reset']], { password: AES_PASSWORD });
    const { id } = await sendPpap(`tanaka@${DOMAIN}`, { name: 'lock.zip', bytes: secret });
    const tanaka = await staff('tanaka');
    for (let i = 0; i < 4; i++) expect((await unlockWith(tanaka, id, WRONG[i]!)).status).toBe(401);
    const fifth = await unlockWith(tanaka, id, WRONG[4]!);
    expect(fifth.status).toBe(423);
    expect(fifth.body).toContain('このメールではパスワードを入力できません');
    // Locked: no form, and even the right password is refused (and audited as such).
    const page = await tanaka.get(`/items/${id}/unlock`);
    expect(page.body).not.toContain('name="password"');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const refused = await tanaka.post(`/items/${id}/unlock`, { _csrf: token, password: AES_PASSWORD });
    expect(refused.status).toBe(423);
    const failed = records('unlock-failed').filter((r) => r.object === id);
    expect(failed.map((r) => [r.details.reason, r.details.failures ?? null, r.details.locked ?? null])).toEqual([
      ['wrong-password', 1, false],
      ['wrong-password', 2, false],
      ['wrong-password', 3, false],
      ['wrong-password', 4, false],
      ['wrong-password', 5, true],
      ['locked', 5, null],
    ]);
    expect(sink.messages.some((m) => m.text.includes('LOCK-CONTENT'))).toBe(false);

    // The administrator (TOTP enrolled at the first login) sees the lock and lifts it.
    const admin = new Browser(gw.webPort);
    const enrol = await admin.follow(await admin.login('kanri', initial.kanri!));
    await admin.follow(await admin.submit(enrol, '/login/enrol', { code: await totpCodeAt(secretOn(enrol), new Date()) }));
    // The item page is the recipient's: an administrator is refused by role.
    expect((await admin.get(`/items/${id}/unlock`)).status).toBe(403);
    const locks = await admin.get(`/admin/items/${id}/unlock-reset`);
    expect(locks.status).toBe(200);
    expect(locks.body).toContain('tanaka');
    expect(locks.body).toContain('入力できません');
    // Forms carry the CSRF token: without it nothing changes.
    expect((await admin.post(`/admin/items/${id}/unlock-reset`, { user: 'tanaka' })).status).toBe(403);
    const lifted = await admin.submit(locks, `/admin/items/${id}/unlock-reset`);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toContain('tanaka さんの制限を解除しました。');
    expect(records('unlock-reset')).toEqual([expect.objectContaining({ actor: 'console:kanri', object: id, details: expect.objectContaining({ user: 'tanaka', failures: 5, wasLocked: true }) })]);
    // A staff member cannot lift it.
    expect((await tanaka.get(`/admin/items/${id}/unlock-reset`)).status).toBe(403);

    expect((await unlockWith(tanaka, id, AES_PASSWORD)).status).toBe(200);
    const got = await unlocked(id);
    expect((await attachmentsOf(got)).map((f) => f.content.toString('utf8'))).toEqual(['LOCK-CONTENT-after-reset']);
    expect(leaks()).toEqual([]);
  }, 240_000);

  it('answers another staff member, and an id that does not exist, with the same 404, and changes nothing', async () => {
    const sato = await staff('sato');
    const theirs = await sato.get(`/items/${aesItem}/unlock`);
    const missing = await sato.get('/items/Q-20260101-AAAAAAAAAA/unlock');
    const forged = await sato.get('/items/..%2F..%2Fetc/unlock');
    expect([theirs.status, missing.status, forged.status]).toEqual([404, 404, 404]);
    const strip = (p: Page): string => p.body.replace(/value="[^"]*"/g, '');
    expect(strip(theirs)).toBe(strip(missing));
    expect(strip(forged)).toBe(strip(missing));
    const before = records('unlock-failed').length + records('unlock-succeeded').length;
    const home = await sato.get('/');
    const token = /name="_csrf" value="([^"]+)"/.exec(home.body)![1]!;
    const post = await sato.post(`/items/${aesItem}/unlock`, { _csrf: token, password: AES_PASSWORD });
    expect(post.status).toBe(404);
    expect(strip(post)).toBe(strip(missing));
    expect(records('unlock-failed').length + records('unlock-succeeded').length).toBe(before);
    // The search itself finds a password where one is written.
    const planted = path.join(gw.dataDir, 'planted.txt');
    writeFileSync(planted, `x${PDF_PASSWORD}x`);
    expect(leaks()).toEqual([`${PDF_PASSWORD} in ${planted}`]);
    rmSync(planted);
    // Signed out: to the login page.
    expect((await new Browser(gw.webPort).get(`/items/${aesItem}/unlock`)).status).toBe(303);
    expect(leaks()).toEqual([]);
  }, 120_000);
});
