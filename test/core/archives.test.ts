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

const png = (): Promise<Buffer> => sharp({ create: { width: 8, height: 8, channels: 3, background: '#036' } }).png().toBuffer();
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
    const o = await send(await zip([['資料/', ''], ['資料/図1.png', await png()], ['説明.txt', '説明です']]));
    expect(codesAt(o, 1)).toEqual(['archive-opened']);
    expect(codesAt(o, 2)).toEqual(['image-reencoded']);
    expect(codesAt(o, 3)).toEqual(['text-reencoded']);
    expect(files(o)).toEqual(['資料_図1.png image/png', '説明.txt text/plain']);
    expect(o.mail!.text).toContain('2. 資料/図1.png（1. の中、種類: 画像, image/png）');
    expect(o.mail!.text).toContain('→ 「資料_図1.png」として添付しています。');
  });

  it('reads names without the UTF-8 flag as Shift_JIS (Japanese Windows) or else CP437', async () => {
    const sjis = await send(await zip([['議事録/①会議.txt', 'a']], { names: 'cp932' }));
    expect(files(sjis)).toEqual(['議事録_①会議.txt text/plain']);
    const dos = await send(await zip([['café.txt', 'a']], { names: 'cp437' }));
    expect(files(dos)).toEqual(['café.txt text/plain']);
  });

  it('neutralises ../../etc/passwd, absolute and drive paths', async () => {
    const o = await send(await zip([['../../etc/passwd', 'root:x:0:0'], ['C:/Windows/evil.txt', 'x'], ['/abs.txt', 'y']]));
    for (const i of [2, 3, 4]) expect(codesAt(o, i)).toContain('archive-path-unsafe');
    expect(files(o)).toEqual(['etc_passwd.txt text/plain', 'Windows_evil.txt text/plain', 'abs.txt text/plain']);
    expect(o.mail!.text).not.toContain('../../etc');
    expect(o.mail!.text).toContain('2. etc/passwd（1. の中');
  });

  it('removes an executable inside and delivers the rest', async () => {
    const o = await send(await zip([['setup.exe', exe], ['readme.txt', 'read me']]));
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

describe('password-protected zips (PPAP) are removed with a way to get them', () => {
  for (const zipCrypto of [false, true]) {
    it(zipCrypto ? 'ZipCrypto' : 'AES-256', async () => {
      const o = await send(await zip([['見積書.xlsx', 'secret']], { password: 'p@ss', zipCrypto }));
      expect(codesAt(o, 1)).toEqual(['archive-encrypted']);
      expect(files(o)).toEqual([]);
      expect(o.mail!.text).toContain('パスワード解除を申請してください');
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
    const many = await zip(Array.from({ length: 60 }, (_, i): [string, string] => [`f${i}.txt`, `${i}`]), { level: 0 });
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
    const o = await send(await zip([['ok.txt', 'fine'], ['inner.zip', bomb]]));
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
      expect(o.mail!.text).toContain('zip 形式で送ってもらってください');
    });
  }
});
