import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QuarantineMeta } from '../../src/core/ports.js';
import { openLocalQuarantine, QuarantineReadError } from '../../src/quarantine/local-store.js';
import { harness, plain, run, tempDir } from '../helpers/run.js';

const meta: QuarantineMeta = {
  receivedAt: new Date('2026-11-26T01:00:00Z'),
  envelopeFrom: 'a@example.jp',
  envelopeTo: ['b@city.example.lg.jp'],
  from: 'a@example.jp',
  to: ['b@city.example.lg.jp'],
  subject: '件名',
  findings: [{ code: 'html-converted' }],
};

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));

describe('local encrypted quarantine', () => {
  it('keeps an original and gives it back with its metadata', async () => {
    const store = await openLocalQuarantine(tempDir());
    const original = Buffer.from('Subject: x\r\n\r\n本文\r\n');
    const id = await store.put(original, meta);
    expect(id).toMatch(/^Q-20261126-[A-Z2-7]{10}$/);
    const back = await store.get(id);
    expect(Buffer.compare(back.raw, original)).toBe(0);
    expect(back.meta).toEqual(meta);
  });

  it('creates its key once, 32 bytes, readable by the owner only; folders are private', async () => {
    const dir = tempDir();
    const [a, b] = await Promise.all([openLocalQuarantine(dir), openLocalQuarantine(dir)]);
    const id = await a.put(Buffer.from('x'), meta);
    expect((await b.get(id)).raw.toString()).toBe('x');
    const key = path.join(dir, 'keys', 'quarantine.key');
    expect(readFileSync(key)).toHaveLength(32);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(statSync(a.dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(a.dir, `${id}.mgq`)).mode & 0o777).toBe(0o600);
    expect(readdirSync(a.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves no plaintext of an original anywhere under the data dir', async () => {
    const h = await harness();
    const canary = 'CANARY-7f3a9c-個人番号123456789012';
    const o = await run(plain(`機密: ${canary}\nhttps://example.jp/`), undefined, h);
    expect(o.result.quarantineId).not.toBeNull();
    const needles = [Buffer.from(canary), Buffer.from('CANARY-7f3a9c'), Buffer.from('123456789012')];
    for (const file of filesUnder(h.dataDir)) {
      const bytes = readFileSync(file);
      for (const n of needles) expect(bytes.includes(n), `${file} contains the canary`).toBe(false);
    }
  });

  it('refuses a blob read with another key', async () => {
    const dir = tempDir();
    const id = await (await openLocalQuarantine(dir)).put(Buffer.from('secret'), meta);
    writeFileSync(path.join(dir, 'keys', 'quarantine.key'), randomBytes(32));
    await expect((await openLocalQuarantine(dir)).get(id)).rejects.toThrow(/failed authentication/);
  });

  it('refuses a corrupted tag, a flipped ciphertext bit, a truncated blob and a renamed one', async () => {
    const store = await openLocalQuarantine(tempDir());
    const file = async (): Promise<[string, string]> => {
      const id = await store.put(Buffer.from('secret original'), meta);
      return [id, path.join(store.dir, `${id}.mgq`)];
    };
    const [id1, f1] = await file();
    const b1 = readFileSync(f1);
    b1[20]! ^= 0x01; // inside the tag
    writeFileSync(f1, b1);
    await expect(store.get(id1)).rejects.toBeInstanceOf(QuarantineReadError);

    const [id2, f2] = await file();
    const b2 = readFileSync(f2);
    b2[b2.length - 1]! ^= 0x80;
    writeFileSync(f2, b2);
    await expect(store.get(id2)).rejects.toThrow(/failed authentication/);

    const [id3, f3] = await file();
    writeFileSync(f3, readFileSync(f3).subarray(0, 20));
    await expect(store.get(id3)).rejects.toThrow(/truncated/);

    const [id4, f4] = await file();
    const [id5] = await file();
    renameSync(f4, path.join(store.dir, `${id5}.mgq`));
    await expect(store.get(id5)).rejects.toThrow(/failed authentication/);
    await expect(store.get(id4)).rejects.toThrow(/no quarantined message/);
  });

  it('refuses ids that are not ids (no path tricks)', async () => {
    const store = await openLocalQuarantine(tempDir());
    await expect(store.get('../keys/quarantine')).rejects.toThrow(/not a quarantine id/);
  });

  it('refuses a key file of the wrong size with advice', async () => {
    const dir = tempDir();
    await openLocalQuarantine(dir);
    writeFileSync(path.join(dir, 'keys', 'quarantine.key'), Buffer.alloc(5));
    await expect(openLocalQuarantine(dir)).rejects.toThrow(/has 5 bytes, expected 32: restore it from backup/);
  });
});
