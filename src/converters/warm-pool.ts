// Converter processes started ahead of need, so that a document does not wait
// for a process (and its WASM or LibreOffice) to start. Each process converts
// exactly one document and is then gone: no document ever shares a process,
// a profile or a /tmp with another. The pool refills itself in the background,
// once a taken process has exited: starting a replacement (WASM compilation,
// LibreOffice's start) while the document is still converting would take CPU
// from the conversion someone is waiting for. A take() that finds no started
// process starts one at once.
// The PDF rasterizers and the LibreOffice sandboxes both use it.

/** What the pool needs of a one-shot converter process. */
export interface OneShotProcess {
  readonly exited: Promise<unknown>;
  isAlive(): boolean;
  kill(): void;
}

export interface WarmPool<P extends OneShotProcess> {
  /** A process nobody has used: a started one if there is one, else a new one. */
  take(): P;
  /** Kills every process the pool started (idle or in use) and waits for them to exit. */
  close(): Promise<void>;
  /** The processes started and waiting, oldest first (refilled first). */
  idle(): readonly P[];
}

export function createWarmPool<P extends OneShotProcess>(what: string, start: () => P, size: number): WarmPool<P> {
  const idle: P[] = [];
  const started = new Set<P>();
  let closed = false;

  const launch = (): P => {
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
      if (closed) throw new Error(`the ${what} pool is closed`);
      let proc = idle.shift();
      while (proc && !proc.isAlive()) proc = idle.shift();
      const taken = proc ?? launch();
      void taken.exited.then(() => setImmediate(refill));
      return taken;
    },
    async close() {
      closed = true;
      idle.length = 0;
      const all = [...started];
      for (const proc of all) proc.kill();
      await Promise.all(all.map((proc) => proc.exited));
    },
    idle() {
      refill();
      return idle;
    },
  };
}
