// Copying one file into or out of a backup, streamed (a database can be
// gigabytes): plain, or sealed with AES-256-GCM under a key derived from the
// operator's passphrase (scrypt). A sealed file is
//
//   "MGKBENC1" | nonce (12) | ciphertext | tag (16)
//
// and its associated data is its path inside the backup, so that a sealed
// file moved to another name does not open. The SHA-256 of the bytes stored
// in the backup is computed on the way (the manifest lists it).
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt as scryptCb, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

const MAGIC = Buffer.from('MGKBENC1', 'ascii');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** How the backup key is derived from the passphrase; kept in backup.json. */
export interface KdfParams {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64 */
  salt: string;
  cipher: 'aes-256-gcm';
}

export const newKdfParams = (): KdfParams => ({ kdf: 'scrypt', N: 2 ** 15, r: 8, p: 1, salt: randomBytes(16).toString('base64'), cipher: 'aes-256-gcm' });

export async function deriveBackupKey(passphrase: string, p: KdfParams): Promise<Buffer> {
  if (p.kdf !== 'scrypt' || p.cipher !== 'aes-256-gcm' || !Number.isSafeInteger(p.N) || p.N < 2 ** 14 || p.N > 2 ** 20 || p.r < 1 || p.r > 32 || p.p < 1 || p.p > 4) {
    throw new Error(`unsupported key derivation ${JSON.stringify(p)}`);
  }
  return scrypt(passphrase.normalize('NFC'), Buffer.from(p.salt, 'base64'), 32, { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 });
}

/** Passes bytes through unchanged, hashing them. */
const hashing = (hash: Hash): Transform =>
  new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
  });

export interface Stored {
  size: number;
  sha256: string;
}

/** Copies `from` to `to` (created 0600, must not exist), sealed when a key is given; returns what was stored. */
export async function storeFile(from: string, to: string, key: Buffer | null, aad: string): Promise<Stored> {
  const hash = createHash('sha256');
  const out = createWriteStream(to, { flags: 'wx', mode: 0o600 });
  if (!key) {
    await pipeline(createReadStream(from), hashing(hash), out);
  } else {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const header = Buffer.concat([MAGIC, iv]);
    hash.update(header);
    out.write(header);
    await pipeline(createReadStream(from), cipher, hashing(hash), out, { end: false });
    const tag = cipher.getAuthTag();
    hash.update(tag);
    await new Promise<void>((resolve, reject) => out.end(tag, () => resolve()).once('error', reject));
  }
  const handle = await fs.open(to, 'r');
  try {
    await handle.sync();
    return { size: (await handle.stat()).size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/** The SHA-256 (hex) of a file. */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hashing(hash), new Transform({ transform: (_c, _e, done) => done() }));
  return hash.digest('hex');
}

export class SealedFileError extends Error {
  override readonly name = 'SealedFileError';
}

/**
 * Writes the plain content of a stored file to `to` (0600, must not exist).
 * A sealed file whose tag does not verify (wrong passphrase, altered) throws
 * SealedFileError; `to` is then removed, never left half-written.
 */
export async function unstoreFile(from: string, to: string, key: Buffer | null, aad: string, mode = 0o600): Promise<void> {
  try {
    if (!key) {
      await pipeline(createReadStream(from), createWriteStream(to, { flags: 'wx', mode }));
    } else {
      const { size } = await fs.stat(from);
      if (size < MAGIC.length + IV_BYTES + TAG_BYTES) throw new SealedFileError(`${from} is truncated`);
      const handle = await fs.open(from, 'r');
      const head = Buffer.alloc(MAGIC.length + IV_BYTES);
      const tag = Buffer.alloc(TAG_BYTES);
      try {
        await handle.read(head, 0, head.length, 0);
        await handle.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
      } finally {
        await handle.close();
      }
      if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw new SealedFileError(`${from} is not a sealed backup file`);
      const decipher = createDecipheriv('aes-256-gcm', key, head.subarray(MAGIC.length), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      const body = size - TAG_BYTES > head.length ? createReadStream(from, { start: head.length, end: size - TAG_BYTES - 1 }) : Readable.from([]);
      await pipeline(body, decipher, createWriteStream(to, { flags: 'wx', mode })).catch((err: unknown) => {
        if (err instanceof SealedFileError) throw err;
        throw new SealedFileError(`${from} does not open: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    const handle = await fs.open(to, 'r');
    await handle.sync().finally(() => handle.close());
  } catch (err) {
    await fs.rm(to, { force: true });
    throw err;
  }
}
