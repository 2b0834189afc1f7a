// The master keys a process holds. Normally one; two while a rotation is under
// way (the current key and the next one), so every item stays readable
// whichever of the two wraps its data key.
//
// Keys come from <dataDir>/keys/master.key (+ master.key.next while rotating),
// created on first use, or from MUGAIKA_MASTER_KEY (+ MUGAIKA_MASTER_KEY_NEW)
// in base64, in which case no key file is read or created.
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { createKeyFileOnce, KeyError, keyFromBase64, readKeyFile, type KeyId, type MasterKey } from './master-key.js';

export const ENV_KEY = 'MUGAIKA_MASTER_KEY';
export const ENV_NEXT_KEY = 'MUGAIKA_MASTER_KEY_NEW';

export interface KeyFiles {
  dir: string;
  current: string;
  next: string;
}

export const keyFilesOf = (dataDir: string): KeyFiles => {
  const dir = path.join(dataDir, 'keys');
  return { dir, current: path.join(dir, 'master.key'), next: path.join(dir, 'master.key.next') };
};

export type KeySource = { kind: 'file'; files: KeyFiles } | { kind: 'env' };

export interface KeyRing {
  readonly source: KeySource;
  /** The key new data keys are wrapped under: the next key while a rotation is under way. */
  wrapping(): MasterKey;
  /** The key in use before the rotation under way, if one is. */
  previous(): MasterKey | null;
  find(id: string): MasterKey | undefined;
  /** Key ids held, for error messages. */
  ids(): KeyId[];
  /** Picks up a rotation another process started or finished (key files only; cheap when nothing changed). */
  refresh(): Promise<void>;
}

interface Loaded {
  current: MasterKey;
  next: MasterKey | null;
  stamp: string;
}

/**
 * What identifies the key files' contents now. Synchronous on purpose: every
 * quarantine put checks it twice, and a stat of two small files in the data
 * dir costs microseconds, where a promise-based one cost ~0.2 ms of the
 * caller's thread and an ENOENT error for the usually absent master.key.next.
 */
function stampOf(files: KeyFiles): string {
  const one = (f: string): string => {
    try {
      const s = statSync(f, { throwIfNoEntry: false });
      return s ? `${s.ino}:${s.mtimeMs}:${s.size}` : '-';
    } catch {
      return '?';
    }
  };
  return `${one(files.current)}|${one(files.next)}`;
}

async function loadFiles(files: KeyFiles): Promise<Loaded> {
  await fs.mkdir(files.dir, { recursive: true, mode: 0o700 });
  const stamp = stampOf(files);
  const [current, next] = await Promise.all([readKeyFile(files.current), readKeyFile(files.next)]);
  if (current) return { current, next, stamp };
  // A rotation that was committed leaves only master.key; master.key.next alone
  // means master.key was lost: use what is there rather than make a new key.
  if (next) return { current: next, next: null, stamp };
  const created = await createKeyFileOnce(files.current);
  return { current: created, next: null, stamp: stampOf(files) };
}

function ringOf(source: KeySource, initial: Loaded): KeyRing {
  let loaded = initial;
  const all = (): MasterKey[] => (loaded.next ? [loaded.current, loaded.next] : [loaded.current]);
  return {
    source,
    wrapping: () => loaded.next ?? loaded.current,
    previous: () => (loaded.next ? loaded.current : null),
    find: (id) => all().find((k) => k.id === id),
    ids: () => all().map((k) => k.id),
    async refresh() {
      if (source.kind !== 'file') return;
      if (stampOf(source.files) !== loaded.stamp) loaded = await loadFiles(source.files);
    },
  };
}

/** The ring for a data dir: from the environment when MUGAIKA_MASTER_KEY is set, else from key files. */
export async function openKeyRing(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<KeyRing> {
  const fromEnv = env[ENV_KEY];
  const nextFromEnv = env[ENV_NEXT_KEY];
  if (fromEnv) {
    const current = keyFromBase64(fromEnv, ENV_KEY);
    const next = nextFromEnv ? keyFromBase64(nextFromEnv, ENV_NEXT_KEY) : null;
    return ringOf({ kind: 'env' }, { current, next: next && next.id !== current.id ? next : null, stamp: '' });
  }
  if (nextFromEnv) {
    throw new KeyError(`${ENV_NEXT_KEY} だけが設定されています。${ENV_KEY} も設定してください。/ ${ENV_NEXT_KEY} is set without ${ENV_KEY}: set both while rotating`);
  }
  const files = keyFilesOf(dataDir);
  return ringOf({ kind: 'file', files }, await loadFiles(files));
}
