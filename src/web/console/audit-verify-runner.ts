// Chain verification started from the browser: one run at a time, in the
// background (the request that starts it returns at once), its start and its
// result each an audit record. The page reads the result from the log (the
// newest `audit-verified` record), so a run from the CLI shows there too.
import type { AuditLog } from '../../audit/log.js';
import type { VerifyResult } from '../../audit/verify-types.js';

export interface AuditorDeps {
  /** Where the auditor's verifications and exports are recorded. */
  audit: Pick<AuditLog, 'append'>;
  /** Verifies the whole log (verifyAudit with the gateway's keys and head file); without it the console cannot verify. */
  verify?: () => Promise<VerifyResult>;
}

export interface VerifyRunner {
  /** The run under way, if any. */
  running(): { startedAt: string; actor: string } | null;
  /** Starts a run unless one is under way; resolves once its start is recorded. */
  start(actor: string, client: string): Promise<'started' | 'busy' | 'unavailable'>;
  /** Resolves when no run is under way (tests, shutdown). */
  idle(): Promise<void>;
}

export function createVerifyRunner(d: AuditorDeps | undefined, now: () => Date = () => new Date()): VerifyRunner {
  let current: { startedAt: string; actor: string; done: Promise<void> } | null = null;
  return {
    running: () => (current ? { startedAt: current.startedAt, actor: current.actor } : null),
    async start(actor, client) {
      const verify = d?.verify;
      if (!d || !verify) return 'unavailable';
      if (current) return 'busy';
      const startedAt = now().toISOString();
      // Taken before the first await: a second request in the meantime finds it busy.
      let release!: () => void;
      current = { startedAt, actor, done: new Promise<void>((r) => (release = r)) };
      try {
        await d.audit.append({ actor, action: 'audit-verify-started', object: null, details: { client } });
      } catch (err) {
        current = null;
        release();
        throw err;
      }
      const run = async (): Promise<void> => {
        let details: Record<string, unknown>;
        try {
          const r = await verify();
          details = r.ok
            ? { ok: true, records: r.records, checkpoints: r.checkpoints, unsignedTail: r.unsignedTail, headFile: r.headFile, startedAt }
            : { ok: false, firstBadSeq: r.firstBadSeq, kind: r.kind, problem: r.problem, records: r.records, startedAt };
        } catch (err) {
          // Not a finding about the log: the check could not run (the database went away).
          details = { ok: false, error: (err instanceof Error ? err.message : String(err)).slice(0, 500), startedAt };
        }
        await d.audit.append({ actor, action: 'audit-verified', object: null, details }).catch((err: unknown) => {
          process.emitWarning(`the result of an audit verification could not be recorded: ${err instanceof Error ? err.message : String(err)}`);
        });
      };
      void run().finally(() => {
        current = null;
        release();
      });
      return 'started';
    },
    idle: () => current?.done ?? Promise.resolve(),
  };
}
