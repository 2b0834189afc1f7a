// `mugaika restore DIR --data-dir NEW`: a backup made by take.ts onto a fresh
// machine. Nothing is written before everything is checked:
//
//   1. backup.json, the manifest's checksum, the passphrase (a wrong one does
//      not open the manifest), the manifest's paths (allow-listed);
//   2. the target: a data dir that does not exist or is empty (never a live
//      one), and for PostgreSQL a database without mugaika's tables;
//   3. every file's size and SHA-256 as listed;
//
// then the files go to a folder beside the target, which is renamed into
// place whole, and the caller checks the result (check.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EXIT, OperatorError } from '../model/operator-error.js';
import { SQLITE_FILE } from '../store/sqlite.js';
import { HEADER_FILE, headerSchema, manifestSchema, type BackupManifest } from './manifest.js';
import { deriveBackupKey, SealedFileError, sha256Of, unstoreFile } from './sealed-stream.js';
import { restorePostgres } from './snapshot.js';

export class RestoreError extends OperatorError {
  override readonly name = 'RestoreError';
}

export interface RestoreOptions {
  dir: string;
  dataDir: string;
  databaseUrl?: string | undefined;
  passphrase?: string | undefined;
  pgRestore?: string;
}

export interface Restored {
  manifest: BackupManifest;
  dataDir: string;
  /** Where the backed-up configuration and policy were put, if any. */
  settings: string[];
}

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  } catch (err) {
    throw new RestoreError(`${file} を読めません。バックアップが不完全か、壊れています。/ cannot read ${what} ${file} (${(err as Error).message}): the backup is incomplete or damaged`, EXIT.failed, {
      cause: err,
    });
  }
}

async function assertFreshDataDir(dataDir: string): Promise<void> {
  const entries = await fs.readdir(dataDir).catch((err: NodeJS.ErrnoException): string[] => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  if (entries.length === 0) return;
  const live = entries.includes('gateway.pid') ? '（ゲートウェイが使用中です）' : '';
  throw new RestoreError(
    `データフォルダー ${dataDir} は空ではありません${live}。上書きはしません。新しい空のフォルダーを --data-dir に指定してください。/ ` +
      `the data dir ${dataDir} is not empty${live ? ' (a gateway uses it)' : ''}: restore never overwrites one; give a new, empty folder with --data-dir`,
    EXIT.usage,
  );
}

async function assertEmptyDatabase(url: string): Promise<void> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
    if (Number(rows[0]?.n) > 0) {
      throw new RestoreError(
        `戻し先のデータベースにはすでに表があります。上書きはしません。空のデータベースを作成して指定してください。/ the target database already has tables: restore never overwrites one; create an empty database and give its URL`,
        EXIT.usage,
      );
    }
  } finally {
    await client.end();
  }
}

/** Where a stored path goes in the new data dir ('' for the PostgreSQL dump, which is not kept). */
const destinationOf = (p: string): string => {
  if (p === 'database/mugaika.db') return SQLITE_FILE;
  if (p === 'database/mugaika.dump') return '';
  if (p.startsWith('settings/')) return path.join('restored-settings', p.slice('settings/'.length));
  return p;
};

export async function restoreBackup(o: RestoreOptions): Promise<Restored> {
  const dir = path.resolve(o.dir);
  const dataDir = path.resolve(o.dataDir);
  const header = headerSchema.safeParse(await readJson(path.join(dir, HEADER_FILE), 'the backup header'));
  if (!header.success) throw new RestoreError(`${HEADER_FILE} の形式が正しくありません。/ ${HEADER_FILE} is not a mugaika backup header: ${header.error.message}`);
  const { encryption, manifest: manifestName, manifestSha256 } = header.data;
  if (encryption && o.passphrase === undefined) {
    throw new RestoreError(
      'このバックアップはパスフレーズで暗号化されています。--passphrase-file を指定してください。/ this backup is encrypted: give its passphrase with --passphrase-file',
      EXIT.usage,
    );
  }
  const key = encryption && o.passphrase !== undefined ? await deriveBackupKey(o.passphrase, encryption) : null;

  // 1. the manifest.
  const manifestFile = path.join(dir, manifestName);
  if ((await sha256Of(manifestFile).catch(() => '')) !== manifestSha256) {
    throw new RestoreError(
      `${manifestName} のチェックサムが一致しません。バックアップが改変されているか、壊れています。/ the checksum of ${manifestName} does not match: the backup was altered or damaged`,
    );
  }
  const scratch = await fs.mkdtemp(path.join(path.dirname(dataDir), `.${path.basename(dataDir)}.restoring-`));
  try {
    const plain = path.join(scratch, 'manifest.json');
    try {
      await unstoreFile(manifestFile, plain, key, manifestName);
    } catch (err) {
      if (!(err instanceof SealedFileError)) throw err;
      throw new RestoreError('パスフレーズが違うか、バックアップが改変されています。/ the passphrase is wrong, or the backup was altered: the manifest does not open', EXIT.failed, { cause: err });
    }
    const parsed = manifestSchema.safeParse(await readJson(plain, 'the manifest'));
    if (!parsed.success) throw new RestoreError(`マニフェストの形式が正しくありません。/ the manifest is not valid: ${parsed.error.message}`);
    const manifest = parsed.data;
    const seen = new Set<string>();
    for (const f of manifest.files) {
      if (f.stored !== (key ? `${f.path}.enc` : f.path) || seen.has(f.path)) throw new RestoreError(`マニフェストの ${f.path} が正しくありません。/ the manifest's entry ${f.path} is not valid`);
      seen.add(f.path);
    }
    const isPostgres = manifest.database.kind === 'postgresql';
    if (isPostgres && !o.databaseUrl) {
      throw new RestoreError(
        'PostgreSQL のバックアップです。戻し先の空のデータベースを -c（database.url）か MUGAIKA_DATABASE_URL で指定してください。/ this is a PostgreSQL backup: name an empty target database (config database.url or MUGAIKA_DATABASE_URL)',
        EXIT.usage,
      );
    }

    // 2. the target.
    await assertFreshDataDir(dataDir);
    if (isPostgres && o.databaseUrl) await assertEmptyDatabase(o.databaseUrl);

    // 3. every file as listed.
    const bad: string[] = [];
    for (const f of manifest.files) {
      const file = path.join(dir, f.stored);
      const size = await fs.stat(file).then(
        (s) => s.size,
        () => -1,
      );
      if (size === -1) bad.push(`${f.path}: ない / missing`);
      else if (size !== f.size || (await sha256Of(file)) !== f.sha256) bad.push(`${f.path}: チェックサムが一致しません / checksum mismatch`);
    }
    if (bad.length > 0) {
      throw new RestoreError(
        `バックアップのファイルがマニフェストと一致しません。戻しません。/ the backup does not match its manifest, nothing was restored:\n  ${bad.slice(0, 20).join('\n  ')}${bad.length > 20 ? `\n  … ${bad.length - 20} more` : ''}`,
      );
    }

    // 4. into a folder beside the target, renamed into place whole.
    const staging = path.join(scratch, 'data');
    await fs.mkdir(staging, { mode: 0o700 });
    const settings: string[] = [];
    let dump: string | null = null;
    for (const f of manifest.files) {
      const rel = destinationOf(f.path);
      const to = rel ? path.join(staging, rel) : path.join(scratch, 'mugaika.dump');
      await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
      try {
        await unstoreFile(path.join(dir, f.stored), to, key, f.path, f.role === 'public-key' ? 0o644 : 0o600);
      } catch (err) {
        if (!(err instanceof SealedFileError)) throw err;
        throw new RestoreError(`${f.path} を復号できません（改変されています）。/ ${f.path} does not open: it was altered`, EXIT.failed, { cause: err });
      }
      if (!rel) dump = to;
      if (f.role === 'config' || f.role === 'policy') settings.push(path.join(dataDir, rel));
    }
    if (dump && o.databaseUrl) await restorePostgres(o.databaseUrl, dump, o.pgRestore);
    await fs.mkdir(path.dirname(dataDir), { recursive: true });
    await fs.rmdir(dataDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await fs.rename(staging, dataDir);
    return { manifest, dataDir, settings };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
