// Checks chunks of the audit log on a thread of its own, claiming them from
// the same list as the main thread, with its own connection to the store.
// See verifyAudit.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import { trustFromPem } from './signer.js';
import { checkChunks, type ChunkJob } from './verify.js';

interface Setup {
  dataDir: string;
  databaseUrl?: string;
  pageSize: number;
  job: ChunkJob;
}

const { dataDir, databaseUrl, pageSize, job } = workerData as Setup;
const store = await openStore({ dataDir, databaseUrl });
try {
  const results = await checkChunks({ store, trust: trustFromPem(job.trustedKeys), headCheckpoint: job.headCheckpoint, pageSize }, job);
  parentPort!.postMessage(results);
} finally {
  await store.close();
}
