// Checks one segment of the audit log on a thread of its own (the second half
// of a long log while the main thread checks the first), with its own
// connection to the store. See verifyAudit.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import { trustFromPem } from './signer.js';
import { checkSegment, type SegmentJob } from './verify.js';

interface Setup {
  dataDir: string;
  databaseUrl?: string;
  pageSize: number;
  job: SegmentJob;
}

const { dataDir, databaseUrl, pageSize, job } = workerData as Setup;
const store = await openStore({ dataDir, databaseUrl });
try {
  const result = await checkSegment(
    { store, trust: trustFromPem(job.trustedKeys), headCheckpoint: job.headCheckpoint, pageSize },
    // hash '': the link to the record before is checked by the main thread.
    { prev: { seq: job.afterSeq, hash: '' }, lastGoodCheckpoint: job.lastGoodCheckpoint, checked: 0 },
    job.untilSeq,
  );
  parentPort!.postMessage(result);
} finally {
  await store.close();
}
