// With web.publicUrl the 【無害化通知】 of a quarantined original ends with its
// item's page in the console (the id the vault gave it), as plain text we
// wrote; without it, the notice is word for word what it was. The sealed
// metadata records each attachment and what became of it.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { NOTICE_RULE } from '../../src/core/notice.js';
import { encryptedPdf, textPdf } from '../converters/pdf-samples.js';
import { zip } from '../helpers/bytes.js';
import { closeDocuments, realDocuments } from '../helpers/documents.js';
import { harness, plain, run, withAttachments } from '../helpers/run.js';

const URL_BASE = 'https://mugaika.city.example.lg.jp';
const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);

const noticeOf = (text: string): string[] => text.slice(0, text.indexOf(NOTICE_RULE)).replace(/\n$/, '').split('\n');

describe('the notice with the console address', () => {
  const mail = (): Buffer => withAttachments('ご確認ください。', [{ type: 'application/octet-stream', filename: 'tool.bin', body: Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 9]) }]);

  it('ends with the item page of the id the vault gave the original', async () => {
    const h = await harness({ consoleUrl: URL_BASE });
    const o = await run(mail(), undefined, h);
    const id = o.result.quarantineId!;
    expect(id).toMatch(/^Q-\d{8}-[A-Z2-7]{10}$/);
    const lines = noticeOf(o.mail!.text!);
    expect(lines.slice(-2)).toEqual(['変更した内容の確認と原本の申請は、次のページでできます。', `${URL_BASE}/items/${id}`]);
    // The item exists under that id, and its sealed metadata lists the file.
    const { meta } = await h.store.details(id);
    expect(meta.attachments).toEqual([
      {
        index: 1,
        parent: null,
        name: 'tool.bin',
        fileKind: expect.any(String),
        sniffedType: expect.any(String),
        size: 9,
        sha256: createHash('sha256')
          .update(Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 9]))
          .digest('hex'),
        outcome: 'removed',
        deliveredAs: null,
      },
    ]);
  });

  it('without it, the wording is exactly what it was', async () => {
    const without = await run(mail(), undefined, await harness());
    const withUrl = await run(mail(), undefined, await harness({ consoleUrl: URL_BASE }));
    const a = noticeOf(without.mail!.text!).map((l) => l.replace(/Q-\d{8}-[A-Z2-7]{10}/g, 'Q-ID'));
    const b = noticeOf(withUrl.mail!.text!).map((l) => l.replace(/Q-\d{8}-[A-Z2-7]{10}/g, 'Q-ID'));
    expect(b.slice(0, -2)).toEqual(a);
    expect(without.mail!.text).not.toContain('/items/');
    expect(without.mail!.text).not.toContain('次のページ');
  });

  it('a danger: the page is given, but no request is invited', async () => {
    const o = await run(withAttachments('請求書です。', [{ type: 'application/pdf', filename: '請求書.pdf.exe', body: exe }]), undefined, await harness({ consoleUrl: URL_BASE }));
    const lines = noticeOf(o.mail!.text!);
    expect(lines.at(-2)).toBe('変更した内容は、次のページで確認できます。');
    expect(lines.at(-1)).toBe(`${URL_BASE}/items/${o.result.quarantineId}`);
  });

  it('a message blocked whole also ends with its page', async () => {
    const raw = Buffer.from(
      `From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${'--b\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'.repeat(60)}`,
    );
    const o = await run(raw, undefined, await harness({ consoleUrl: URL_BASE }));
    expect(o.result.verdict).toBe('blocked');
    expect(noticeOf(o.mail!.text!).at(-1)).toBe(`${URL_BASE}/items/${o.result.quarantineId}`);
  });

  it('a clean mail and one kept nowhere name no page', async () => {
    const o = await run(plain('会議の件、承知しました。\n'), undefined, await harness({ consoleUrl: URL_BASE }));
    expect(o.result.quarantineId).toBeNull();
    expect(o.mail!.text).not.toContain(URL_BASE);
  });

  it('a zip: the archive and each file in it, with what became of it', async () => {
    const h = await harness({ consoleUrl: URL_BASE });
    const z = await zip([
      ['memo.txt', 'メモです。'],
      ['run.exe', exe],
    ]);
    const o = await run(withAttachments('資料です。', [{ type: 'application/zip', filename: '資料.zip', body: z }]), undefined, h);
    const { meta } = await h.store.details(o.result.quarantineId!);
    expect(meta.attachments!.map((a) => [a.index, a.parent, a.name, a.outcome])).toEqual([
      [1, null, '資料.zip', 'opened'],
      [2, 1, 'memo.txt', 'delivered'],
      [3, 1, 'run.exe', 'removed'],
    ]);
    expect(meta.attachments![0]!.size).toBe(z.length);
  });

  describe('a password-protected zip or PDF: the page takes its password', () => {
    afterAll(closeDocuments);
    const ZIP_SAYS = 'パスワード付きの圧縮ファイルは中身を確認できないため、削除しました。';
    const ppap = async (): Promise<Buffer> =>
      withAttachments('見積書を送ります。パスワードは別のメールで送ります。', [{ type: 'application/zip', filename: '見積.zip', body: await zip([['見積書.txt', '見積です。']], { password: 'pw' }) }]);

    it('a zip attached to the mail: where to enter the password, instead of asking the sender to send it again', async () => {
      const o = await run(await ppap(), undefined, await harness({ consoleUrl: URL_BASE }));
      const lines = noticeOf(o.mail!.text!);
      expect(lines).toContain(`     ${ZIP_SAYS}パスワードが分かるときは、下のページで入力すると、中身を無害化してお届けします。`);
      expect(o.mail!.text).not.toContain('送り直して');
      expect(lines.slice(-2)).toEqual(['パスワードの入力、変更した内容の確認、原本の申請は、次のページでできます。', `${URL_BASE}/items/${o.result.quarantineId}`]);
      // Without the console's address there is no page: the sender is asked, as before.
      const without = noticeOf((await run(await ppap(), undefined, await harness())).mail!.text!);
      expect(without).toContain(`     ${ZIP_SAYS}必要なときは、差出人にパスワードを付けずに送り直してもらってください。`);
      expect(without.join('\n')).not.toContain('パスワードの入力');
    });

    it('a PDF attached to the mail too, converted by the real converter', async () => {
      const pdf = Buffer.from(encryptedPdf(await textPdf(1), 'pw'));
      const o = await run(
        withAttachments('資料です。', [{ type: 'application/pdf', filename: '資料.pdf', body: pdf }]),
        undefined,
        await harness({ consoleUrl: URL_BASE, documents: realDocuments() }),
      );
      expect(o.codes).toContain('document-encrypted');
      const lines = noticeOf(o.mail!.text!);
      expect(lines).toContain('     パスワード付きの PDF は変換できないため、削除しました。パスワードが分かるときは、下のページで入力すると、無害化してお届けします。');
      expect(lines.at(-2)).toBe('パスワードの入力、変更した内容の確認、原本の申請は、次のページでできます。');
    });

    it('a protected zip inside another zip is not offered: the console opens only what the mail itself carries', async () => {
      const inner = await zip([['見積書.txt', '見積です。']], { password: 'pw' });
      const outer = await zip([['内側.zip', inner]]);
      const o = await run(withAttachments('資料です。', [{ type: 'application/zip', filename: '外側.zip', body: outer }]), undefined, await harness({ consoleUrl: URL_BASE }));
      expect(o.codes).toContain('archive-encrypted');
      const text = o.mail!.text!;
      expect(text).toContain(`${ZIP_SAYS}必要なときは、差出人にパスワードを付けずに送り直してもらってください。`);
      expect(text).not.toContain('パスワードの入力');
      expect(noticeOf(text).at(-2)).toBe('変更した内容の確認と原本の申請は、次のページでできます。');
    });
  });
});
