// Runs `checkChunks` of `verifyAudit` on another thread (verify-segment-worker.ts),
// so that a long log is checked on two cores at once.
import { Worker } from 'node:worker_threads';
import { runtimeUrl } from '../runtime/files.js';
import type { ChunkJob, ChunkResult } from './verify.js';

// The compiled worker in dist/, from compiled code and from sources alike.
const workerFile = (): URL => runtimeUrl('audit/verify-segment-worker.js');

export function segmentsOnThreads(o: { dataDir: string; databaseUrl?: string; pageSize?: number }): (job: ChunkJob) => Promise<ChunkResult[]> {
  return (job) =>
    new Promise((resolve, reject) => {
      const worker = new Worker(workerFile(), { workerData: { dataDir: o.dataDir, databaseUrl: o.databaseUrl, pageSize: o.pageSize ?? 5000, job } });
      worker.once('message', (results: ChunkResult[]) => resolve(results));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the audit verify thread exited (code ${code}) before answering`)));
    });
}
