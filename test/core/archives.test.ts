// Zip attachments: unpacked under limits, each file sanitized on its own and
// delivered under its flattened path; bombs, lies, broken zips, encrypted zips
// (PPAP) and other archive formats get a verdict in bounded time and memory.
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { zip } from '../helpers/bytes.js';
import { policyWith, run, withAttachments, type Outcome } from '../helpers/run.js';
import type { Policy } from '../../src/core/policy.js';

const png = (): Promise<Buffer> =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#036' } })
    .png()
    .toBuffer();
const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);

async function send(body: Buffer, name = '資料一式.zip', policy?: Policy): Promise<Outcome> {
  const raw = withAttachments('資料を送ります。', [{ type: 'application/zip', filename: name, body }]);
  const started = Date.now();
  const o = await run(raw, policy);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(o.result.action).toBe('deliver');
  expect(await violations(o.raw!)).toEqual([]);
  if (o.result.findings.length > 0) expect((await o.h.store.get(o.result.quarantineId!)).raw.equals(raw)).toBe(true);
  return o;
}

const files = (o: Outcome): string[] => o.mail!.attachments.map((a) => `${a.filename} ${a.contentType}`);
const codesAt = (o: Outcome, i: number): string[] => o.result.findings.filter((f) => f.attachment === i).map((f) => f.code);

/** Rewrites the uncompressed size of the first central directory entry. */
const lieAboutSize = (z: Buffer, size: number): Buffer => {
  const out = Buffer.from(z);
  const cd = out.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  out.writeUInt32LE(size, cd + 24);
  return out;
};

describe('a zip is unpacked and each file in it sanitized', () => {
  it('delivers 資料/図1.png as 資料_図1.png and 説明.txt as text, listing both under the zip', async () => {
    const o = await send(
      await zip([
        ['資料/', ''],
        ['資料/図1.png', await png()],
        ['説明.txt', '説明です'],
      ]),
    );
    expect(codesAt(o, 1)).toEqual(['archive-opened']);
    expect(codesAt(o, 2)).toEqual(['image-reencoded']);
    expect(codesAt(o, 3)).toEqual(['text-reencoded']);
    expect(files(o)).toEqual(['資料_図1.png image/png', '説明.txt text/plain']);
    expect(o.mail!.text).toContain('  2. 資料/図1.png（1. の中、画像）\n     画像を作り直しました（撮影場所などの付加情報は削除）。「資料_図1.png」として添付しました。');
    expect(o.mail!.text).toContain('  1. 資料一式.zip（圧縮ファイル）\n     展開して、中のファイルを一つずつ無害化しました。中のファイル2件は次のとおりです。');
  });

  it('reads names without the UTF-8 flag as Shift_JIS (Japanese Windows) or else CP437', async () => {
    const sjis = await send(await zip([['議事録/①会議.txt', 'a']], { names: 'cp932' }));
    expect(files(sjis)).toEqual(['議事録_①会議.txt text/plain']);
    const dos = await send(await zip([['café.txt', 'a']], { names: 'cp437' }));
    expect(files(dos)).toEqual(['café.txt text/plain']);
  });

  it('reads UTF-8 names written without the flag (Info-ZIP on Linux) as UTF-8, not as Shift_JIS mojibake', async () => {
    const z = await zip(
      [
        ['議事録/説明_資料.txt', '説明です'],
        ['議事録/令和8年度①.txt', 'b'],
      ],
      { names: 'utf-8-noflag' },
    );
    // The flag (bit 11) is really unset, and there is no Unicode Path field to lean on.
    const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    expect(z.readUInt16LE(cd + 8) & 0x800).toBe(0);
    expect(z.includes(Buffer.from([0x75, 0x70]))).toBe(false);
    const o = await send(z);
    expect(files(o)).toEqual(['議事録_説明_資料.txt text/plain', '議事録_令和8年度①.txt text/plain']);
    expect(o.mail!.text).toContain('議事録/説明_資料.txt');
    expect(o.mail!.text).not.toMatch(/雉|譁|隱/);
  });

  it('reads a macOS Archive Utility zip: decomposed UTF-8 names without the flag become composed, its __MACOSX metadata is left out', async () => {
    const nfd = (s: string): string => s.normalize('NFD');
    const appleDouble = Buffer.concat([Buffer.from([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00]), Buffer.from('Mac OS X        '), Buffer.alloc(40)]);
    const z = await zip(
      [
        [nfd('申請書/'), ''],
        [nfd('申請書/ダウンロード手順.txt'), 'ダウンロードの手順です'],
        ['__MACOSX/', ''],
        [nfd('__MACOSX/申請書/._ダウンロード手順.txt'), appleDouble],
      ],
      { names: 'utf-8-noflag' },
    );
    expect(z.includes(Buffer.from(nfd('ダ'), 'utf8'))).toBe(true);
    const o = await send(z);
    expect(files(o)).toEqual(['申請書_ダウンロード手順.txt text/plain']);
    expect(o.mail!.attachments[0]!.filename).toBe('申請書_ダウンロード手順.txt'.normalize('NFC'));
    expect(o.mail!.text).not.toContain('__MACOSX');
    expect(o.result.findings.find((f) => f.code === 'archive-opened')?.detail).toBe('1 files, 1 macOS metadata files left out');
  });

  it('decides the names of one archive together: a Shift_JIS name that happens to be valid UTF-8 (ﾃｽ) is read as Shift_JIS', async () => {
    const o = await send(
      await zip(
        [
          ['ﾃｽ.txt', 'a'],
          ['資料.txt', 'b'],
        ],
        { names: 'cp932' },
      ),
    );
    expect(files(o)).toEqual(['ﾃｽ.txt text/plain', '資料.txt text/plain']);
    // Alone, too: valid both ways, and no kana or kanji in its UTF-8 reading.
    expect(files(await send(await zip([['ﾃｽ.txt', 'a']], { names: 'cp932' })))).toEqual(['ﾃｽ.txt text/plain']);
    // A UTF-8 name of kana and kanji is often valid Shift_JIS too ("あ" is E3 81 82): UTF-8 wins.
    expect(files(await send(await zip([['あ.txt', 'a']], { names: 'utf-8-noflag' })))).toEqual(['あ.txt text/plain']);
  });

  it('names member files correctly in what the quarantine keeps (finding details) too', async () => {
    const o = await send(await zip([['議事録.txt', 'a']], { names: 'utf-8-noflag', password: 'pw' }));
    expect(o.result.findings.find((f) => f.code === 'archive-encrypted')?.detail).toBe('議事録.txt is encrypted');
    const kept = await o.h.store.details(o.result.quarantineId!);
    expect(kept.meta.findings.find((f) => f.code === 'archive-encrypted')?.detail).toBe('議事録.txt is encrypted');
  });

  it('neutralises ../../etc/passwd, absolute and drive paths', async () => {
    const o = await send(
      await zip([
        ['../../etc/passwd', 'root:x:0:0'],
        ['C:/Windows/evil.txt', 'x'],
        ['/abs.txt', 'y'],
      ]),
    );
    for (const i of [2, 3, 4]) expect(codesAt(o, i)).toContain('archive-path-unsafe');
    expect(files(o)).toEqual(['etc_passwd.txt text/plain', 'Windows_evil.txt text/plain', 'abs.txt text/plain']);
    expect(o.mail!.text).not.toContain('../../etc');
    expect(o.mail!.text).toContain('2. etc/passwd（1. の中');
  });

  it('removes an executable inside and delivers the rest', async () => {
    const o = await send(
      await zip([
        ['setup.exe', exe],
        ['readme.txt', 'read me'],
      ]),
    );
    expect(codesAt(o, 2)).toEqual(['attachment-removed']);
    expect(files(o)).toEqual(['readme.txt text/plain']);
  });

  it('opens a zip in a zip in a zip (archives.maxDepth 3)', async () => {
    const inner = await zip([['c.txt', 'innermost']]);
    const middle = await zip([['inner.zip', inner]]);
    const o = await send(await zip([['middle.zip', middle]]));
    expect(o.codes.filter((c) => c === 'archive-opened')).toHaveLength(3);
    expect(files(o)).toEqual(['c.txt text/plain']);
    expect(o.mail!.text).toContain('4. c.txt（3. の中');
  });
});

describe('password-protected zips (PPAP) are removed, asking for the file without a password', () => {
  for (const zipCrypto of [false, true]) {
    it(zipCrypto ? 'ZipCrypto' : 'AES-256', async () => {
      const o = await send(await zip([['見積書.xlsx', 'secret']], { password: 'p@ss', zipCrypto }));
      expect(codesAt(o, 1)).toEqual(['archive-encrypted']);
      expect(files(o)).toEqual([]);
      // Nothing unlocks a zip for the recipient: the notice asks for it again, without a password.
      expect(o.mail!.text).toContain('パスワード付きの圧縮ファイルは中身を確認できないため、削除しました。必要なときは、差出人にパスワードを付けずに送り直してもらってください。');
      expect(o.mail!.text).not.toContain('パスワード解除');
      expect(o.mail!.text).toContain(o.result.quarantineId!);
    });
  }
});

describe('bombs, lies and broken zips: removed whole, quickly', () => {
  const zeros = Buffer.alloc(8 * 1024 * 1024);

  it('a file that inflates more than archives.maxRatio times', async () => {
    const o = await send(await zip([['zeros.txt', zeros]], { level: 9 }));
    expect(codesAt(o, 1)).toEqual(['archive-limit']);
    expect(o.result.findings.find((f) => f.code === 'archive-limit')!.detail).toMatch(/ratio/);
    expect(files(o)).toEqual([]);
  });

  it('more uncompressed bytes than archives.maxTotalBytes', async () => {
    const o = await send(await zip([['a.txt', 'x'.repeat(5000)]], { level: 0 }), 'a.zip', policyWith({ archives: { maxTotalBytes: 4096 } }));
    expect(codesAt(o, 1)).toEqual(['archive-limit']);
  });

  it('more files than archives.maxEntries', async () => {
    const many = await zip(
      Array.from({ length: 60 }, (_, i): [string, string] => [`f${i}.txt`, `${i}`]),
      { level: 0 },
    );
    const o = await send(many, 'a.zip', policyWith({ archives: { maxEntries: 50 } }));
    expect(codesAt(o, 1)).toEqual(['archive-limit']);
  });

  it('an end record that claims 10 000 files', async () => {
    const z = Buffer.from(await zip([['a.txt', 'a']]));
    const eocd = z.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    z.writeUInt16LE(10_000, eocd + 8);
    z.writeUInt16LE(10_000, eocd + 10);
    const o = await send(z);
    expect(codesAt(o, 1)).toEqual(['archive-limit']);
  });

  it('a bomb nested inside a zip condemns the outer zip, nothing of it delivered', async () => {
    const bomb = await zip([['zeros.bin', zeros]], { level: 9 });
    const o = await send(
      await zip([
        ['ok.txt', 'fine'],
        ['inner.zip', bomb],
      ]),
    );
    expect(o.codes).toEqual(['archive-limit']);
    expect(files(o)).toEqual([]);
  });

  it('a zip nested deeper than archives.maxDepth', async () => {
    let z = await zip([['deep.txt', 'x']]);
    for (let i = 0; i < 3; i++) z = await zip([[`level${i}.zip`, z]]);
    const o = await send(z);
    expect(o.codes).toEqual(['archive-limit']);
    expect(files(o)).toEqual([]);
  });

  it('a central directory that understates a size', async () => {
    const o = await send(lieAboutSize(await zip([['a.txt', 'x'.repeat(100_000)]]), 10));
    expect(codesAt(o, 1)).toEqual(['archive-corrupt']);
    expect(files(o)).toEqual([]);
  });

  it('a truncated zip', async () => {
    const z = await zip([['a.txt', 'hello'.repeat(1000)]]);
    const o = await send(z.subarray(0, z.length - 30));
    expect(codesAt(o, 1)).toEqual(['archive-corrupt']);
  });
});

describe('other archive formats are removed, asking for a zip', () => {
  const cases: Array<[string, string, Buffer]> = [
    ['gzip', 'log.gz', gzipSync(Buffer.from('hello'))],
    ['7z', 'a.7z', Buffer.concat([Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), Buffer.alloc(64)])],
    ['rar', 'a.rar', Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), Buffer.alloc(64)])],
  ];
  for (const [what, name, bytes] of cases) {
    it(what, async () => {
      const o = await send(bytes, name);
      expect(codesAt(o, 1)).toEqual(['archive-unsupported']);
      expect(o.mail!.text).toContain('必要なときは、差出人に zip 形式で送り直してもらってください。');
    });
  }
});
