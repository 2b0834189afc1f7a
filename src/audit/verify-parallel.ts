// Runs `checkChunks` of `verifyAudit` on another thread (verify-segment-worker.ts),
// so that a long log is checked on two cores at once.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChunkJob, ChunkResult } from './verify.js';

// From compiled code the worker is beside this module; from sources (tsx,
// vitest) it is the compiled one in dist/.
function workerFile(): URL {
  const beside = new URL('./verify-segment-worker.js', import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside : new URL('../../dist/audit/verify-segment-worker.js', import.meta.url);
}

export function segmentsOnThreads(o: { dataDir: string; databaseUrl?: string; pageSize?: number }): (job: ChunkJob) => Promise<ChunkResult[]> {
  return (job) =>
    new Promise((resolve, reject) => {
      const worker = new Worker(workerFile(), { workerData: { dataDir: o.dataDir, databaseUrl: o.databaseUrl, pageSize: o.pageSize ?? 5000, job } });
      worker.once('message', (results: ChunkResult[]) => resolve(results));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the audit verify thread exited (code ${code}) before answering`)));
    });
}
