// Originals kept on local disk, encrypted at rest with AES-256-GCM. The key is
// generated on first use into <data dir>/keys/quarantine.key (mode 0600); each
// item is written to a temporary file, fsync'd, renamed and the folder fsync'd,
// so an id handed out always names a complete, durable item.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeDurably } from '../durable/files.js';
import type { QuarantineId, QuarantineMeta, QuarantineStore } from '../core/ports.js';

const MAGIC = Buffer.from('MGQ1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const ID_PATTERN = /^Q-\d{8}-[A-Z2-7]{10}$/;

export interface StoredOriginal {
  raw: Buffer;
  meta: QuarantineMeta;
}

export class QuarantineReadError extends Error {
  override readonly name = 'QuarantineReadError';
}

/** Reads the key, creating it (and its folder) on first use. */
export async function loadOrCreateKey(dataDir: string): Promise<Buffer> {
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, 'quarantine.key');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const exists = await fs.access(file).then(() => true, () => false);
  if (!exists) {
    const fresh = `${file}.${randomBytes(6).toString('hex')}.new`;
    try {
      await writeDurably(fresh, randomBytes(KEY_BYTES), 0o600);
      // link() fails if another process made a key meanwhile: both then use that one.
      await fs.link(fresh, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await fsyncDir(dir);
    } finally {
      await fs.rm(fresh, { force: true });
    }
  }
  const key = await fs.readFile(file);
  if (key.length !== KEY_BYTES) {
    throw new Error(`quarantine key ${file} has ${key.length} bytes, expected ${KEY_BYTES}: restore it from backup; originals cannot be read without it`);
  }
  return key;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function newId(now: Date): QuarantineId {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  const rnd = [...randomBytes(10)].map((b) => BASE32[b % 32]).join('');
  return `Q-${day}-${rnd}` as QuarantineId;
}

export interface LocalQuarantine extends QuarantineStore {
  get(id: string): Promise<StoredOriginal>;
  readonly dir: string;
}

export async function openLocalQuarantine(dataDir: string): Promise<LocalQuarantine> {
  const key = await loadOrCreateKey(dataDir);
  const dir = path.join(dataDir, 'quarantine');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const fileOf = (id: string): string => {
    if (!ID_PATTERN.test(id)) throw new QuarantineReadError(`not a quarantine id: ${JSON.stringify(id.slice(0, 40))} (expected Q-YYYYMMDD-XXXXXXXXXX)`);
    return path.join(dir, `${id}.mgq`);
  };
  return {
    dir,
    async put(original, meta) {
      const id = newId(meta.receivedAt);
      const metaJson = Buffer.from(JSON.stringify(meta), 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(metaJson.length);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(id));
      const body = Buffer.concat([cipher.update(length), cipher.update(metaJson), cipher.update(original), cipher.final()]);
      await writeDurably(fileOf(id), Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]), 0o600);
      return id;
    },
    async get(id) {
      const blob = await fs.readFile(fileOf(id)).catch((err: NodeJS.ErrnoException) => {
        throw new QuarantineReadError(err.code === 'ENOENT' ? `no quarantined message ${id}` : `cannot read ${id}: ${err.message}`);
      });
      if (blob.length < MAGIC.length + IV_BYTES + TAG_BYTES + 4 || !blob.subarray(0, 4).equals(MAGIC)) {
        throw new QuarantineReadError(`${id} is truncated or not a quarantine file`);
      }
      const iv = blob.subarray(4, 4 + IV_BYTES);
      const tag = blob.subarray(4 + IV_BYTES, 4 + IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(tag);
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(blob.subarray(4 + IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch {
        throw new QuarantineReadError(`${id} failed authentication: it was altered, or the key is not the one it was written with`);
      }
      const metaLength = plain.readUInt32BE(0);
      const meta = JSON.parse(plain.subarray(4, 4 + metaLength).toString('utf8')) as QuarantineMeta;
      return { raw: plain.subarray(4 + metaLength), meta: { ...meta, receivedAt: new Date(meta.receivedAt) } };
    },
  };
}
