// Durable file writes: write a temporary file, fsync it, rename it into place,
// fsync the folder. After `writeDurably` resolves, the file survives a crash
// or power loss whole, or (had it not resolved) not at all.
import { randomBytes } from 'node:crypto';
import fsc, { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// fs's callback functions, promisified once: not a FileHandle, whose objects and
// promises cost a third of the main thread's share of a durable write (the
// quarantine and the spool write several such files per message).
const open = promisify(fsc.open);
const write = promisify(fsc.write);
const fsync = promisify(fsc.fsync);
const close = promisify(fsc.close);
const rename = promisify(fsc.rename);

export async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}

/**
 * fsyncDir for a folder many writers rename into at once: a call made while a
 * sync is under way waits for the next one (which starts after it, so it covers
 * the caller's rename), and all such callers share that next sync.
 */
export function coalescedDirSync(dir: string): () => Promise<void> {
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const sync = (): Promise<void> => {
    if (!running) {
      running = fsyncDir(dir).finally(() => {
        running = null;
      });
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = null;
        return sync();
      });
    return queued;
  };
  return sync;
}

/**
 * `syncDir` makes the rename durable; a coalescedDirSync() of the destination
 * folder lets concurrent writers share it.
 */
export async function writeDurably(
  file: string,
  data: Uint8Array | readonly Uint8Array[],
  mode = 0o600,
  tmpDir = path.dirname(file),
  syncDir: () => Promise<void> = () => fsyncDir(path.dirname(file)),
): Promise<void> {
  const tmp = path.join(tmpDir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = await open(tmp, 'wx', mode);
  try {
    for (const chunk of Array.isArray(data) ? data : [data]) {
      for (let at = 0; at < chunk.byteLength;) at += (await write(fd, chunk, at, chunk.byteLength - at, null)).bytesWritten;
    }
    await fsync(fd);
  } catch (err) {
    await close(fd).catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await close(fd);
  try {
    await rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  // Only the destination's entry must survive; a temporary folder is cleared at start.
  await syncDir();
}
