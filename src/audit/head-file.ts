// The latest checkpoint, also kept outside the database in
// <data dir>/audit/head.json (written durably and atomically). Deleting the
// newest records together with their checkpoints from the database leaves
// this file pointing past the end of the chain, and verification says so.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeDurably } from '../durable/files.js';
import type { Checkpoint } from '../store/types.js';

export const headFilePath = (dataDir: string): string => path.join(dataDir, 'audit', 'head.json');

export class HeadFileError extends Error {
  override readonly name = 'HeadFileError';
}

/** The checkpoint in head.json; null when there is none yet. */
export async function readHeadFile(file: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let c: Partial<Checkpoint>;
  try {
    c = JSON.parse(text) as Partial<Checkpoint>;
  } catch {
    throw new HeadFileError(`${file} is not JSON / ${file} が JSON ではありません`);
  }
  if (typeof c.seq !== 'number' || !Number.isSafeInteger(c.seq) || typeof c.hash !== 'string' || typeof c.time !== 'string' || typeof c.keyId !== 'string' || typeof c.signature !== 'string') {
    throw new HeadFileError(`${file} is not a checkpoint (seq, hash, time, keyId, signature) / ${file} の形式が正しくありません`);
  }
  return { seq: c.seq, hash: c.hash, time: c.time, keyId: c.keyId, signature: c.signature };
}

/** Replaces head.json with `c` unless it already names a later record. */
export async function writeHeadFile(file: string, c: Checkpoint): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const current = await readHeadFile(file).catch(() => null);
  if (current && current.seq > c.seq) return;
  await writeDurably(file, Buffer.from(`${JSON.stringify(c, null, 2)}\n`), 0o600);
}
