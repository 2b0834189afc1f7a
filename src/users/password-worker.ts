// Password hashing for the running gateway: one dedicated worker thread
// (password-thread.ts) with a bounded queue. At most `maxQueued` jobs wait or
// run; one more is refused at once with PasswordQueueFullError (the console
// answers 503), so a flood of logins can neither take more than that thread
// nor make memory and latency grow without bound.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkPasswordRules, MAX_PASSWORD_LENGTH } from './passwords.js';
import type { PasswordJob, PasswordReply } from './password-thread.js';

function workerFile(): URL {
  const beside = new URL('./password-thread.js', import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside : new URL('../../dist/users/password-thread.js', import.meta.url);
}

/** Every job slot is taken: try again in a moment. */
export class PasswordQueueFullError extends Error {
  override readonly name = 'PasswordQueueFullError';
  constructor() {
    super('password checks are queued to the limit; try again shortly / パスワードの確認が混み合っています。しばらくしてからお試しください');
  }
}

export interface PasswordHasher {
  /** False for a wrong password and for a hash that is not argon2. Throws PasswordQueueFullError when full. */
  verify(hash: string, password: string): Promise<boolean>;
  /** An argon2id PHC string; checks the password rules first. Throws PasswordQueueFullError when full. */
  hash(password: string): Promise<string>;
  /** Jobs waiting or running. */
  readonly pending: number;
  close(): Promise<void>;
}

type Job = PasswordJob extends infer J ? (J extends PasswordJob ? Omit<J, 'id'> : never) : never;

export function startPasswordWorker(opts: { maxQueued: number }): PasswordHasher {
  let worker: Worker | null = null;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: boolean | string) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error): void => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };

  const thread = (): Worker => {
    if (worker) return worker;
    const w = new Worker(workerFile());
    w.on('message', (reply: PasswordReply) => {
      const p = waiting.get(reply.id);
      if (!p) return;
      waiting.delete(reply.id);
      if (waiting.size === 0) w.unref();
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(reply.error));
    });
    // A thread that died is replaced by the next job; what it held fails.
    w.on('error', (err) => {
      worker = null;
      failAll(new Error(`the password thread failed: ${err.message}`));
    });
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll(new Error('the password thread exited'));
    });
    worker = w;
    return w;
  };

  const run = (job: Job): Promise<boolean | string> => {
    if (waiting.size >= opts.maxQueued) return Promise.reject(new PasswordQueueFullError());
    const w = thread();
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, ...job } as PasswordJob);
    });
  };

  return {
    async verify(hash, password) {
      // A password longer than any we accept cannot match, and is not worth hashing.
      if (password.length > MAX_PASSWORD_LENGTH * 4) return false;
      return (await run({ op: 'verify', hash, password })) as boolean;
    },
    async hash(password) {
      checkPasswordRules(password);
      return (await run({ op: 'hash', password })) as string;
    },
    get pending() {
      return waiting.size;
    },
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
      failAll(new Error('the password thread is closed'));
    },
  };
}
