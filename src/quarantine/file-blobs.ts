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

/** A write's temporary file older than this was left by a writer that died mid-write (a crash, a kill). */
export const STALE_TEMP_MS = 3_600_000;

/**
 * Removes the temporary files of writes that never finished (writeDurably's
 * `.<id>.mgq.<random>.tmp`), once they are an hour old: a younger one may be
 * another process's write in progress (`mugaika sanitize` beside the gateway).
 * They hold only sealed bytes, but nothing else would ever remove them.
 */
async function sweepStaleTemps(dir: string, now: number): Promise<void> {
  for await (const e of await fs.opendir(dir)) {
    if (!e.isFile() || !e.name.startsWith('.') || !e.name.endsWith('.tmp')) continue;
    const file = path.join(dir, e.name);
    const st = await fs.stat(file).catch(() => null);
    if (st && now - st.mtimeMs > STALE_TEMP_MS) await fs.rm(file, { force: true });
  }
}

/**
 * `recover` (the gateway's start only, as the spool's): sweep what writes a
 * crash cut short. Not on every open: a CLI command, or each sanitizer
 * thread, would read the whole folder (100,000 originals and more) for it.
 */
export async function openFileBlobStore(dir: string, o: { recover?: boolean; now?: () => number } = {}): Promise<FileBlobStore> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (o.recover) await sweepStaleTemps(dir, (o.now ?? Date.now)());
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
