// Before any test:
// - build dist/ (`npm run build`): the CLI tests run the real `mugaika`
//   binary, which runs the compiled code, and worker and converter scripts
//   always run from dist/ (src/runtime/files.ts), so they never test a stale dist/;
// - start one private PostgreSQL cluster (test/helpers/postgres.ts) for the
//   whole run; tests get its URL with inject('postgresUrl') and each test file
//   creates a database of its own. It is stopped and removed at teardown.
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startPostgres } from './helpers/postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  const cluster = await startPostgres();
  project.provide('postgresUrl', cluster.url);
  project.provide('postgresDataDir', cluster.dataDir);
  return () => cluster.stop();
}
