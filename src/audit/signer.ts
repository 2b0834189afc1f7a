// The key that signs checkpoints, kept outside the database: whoever can edit
// the database cannot forge a checkpoint without it.
//
//   <data dir>/keys/audit-signing.key   Ed25519 private key, PKCS#8 PEM, 0600
//   <data dir>/keys/audit-signing.pub   its public key, SPKI PEM
//   <data dir>/keys/trusted/*.pub       public keys of other gateways sharing
//                                       one PostgreSQL database
//
// keyId: the first 32 hex digits of SHA-256 over the public key's DER.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeDurably } from '../durable/files.js';
import type { Checkpoint } from '../store/types.js';

export const SIGNING_KEY_FILE = 'audit-signing.key';
export const PUBLIC_KEY_FILE = 'audit-signing.pub';
export const TRUSTED_DIR = 'trusted';

export interface AuditSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  /** Signs "the record at `seq` has hash `hash`". */
  checkpoint(seq: number, hash: string, time: Date): Checkpoint;
}

export type CheckpointCheck = 'valid' | 'bad-signature' | 'unknown-key';

export interface AuditTrust {
  readonly keyIds: readonly string[];
  /** The trusted public keys as SPKI PEM: trustFromPem makes the same trust (on another thread). */
  readonly publicKeysPem: readonly string[];
  check(c: Checkpoint): CheckpointCheck;
}

export const keyIdOf = (publicKey: KeyObject): string =>
  createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 32);

/** The text a checkpoint signature covers. */
export const checkpointText = (c: Pick<Checkpoint, 'seq' | 'hash' | 'time' | 'keyId'>): string => JSON.stringify(['mugaika-audit-checkpoint-v1', c.seq, c.hash, c.time, c.keyId]);

const keysDir = (dataDir: string): string => path.join(dataDir, 'keys');

/** Reads the signing key, creating it on first use (race-safe: the first process to link its key wins). */
export async function loadOrCreateSigner(dataDir: string): Promise<AuditSigner> {
  const dir = keysDir(dataDir);
  const file = path.join(dir, SIGNING_KEY_FILE);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const exists = await fs.access(file).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const { privateKey } = generateKeyPairSync('ed25519');
    const fresh = `${file}.${randomBytes(6).toString('hex')}.new`;
    try {
      await writeDurably(fresh, Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 0o600);
      await fs.link(fresh, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await fsyncDir(dir);
    } finally {
      await fs.rm(fresh, { force: true });
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await fs.readFile(file));
  } catch (err) {
    throw new Error(
      `cannot read the audit signing key ${file}: ${(err as Error).message}; restore it from backup (or move it away to start a new key; older checkpoints then need its .pub in keys/trusted/) / 監査ログ署名鍵を読めません。バックアップから戻してください`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 key / ${file} は Ed25519 の鍵ではありません`);
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const pubFile = path.join(dir, PUBLIC_KEY_FILE);
  const currentPub = await fs.readFile(pubFile, 'utf8').catch(() => null);
  if (currentPub !== publicKeyPem) await writeDurably(pubFile, Buffer.from(publicKeyPem), 0o644);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKeyPem,
    checkpoint(seq, hash, time) {
      const unsigned = { seq, hash, time: time.toISOString(), keyId };
      return { ...unsigned, signature: sign(null, Buffer.from(checkpointText(unsigned)), privateKey).toString('base64') };
    },
  };
}

/** The public keys whose checkpoints verification accepts: the local one and keys/trusted/*.pub. */
export async function loadTrust(dataDir: string): Promise<AuditTrust> {
  const dir = keysDir(dataDir);
  const files = [path.join(dir, PUBLIC_KEY_FILE)];
  const trusted = await fs.readdir(path.join(dir, TRUSTED_DIR)).catch(() => [] as string[]);
  for (const name of trusted.sort()) if (name.endsWith('.pub')) files.push(path.join(dir, TRUSTED_DIR, name));
  const keys = new Map<string, KeyObject>();
  for (const f of files) {
    let pem: string;
    try {
      pem = await fs.readFile(f, 'utf8');
    } catch {
      continue;
    }
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new Error(`${f} is not a public key (PEM): ${(err as Error).message} / ${f} は公開鍵 (PEM) ではありません`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${f} is not an Ed25519 public key / ${f} は Ed25519 の公開鍵ではありません`);
    keys.set(keyIdOf(key), key);
  }
  return trustOf(keys);
}

export function trustOf(keys: ReadonlyMap<string, KeyObject>): AuditTrust {
  return {
    keyIds: [...keys.keys()],
    publicKeysPem: [...keys.values()].map((k) => k.export({ type: 'spki', format: 'pem' }) as string),
    check(c) {
      const key = keys.get(c.keyId);
      if (!key) return 'unknown-key';
      let ok = false;
      try {
        ok = verify(null, Buffer.from(checkpointText(c)), key, Buffer.from(c.signature, 'base64'));
      } catch {
        ok = false;
      }
      return ok ? 'valid' : 'bad-signature';
    },
  };
}

export const trustFromPem = (pems: readonly string[]): AuditTrust =>
  trustOf(
    new Map(
      pems.map((pem) => {
        const key = createPublicKey(pem);
        return [keyIdOf(key), key];
      }),
    ),
  );
