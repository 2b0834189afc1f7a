import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { open, OpenError, seal } from '../../src/keys/aead.js';
import { newDataKey, unwrapDataKey, wrapDataKey } from '../../src/keys/data-key.js';
import { keyFilesOf, openKeyRing } from '../../src/keys/key-ring.js';
import { createKeyFileOnce, keyIdOf } from '../../src/keys/master-key.js';
import { tempDir } from '../helpers/run.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const b64key = (): string => randomBytes(32).toString('base64');

/** Opens the key ring of `dataDir` in a separate Node process (the compiled code) and returns its key id. */
const ringInChild = (dataDir: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const code = `const m = await import(${JSON.stringify(path.join(ROOT, 'dist/keys/key-ring.js'))}); process.stdout.write((await m.openKeyRing(process.argv[1], {})).wrapping().id);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (status) => (status === 0 ? resolve(out) : reject(new Error(err))));
  });

describe('master key ring', () => {
  it('creates master.key on first use: 32 bytes, owner-only file in an owner-only folder, named by its SHA-256', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const ring = await openKeyRing(dataDir, {});
    const { dir, current } = keyFilesOf(dataDir);
    const bytes = readFileSync(current);
    expect(bytes).toHaveLength(32);
    expect(statSync(current).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(ring.wrapping().id).toBe(createHash('sha256').update(bytes).digest('hex').slice(0, 16));
    expect(ring.previous()).toBeNull();
    expect((await openKeyRing(dataDir, {})).wrapping().id).toBe(ring.wrapping().id);
  });

  it('is created once when several processes start at the same moment', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const ids = await Promise.all(Array.from({ length: 6 }, () => ringInChild(dataDir)));
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toBe(keyIdOf(readFileSync(keyFilesOf(dataDir).current)));
    expect(readdirSync(keyFilesOf(dataDir).dir)).toEqual(['master.key']);
  });

  it('takes the key from MUGAIKA_MASTER_KEY (base64) and then writes no key file', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const key = b64key();
    const ring = await openKeyRing(dataDir, { MUGAIKA_MASTER_KEY: key });
    expect(ring.wrapping().id).toBe(keyIdOf(Buffer.from(key, 'base64')));
    expect(ring.source.kind).toBe('env');
    expect(existsSync(keyFilesOf(dataDir).dir)).toBe(false);
  });

  it('refuses a key of the wrong size, a value that is not base64, and MUGAIKA_MASTER_KEY_NEW alone, saying what to do', async () => {
    const dataDir = tempDir();
    await expect(openKeyRing(dataDir, { MUGAIKA_MASTER_KEY: Buffer.alloc(16).toString('base64') })).rejects.toThrow(/MUGAIKA_MASTER_KEY has 16 bytes, expected 32/);
    await expect(openKeyRing(dataDir, { MUGAIKA_MASTER_KEY: 'not base64!' })).rejects.toThrow(/MUGAIKA_MASTER_KEY is not base64: .*openssl rand -base64 32/);
    await expect(openKeyRing(dataDir, { MUGAIKA_MASTER_KEY_NEW: b64key() })).rejects.toThrow(/MUGAIKA_MASTER_KEY_NEW is set without MUGAIKA_MASTER_KEY/);
    const ring = await openKeyRing(dataDir, {});
    expect(ring.wrapping().id).toMatch(/^[0-9a-f]{16}$/);
    const { current } = keyFilesOf(dataDir);
    renameSync(current, `${current}.bak`);
    writeFileSync(current, Buffer.alloc(5));
    await expect(openKeyRing(dataDir, {})).rejects.toThrow(/master.key has 5 bytes, expected 32: restore it from backup/);
  });

  it('holds both keys while a rotation is under way and picks the change up on refresh', async () => {
    const dataDir = tempDir();
    const ring = await openKeyRing(dataDir, {});
    const old = ring.wrapping();
    const files = keyFilesOf(dataDir);
    const next = await createKeyFileOnce(files.next);
    expect(ring.wrapping().id).toBe(old.id);
    await ring.refresh();
    expect(ring.wrapping().id).toBe(next.id);
    expect(ring.previous()?.id).toBe(old.id);
    expect(ring.ids()).toEqual([old.id, next.id]);
    renameSync(files.next, files.current);
    await ring.refresh();
    expect(ring.ids()).toEqual([next.id]);
    expect(ring.find(old.id)).toBeUndefined();
  });
});

describe('sealing and data keys', () => {
  it('opens only with the same key and associated data, whole or not at all', () => {
    const key = randomBytes(32);
    const sealed = seal(key, Buffer.from('原本'), Buffer.from('a'));
    expect(open(key, sealed, Buffer.from('a')).toString()).toBe('原本');
    expect(() => open(key, sealed, Buffer.from('b'))).toThrow(OpenError);
    expect(() => open(randomBytes(32), sealed, Buffer.from('a'))).toThrow(/failed authentication/);
    expect(() => open(key, sealed.subarray(0, 27), Buffer.from('a'))).toThrow(/truncated/);
    expect(() => open(key, sealed.subarray(0, sealed.length - 1), Buffer.from('a'))).toThrow(/failed authentication/);
  });

  it('a wrapped data key opens only for its item and its master key; a missing key is named', async () => {
    const ring = await openKeyRing(tempDir(), { MUGAIKA_MASTER_KEY: b64key() });
    const other = await openKeyRing(tempDir(), { MUGAIKA_MASTER_KEY: b64key() });
    const master = ring.wrapping();
    const dk = newDataKey();
    const wrapped = wrapDataKey(master, 'Q-20261126-AAAAAAAAAA', dk);
    expect(unwrapDataKey(ring, 'Q-20261126-AAAAAAAAAA', master.id, wrapped).equals(dk)).toBe(true);
    expect(() => unwrapDataKey(ring, 'Q-20261126-BBBBBBBBBB', master.id, wrapped)).toThrow(/does not open with master key .*altered/);
    const theirs = other.wrapping().id;
    expect(() => unwrapDataKey(other, 'Q-20261126-AAAAAAAAAA', master.id, wrapped)).toThrow(new RegExp(`sealed under master key ${master.id}, but the keys here are ${theirs}`));
  });
});
