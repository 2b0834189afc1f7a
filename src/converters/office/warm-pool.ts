// LibreOffice sandboxes started ahead of need, so that a document does not pay
// LibreOffice's start. Each one converts exactly one document and is then
// gone: no document ever shares a LibreOffice, a profile or a /tmp with
// another. The pool refills itself in the background.
import type { OfficeProcess } from './office-process.js';

export interface OfficePool {
  /** A process nobody has used: a started one if there is one, else a new one. */
  take(): OfficeProcess;
  /** Resolves once a started process is waiting for a document (false: it died first). */
  warm(): Promise<boolean>;
  /** Kills every process the pool started (idle or in use) and waits for them to exit. */
  close(): Promise<void>;
}

export function createOfficePool(start: () => OfficeProcess, size: number): OfficePool {
  const idle: OfficeProcess[] = [];
  const started = new Set<OfficeProcess>();
  let closed = false;

  const launch = (): OfficeProcess => {
    const proc = start();
    started.add(proc);
    void proc.exited.then(() => {
      started.delete(proc);
      // An idle process that died is dropped, not replaced at once: a broken
      // setup must not turn into a loop of restarts. The next take() refills.
      const at = idle.indexOf(proc);
      if (at >= 0) idle.splice(at, 1);
    });
    return proc;
  };

  const refill = (): void => {
    if (closed) return;
    while (idle.length < size) idle.push(launch());
  };

  setImmediate(refill);

  return {
    take() {
      if (closed) throw new Error('the LibreOffice pool is closed');
      let proc = idle.shift();
      while (proc && !proc.isAlive()) proc = idle.shift();
      setImmediate(refill);
      return proc ?? launch();
    },
    async warm() {
      refill();
      const first = idle[0];
      return first ? first.ready : false;
    },
    async close() {
      closed = true;
      idle.length = 0;
      const all = [...started];
      for (const proc of all) proc.kill();
      await Promise.all(all.map((proc) => proc.exited));
    },
  };
}
