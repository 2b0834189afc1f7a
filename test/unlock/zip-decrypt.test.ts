// Decrypting PPAP zips: both encryptions, wrong passwords (ZipCrypto's one-byte
// check lets about 1 in 256 through: those must still be wrong passwords),
// limits checked before anything is decrypted, and the result a zip the core
// opens like any other.
import { describe, expect, it } from 'vitest';
import { archiveBudget, readZip } from '../../src/core/archive.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { decryptZip, isEncryptedZip } from '../../src/unlock/zip-decrypt.js';
import { zip } from '../helpers/bytes.js';

const limits = defaultPolicy.archives;

describe('decryptZip', () => {
  for (const zipCrypto of [false, true]) {
    const kind = zipCrypto ? 'ZipCrypto' : 'AES-256';
    it(`opens a ${kind} zip into a zip the core reads, names and contents kept`, async () => {
      const secret = await zip(
        [
          ['資料/説明.txt', '本文'],
          ['資料/', ''],
          ['a.csv', 'x,y\r\n'],
        ],
        { password: 'kagi-123', zipCrypto },
      );
      expect(await isEncryptedZip(secret)).toBe(true);
      const r = await decryptZip(secret, 'kagi-123', limits);
      if (!r.ok) throw new Error(r.detail);
      expect(r.files).toBe(2);
      expect(await isEncryptedZip(r.zip)).toBe(false);
      const read = await readZip(r.zip, limits, archiveBudget(limits));
      if (!read.ok) throw new Error(read.detail);
      expect(await Promise.all(read.members.map(async (m) => [m.path, (await m.read()).toString('utf8')]))).toEqual([
        ['資料/説明.txt', '本文'],
        ['a.csv', 'x,y\r\n'],
      ]);
      read.close();
    });
  }

  it("calls every wrong password wrong, also those that pass ZipCrypto's check byte", async () => {
    const secret = await zip([['memo.txt', 'ZIPCRYPTO '.repeat(50)]], { password: 'right-one', zipCrypto: true });
    const reasons = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const r = await decryptZip(secret, `wrong-${i}`, limits);
      reasons.add(r.ok ? 'opened' : r.reason);
    }
    expect([...reasons]).toEqual(['wrong-password']);
    const aes = await zip([['memo.txt', 'AES']], { password: 'right-one' });
    expect(await decryptZip(aes, 'wrong', limits)).toMatchObject({ ok: false, reason: 'wrong-password' });
  }, 120_000);

  it('refuses what exceeds the archive limits before decrypting anything', async () => {
    const big = await zip([['zeros.bin', new Uint8Array(2 * 1024 * 1024)]], { password: 'p' });
    expect(await decryptZip(big, 'p', { ...limits, maxTotalBytes: 1024 * 1024 })).toMatchObject({ ok: false, reason: 'limit' });
    const many = await zip(
      Array.from({ length: 12 }, (_, i): [string, string] => [`f${i}.txt`, 'x']),
      { password: 'p' },
    );
    // The wrong password is not even tried: the limit comes first.
    expect(await decryptZip(many, 'wrong', { ...limits, maxEntries: 10 })).toMatchObject({ ok: false, reason: 'limit' });
  });

  it('knows a plain zip and other bytes are not encrypted zips', async () => {
    expect(await isEncryptedZip(await zip([['a.txt', 'a']]))).toBe(false);
    expect(await isEncryptedZip(Buffer.from('%PDF-1.7\n'))).toBe(false);
  });
});
