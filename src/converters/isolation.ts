// How the document converters are isolated from the host: decided once, when
// a process starts (one bubblewrap probe), and passed down to every converter,
// which never probes again. Where bubblewrap cannot run, documents fail closed
// (`no-sandbox`) unless the policy's documents.allowUnsandboxed accepts running
// them without it.
import { probeBwrap } from './bwrap.js';

export type Isolation =
  /** Each converter process in bubblewrap, started with this executable. */
  | { mode: 'bwrap'; bwrap: string }
  /** Without a sandbox: only where the policy allows it. */
  | { mode: 'none' }
  /** Nothing is converted: every document fails with `no-sandbox`, saying why. */
  | { mode: 'unavailable'; why: string };

export type IsolationMode = Isolation['mode'];

/** An isolation converters can run under (not 'unavailable'). */
export type RunnableIsolation = Exclude<Isolation, { mode: 'unavailable' }>;

export interface IsolationChoice {
  /** The policy's documents.allowUnsandboxed. */
  allowUnsandboxed: boolean;
  /** The bubblewrap executable (default `bwrap`, found on PATH). */
  bwrap?: string;
}

/** Probes bubblewrap once and decides: bwrap, none (allowed only) or unavailable. */
export async function decideIsolation(choice: IsolationChoice): Promise<Isolation> {
  const bwrap = choice.bwrap ?? 'bwrap';
  const why = await probeBwrap(bwrap);
  if (why === null) return { mode: 'bwrap', bwrap };
  return choice.allowUnsandboxed ? { mode: 'none' } : { mode: 'unavailable', why };
}
