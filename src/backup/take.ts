// `mugaika backup DIR` while the gateway runs. The order is what makes the copy
// consistent without stopping anything:
//
//   1. the master keys are read (their ids noted) and audit/head.json copied:
//      the head file names a checkpoint already in the database, so a copy
//      taken before the database never points past the copied chain;
//   2. the database: one consistent snapshot (snapshot.ts);
//   3. every original the snapshot holds: a quarantined original's file is
//      written durably before its row is committed, so each row in the
//      snapshot has its file (unless a purge is deleting it: listed as missing);
//   4. the keys, the signing key, the trusted public keys, the configuration
//      and the policy; the master keys must be the ones read in step 1 (a key
//      rotation in between makes the backup fail: run it again);
//   5. manifest, then backup.json last: a folder without it is incomplete.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { headFilePath } from '../audit/head-file.js';
import { PUBLIC_KEY_FILE, SIGNING_KEY_FILE, TRUSTED_DIR } from '../audit/signer.js';
import { fsyncDir, writeDurably } from '../durable/files.js';
import { ENV_KEY, keyFilesOf } from '../keys/key-ring.js';
import { readKeyFile } from '../keys/master-key.js';
import { EXIT, OperatorError } from '../model/operator-error.js';
import { BACKUP_FORMAT, HEADER_FILE, type BackupHeader, type BackupManifest, type FileEntry, type FileRole } from './manifest.js';
import { deriveBackupKey, newKdfParams, storeFile, type KdfParams } from './sealed-stream.js';
import { snapshotPostgres, snapshotSqlite, type SnapshotFacts } from './snapshot.js';
import { mugaikaVersion } from './version.js';

export interface BackupOptions {
  dir: string;
  dataDir: string;
  databaseUrl?: string | undefined;
  configFile?: string | undefined;
  policyFile?: string | undefined;
  passphrase?: string | undefined;
  withoutMasterKey?: boolean;
  env: NodeJS.ProcessEnv;
  pgDump?: string;
}

export interface BackupResult {
  manifest: BackupManifest;
  encrypted: boolean;
}

type MasterKeyState = BackupManifest['masterKey'];

export class BackupError extends OperatorError {
  override readonly name = 'BackupError';
}

async function emptyOrNew(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (entries && entries.length > 0) {
    throw new BackupError(`バックアップ先 ${dir} が空ではありません。新しいフォルダーを指定してください。/ the backup folder ${dir} is not empty: give a new folder`, EXIT.usage);
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
}

/** The master key files present, by name, with their key ids; 'unreadable' when one cannot be read. */
async function masterKeysOf(dataDir: string): Promise<Map<string, string> | 'unreadable'> {
  const files = keyFilesOf(dataDir);
  const found = new Map<string, string>();
  for (const file of [files.current, files.next]) {
    try {
      const key = await readKeyFile(file);
      if (key) found.set(path.basename(file), key.id);
    } catch {
      return 'unreadable';
    }
  }
  return found;
}

const sameKeys = (a: Map<string, string>, b: Map<string, string>): boolean => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

export async function takeBackup(o: BackupOptions): Promise<BackupResult> {
  const dataDir = path.resolve(o.dataDir);
  const dir = path.resolve(o.dir);
  if (dir === dataDir || dir.startsWith(`${dataDir}${path.sep}`)) {
    throw new BackupError(`バックアップ先をデータフォルダーの中にはできません。/ the backup folder may not be inside the data dir ${dataDir}`, EXIT.usage);
  }
  await emptyOrNew(dir);
  let kdf: KdfParams | null = null;
  let key: Buffer | null = null;
  if (o.passphrase !== undefined) {
    kdf = newKdfParams();
    key = await deriveBackupKey(o.passphrase, kdf);
  }
  const files: FileEntry[] = [];
  const put = async (role: FileRole, from: string, rel: string): Promise<void> => {
    const stored = key ? `${rel}.enc` : rel;
    await fs.mkdir(path.dirname(path.join(dir, stored)), { recursive: true, mode: 0o700 });
    const { size, sha256 } = await storeFile(from, path.join(dir, stored), key, rel);
    files.push({ path: rel, stored, role, size, sha256 });
  };
  const exists = (f: string): Promise<boolean> =>
    fs.access(f).then(
      () => true,
      () => false,
    );

  // 1. keys as they are now; the head file.
  const keysBefore = await masterKeysOf(dataDir);
  const headFile = headFilePath(dataDir);
  if (await exists(headFile)) await put('audit-head', headFile, 'audit/head.json');

  // 2. the database.
  let facts: SnapshotFacts;
  if (o.databaseUrl) {
    const tmp = path.join(dir, '.database.dump.tmp');
    try {
      facts = await snapshotPostgres(o.databaseUrl, tmp, o.pgDump);
      await put('database', tmp, 'database/mugaika.dump');
    } finally {
      await fs.rm(tmp, { force: true });
    }
  } else {
    const tmp = path.join(dir, '.database.db.tmp');
    try {
      facts = await snapshotSqlite(dataDir, tmp);
      await put('database', tmp, 'database/mugaika.db');
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  // 3. the originals the snapshot holds (PostgreSQL keeps them in the database).
  const missing: string[] = [];
  if (!o.databaseUrl) {
    for (const item of facts.items) {
      const file = path.join(dataDir, 'quarantine', `${item.id}.mgq`);
      try {
        await put('original', file, `quarantine/${item.id}.mgq`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        missing.push(item.id);
      }
    }
  }

  // 4. keys, settings.
  const keyDir = keyFilesOf(dataDir).dir;
  const neededKeyIds = [...new Set(facts.items.map((i) => i.keyId))].sort();
  let masterKey: MasterKeyState;
  if (o.env[ENV_KEY]) masterKey = { included: false, reason: 'environment', keyIds: neededKeyIds };
  else if (o.withoutMasterKey) masterKey = { included: false, reason: 'excluded', keyIds: neededKeyIds };
  else if (keysBefore === 'unreadable') masterKey = { included: false, reason: 'unreadable', keyIds: neededKeyIds };
  else if (keysBefore.size === 0) masterKey = { included: false, reason: 'absent', keyIds: neededKeyIds };
  else {
    for (const name of keysBefore.keys()) await put('master-key', path.join(keyDir, name), `keys/${name}`);
    const keysAfter = await masterKeysOf(dataDir);
    if (keysAfter === 'unreadable' || !sameKeys(keysBefore, keysAfter)) {
      throw new BackupError(
        'バックアップ中にマスター鍵が更新されました。鍵の更新が終わってから、新しいフォルダーにもう一度バックアップしてください。/ the master key changed while the backup ran (a key rotation): run the backup again into a new folder once the rotation has finished',
      );
    }
    const held = new Set(keysBefore.values());
    const unknown = neededKeyIds.filter((id) => !held.has(id));
    if (unknown.length > 0) {
      throw new BackupError(
        `隔離した原本の鍵 ${unknown.join(', ')} がこの環境にありません。鍵の更新中であれば、終わってからもう一度バックアップしてください。/ originals are wrapped under master key ${unknown.join(', ')}, which is not here: if a key rotation is under way, run the backup again once it has finished`,
      );
    }
    masterKey = { included: true, keyIds: [...held].sort() };
  }
  const signingKey = path.join(keyDir, SIGNING_KEY_FILE);
  try {
    await put('signing-key', signingKey, `keys/${SIGNING_KEY_FILE}`);
  } catch (err) {
    throw new BackupError(
      `監査ログ署名鍵 ${signingKey} を読めません。ゲートウェイと同じ利用者（root または mugaika）で実行してください。/ cannot read the audit signing key ${signingKey} (${(err as Error).message}): run the backup as the gateway's user or root`,
      EXIT.failed,
      { cause: err },
    );
  }
  const pub = path.join(keyDir, PUBLIC_KEY_FILE);
  if (await exists(pub)) await put('public-key', pub, `keys/${PUBLIC_KEY_FILE}`);
  const trusted = await fs.readdir(path.join(keyDir, TRUSTED_DIR)).catch(() => [] as string[]);
  for (const name of trusted.sort()) if (/^[A-Za-z0-9._-]{1,100}\.pub$/.test(name)) await put('public-key', path.join(keyDir, TRUSTED_DIR, name), `keys/${TRUSTED_DIR}/${name}`);
  const settingName = (f: string): string => path.basename(f).replace(/[^A-Za-z0-9._-]/g, '_');
  if (o.configFile) await put('config', o.configFile, `settings/config/${settingName(o.configFile)}`);
  if (o.policyFile) await put('policy', o.policyFile, `settings/policy/${settingName(o.policyFile)}`);

  // 5. manifest, then the header.
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    formatVersion: 1,
    mugaikaVersion: await mugaikaVersion(),
    nodeVersion: process.version,
    createdAt: new Date().toISOString(),
    host: os.hostname(),
    database: { kind: o.databaseUrl ? 'postgresql' : 'sqlite', tool: facts.tool, auditHead: facts.auditHead },
    masterKey,
    originals: { count: facts.items.length, missing },
    files,
  };
  const plainManifest = path.join(dir, '.manifest.tmp');
  await writeDurably(plainManifest, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0o600);
  const manifestName = key ? 'manifest.json.enc' : 'manifest.json';
  let stored;
  try {
    stored = await storeFile(plainManifest, path.join(dir, manifestName), key, manifestName);
  } finally {
    await fs.rm(plainManifest, { force: true });
  }
  const header: BackupHeader = { format: BACKUP_FORMAT, formatVersion: 1, encryption: kdf, manifest: manifestName, manifestSha256: stored.sha256 };
  await writeDurably(path.join(dir, HEADER_FILE), Buffer.from(`${JSON.stringify(header, null, 2)}\n`), 0o600);
  await fsyncDir(dir);
  return { manifest, encrypted: key !== null };
}
