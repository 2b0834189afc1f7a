// Before any test:
// - build dist/: the CLI tests run the real `mugaika` binary, which runs the
//   compiled code, so they never test a stale dist/;
// - start one private PostgreSQL cluster (test/helpers/postgres.ts) for the
//   whole run; tests get its URL with inject('postgresUrl') and each test file
//   creates a database of its own. It is stopped and removed at teardown.
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startPostgres } from './helpers/postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const cluster = await startPostgres();
  project.provide('postgresUrl', cluster.url);
  project.provide('postgresDataDir', cluster.dataDir);
  return () => cluster.stop();
}
