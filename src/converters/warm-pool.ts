// Converter processes started ahead of need, so that a document does not wait
// for a process (and its WASM or LibreOffice) to start. Each process converts
// exactly one document and is then gone: no document ever shares a process,
// a profile or a /tmp with another. The pool refills itself in the background,
// once a taken process has exited: starting a replacement (WASM compilation,
// LibreOffice's start) while the document is still converting would take CPU
// from the conversion someone is waiting for. A take() that finds no started
// process starts one at once.
// The PDF rasterizers and the LibreOffice sandboxes both use it.

/** How a converter process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

/** What every one-shot converter process offers, and what the pool needs of one. */
export interface OneShotProcess {
  readonly exited: Promise<ProcessExit>;
  /** Resolves true once the process is started and waiting for its document, false if it ended first. */
  readonly ready: Promise<boolean>;
  isAlive(): boolean;
  kill(): void;
  /** The last few KiB the process wrote to stderr, printable ASCII only, for the operator's log. */
  stderrTail(): string;
}

export interface WarmPool<P extends OneShotProcess> {
  /** A process nobody has used: a started one if there is one, else a new one. */
  take(): P;
  /** Kills every process the pool started (idle or in use) and waits for them to exit. */
  close(): Promise<void>;
  /** Resolves once a started process waits for a document (false: it ended first, or the pool is closed). */
  warm(): Promise<boolean>;
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
    warm() {
      refill();
      return idle[0]?.ready ?? Promise.resolve(false);
    },
  };
}
