// Every failed login is answered after the same time, whatever failed: an
// unknown name, a locked or disabled account, a wrong password. Only a wrong
// password costs a real check (argon2id, or a bind to the directory); the
// others wait instead, without using the password thread. The wait is the
// longer of a floor and a running estimate of what checks take now (queueing
// included), so the answer's timing does not tell which names exist even when
// checks slow down.
export interface FailureTiming {
  /** A real check took `ms` (waiting included). */
  sample(ms: number): void;
  /** Resolves when a failure that started at `startedMs` (performance.now()) may be answered. */
  pad(startedMs: number): Promise<void>;
}

export function createFailureTiming(o: { floorMs: number; maxMs?: number }, clock: () => number = () => performance.now()): FailureTiming {
  const maxMs = o.maxMs ?? 5000;
  let estimate = o.floorMs;
  return {
    sample(ms) {
      // Quick to rise, slow to fall: a slow check is covered from the next answer on.
      const target = Math.min(maxMs, Math.max(o.floorMs, ms * 1.25));
      estimate = target > estimate ? target : estimate * 0.9 + target * 0.1;
    },
    async pad(startedMs) {
      const wait = startedMs + estimate - clock();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    },
  };
}
