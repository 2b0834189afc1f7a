// Rasterizer processes started ahead of need, so that a document does not wait
// for process start and WASM initialisation. Each process renders exactly one
// document and is then killed; the pool refills itself in the background.
import type { RasterizerProcess } from './rasterizer-process.js';

export interface WarmPool {
  /** A fresh process nobody has used: a warm one if there is one, else a new one. */
  take(): RasterizerProcess;
  /** Kills every process the pool started (idle or in use) and waits for them to exit. */
  close(): Promise<void>;
}

export function createWarmPool(start: () => RasterizerProcess, size: number): WarmPool {
  const idle: RasterizerProcess[] = [];
  const started = new Set<RasterizerProcess>();
  let closed = false;

  const launch = (): RasterizerProcess => {
    const proc = start();
    started.add(proc);
    void proc.exited.then(() => {
      started.delete(proc);
      const at = idle.indexOf(proc);
      // An idle process that died is dropped, not replaced at once: a broken
      // setup must not turn into a loop of restarts. The next take() refills.
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
      if (closed) throw new Error('the rasterizer pool is closed');
      let proc = idle.shift();
      while (proc && !proc.isAlive()) proc = idle.shift();
      setImmediate(refill);
      return proc ?? launch();
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
