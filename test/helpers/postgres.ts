// A private, throwaway PostgreSQL cluster for tests and benchmarks: initdb
// into a temporary folder, then `postgres` listening on 127.0.0.1 and a
// private socket folder only, with fsync on (durability is what we test).
// The system cluster (if any) is never read, started or changed.
//
// initdb and postgres refuse to run as root: as root, both run as the
// `postgres` OS user (runuser) and the temporary folders belong to it.
// scripts/system-deps.sh installs the Debian postgresql package (npm test
// runs it as its pretest step).
//
// test/global-setup.ts starts one cluster per test run and provides its URL;
// a test file calls createTestDatabase() for a database of its own.
import { execFile as execFileCb } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './postfix.js';

const execFile = promisify(execFileCb);

const MISSING_HINT = 'run `bash scripts/system-deps.sh` as root (npm test runs it as its pretest step)';

/** The newest installed PostgreSQL server binaries folder, or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

export interface PostgresCluster {
  /** postgres://user:password@127.0.0.1:port/postgres (a superuser). */
  url: string;
  /** The cluster's data directory (PGDATA). */
  dataDir: string;
  port: number;
  /** Stops the server (fast shutdown: connections are cut), keeping the cluster. */
  pause(): Promise<void>;
  /** Starts it again on the same port, after pause(). */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as the postgres OS user when we are root. */
async function runPg(bin: string, args: string[]): Promise<void> {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    await execFile(cmd, argv, { timeout: 60_000, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(`PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/postgres); ${MISSING_HINT}`);
  const root = mkdtempSync(path.join(tmpdir(), 'mugaika-pg-'));
  const dataDir = path.join(root, 'data');
  const socketDir = path.join(root, 'socket');
  const password = randomBytes(12).toString('hex');
  const pwFile = path.join(root, 'pw');
  writeFileSync(pwFile, password, { mode: 0o600 });
  if (asRoot) {
    const { stdout } = await execFile('id', ['-u', 'postgres']).catch(() => {
      throw new Error(`the system user "postgres" does not exist; ${MISSING_HINT}`);
    });
    const { stdout: gid } = await execFile('id', ['-g', 'postgres']);
    for (const p of [root, pwFile]) chownSync(p, Number(stdout.trim()), Number(gid.trim()));
  }
  const user = 'mugaika';
  await runPg(path.join(bin, 'initdb'), ['-D', dataDir, '-U', user, '--pwfile', pwFile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C.UTF-8', '--no-instructions']);
  rmSync(pwFile, { force: true });
  mkdirSync(socketDir, { mode: 0o700 });
  if (asRoot) await execFile('chown', ['postgres:postgres', socketDir]);
  const port = await freePort();
  const options = [`-h 127.0.0.1`, `-p ${port}`, `-k ${socketDir}`, '-c fsync=on', '-c synchronous_commit=on', '-c max_connections=200'].join(' ');
  const start = (): Promise<void> => runPg(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-l', path.join(root, 'postgres.log'), '-o', options, '-w', '-t', '60', 'start']);
  await start();
  const url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    dataDir,
    port,
    pause: () => runPg(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']),
    resume: start,
    async stop() {
      if (stopped) return;
      stopped = true;
      await runPg(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Creates a fresh database in the cluster at `adminUrl` and returns its URL. */
export async function createDatabase(adminUrl: string, prefix = 'test'): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The cluster global-setup started for this test run (vitest only). */
export async function testPostgres(): Promise<{ url: string; dataDir: string }> {
  const { inject } = await import('vitest');
  const url = inject('postgresUrl');
  const dataDir = inject('postgresDataDir');
  if (!url) throw new Error('no PostgreSQL for this test run: test/global-setup.ts did not start one');
  return { url, dataDir };
}

/** A fresh database of its own for a test file, in the test run's cluster. */
export async function createTestDatabase(prefix = 'test'): Promise<string> {
  return createDatabase((await testPostgres()).url, prefix);
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    postgresDataDir: string;
  }
}
