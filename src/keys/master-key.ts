// One master key: 32 random bytes, named by a short fingerprint so that an
// error can say which key an item needs and which keys this gateway holds.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeDurably } from '../durable/files.js';
import { KEY_BYTES } from './aead.js';
import { EXIT, OperatorError } from '../model/operator-error.js';

export type KeyId = string & { readonly __brand: 'KeyId' };

export interface MasterKey {
  readonly id: KeyId;
  readonly bytes: Buffer;
}

/** First 16 hex digits of the key's SHA-256: names a key without revealing it. */
export const keyIdOf = (bytes: Buffer): KeyId => createHash('sha256').update(bytes).digest('hex').slice(0, 16) as KeyId;

export class KeyError extends OperatorError {
  override readonly name = 'KeyError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.failed, options);
  }
}

export function masterKey(bytes: Buffer, source: string): MasterKey {
  if (bytes.length !== KEY_BYTES) {
    throw new KeyError(
      `マスター鍵 ${source} が ${bytes.length} バイトです(${KEY_BYTES} バイトが必要)。バックアップから戻してください。/ ` +
        `master key ${source} has ${bytes.length} bytes, expected ${KEY_BYTES}: restore it from backup; quarantined originals cannot be read without it`,
    );
  }
  return { id: keyIdOf(bytes), bytes };
}

/** A key given in an environment variable as base64. */
export function keyFromBase64(value: string, variable: string): MasterKey {
  const text = value.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new KeyError(`${variable} が base64 ではありません。/ ${variable} is not base64: give 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
  }
  return masterKey(Buffer.from(text, 'base64'), variable);
}

/** Reads a key file; null when there is none. */
export async function readKeyFile(file: string): Promise<MasterKey | null> {
  const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new KeyError(`マスター鍵 ${file} を読めません。/ cannot read master key ${file}: ${err.message}`);
  });
  return bytes === null ? null : masterKey(bytes, file);
}

/**
 * Makes `file` hold a fresh key unless it exists, safely against another
 * process doing the same: the key is written durably under a unique name and
 * hard-linked into place, which fails if someone else won; both then use theirs.
 */
export async function createKeyFileOnce(file: string): Promise<MasterKey> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const fresh = `${file}.${randomBytes(6).toString('hex')}.new`;
  try {
    await writeDurably(fresh, randomBytes(KEY_BYTES), 0o600);
    await fs.link(fresh, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await fsyncDir(dir);
  } finally {
    await fs.rm(fresh, { force: true });
  }
  const key = await readKeyFile(file);
  if (!key) throw new KeyError(`マスター鍵 ${file} を作成できません。/ cannot create master key ${file}`);
  return key;
}
