// Sealed originals as files under <data dir>/quarantine (mode 0600 in a 0700
// folder), written durably: a put that resolved survives a crash.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { coalescedDirSync, fsyncDir, writeDurably } from '../durable/files.js';
import type { BlobStore } from '../store/types.js';
import { isQuarantineId } from './ids.js';
import { QuarantineReadError } from './errors.js';

export interface FileBlobStore extends BlobStore {
  readonly dir: string;
  fileOf(id: string): string;
}

export async function openFileBlobStore(dir: string): Promise<FileBlobStore> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const fileOf = (id: string): string => {
    if (!isQuarantineId(id))
      throw new QuarantineReadError(`隔離IDではありません: ${JSON.stringify(id.slice(0, 40))} / not a quarantine id: ${JSON.stringify(id.slice(0, 40))} (expected Q-YYYYMMDD-XXXXXXXXXX)`);
    return path.join(dir, `${id}.mgq`);
  };
  // Concurrent puts share the folder's fsync.
  const syncDir = coalescedDirSync(dir);
  return {
    dir,
    fileOf,
    async put(id, sealed) {
      await writeDurably(fileOf(id), sealed, 0o600, dir, syncDir);
    },
    async get(id) {
      return fs.readFile(fileOf(id)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw new QuarantineReadError(`${id} を読めません。/ cannot read ${id}: ${err.message}`);
      });
    },
    async delete(id) {
      await fs.rm(fileOf(id), { force: true });
      await fsyncDir(dir);
    },
  };
}
