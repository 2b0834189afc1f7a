// The password thread (see password-worker.ts): argon2id with @node-rs/argon2's
// synchronous API, one job at a time. Running here, a flood of logins takes
// this one thread and nothing else: not the event loop that serves SMTP, and
// not libuv's threadpool, which the spool's file system calls share.
import { hashSync, verifySync } from '@node-rs/argon2';
import { parentPort } from 'node:worker_threads';

export type PasswordJob = { id: number; op: 'verify'; hash: string; password: string } | { id: number; op: 'hash'; password: string };
export type PasswordReply = { id: number; ok: true; value: boolean | string } | { id: number; ok: false; error: string };

parentPort!.on('message', (job: PasswordJob) => {
  try {
    if (job.op === 'hash') {
      parentPort!.postMessage({ id: job.id, ok: true, value: hashSync(job.password) } satisfies PasswordReply);
      return;
    }
    let good = false;
    try {
      good = verifySync(job.hash, job.password);
    } catch {
      // Not an argon2 PHC string (a directory user's empty hash, a damaged row): no password matches it.
      good = false;
    }
    parentPort!.postMessage({ id: job.id, ok: true, value: good } satisfies PasswordReply);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies PasswordReply);
  }
});
