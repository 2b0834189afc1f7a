// The isolations converters run under on this machine, decided the way a
// gateway decides them (decideIsolation, one bubblewrap probe), for tests
// that run each converter under each, as Dangerzone's provider tests do.
import { decideIsolation, type Isolation, type RunnableIsolation } from '../../src/converters/isolation.js';

let probed: Promise<Isolation> | null = null;

/** Bubblewrap, probed once per test file: the machines that run the tests have it (scripts/system-deps.sh). */
export async function bwrapHere(): Promise<RunnableIsolation> {
  const isolation = await (probed ??= decideIsolation({ allowUnsandboxed: false }));
  if (isolation.mode === 'unavailable') throw new Error(`these tests need bubblewrap: ${isolation.why}`);
  return isolation;
}

/** No sandbox: what a policy with documents.allowUnsandboxed gets where bubblewrap cannot run. */
export const NO_SANDBOX: RunnableIsolation = { mode: 'none' };

/** Every isolation a converter can run under here, named for test titles. */
export async function isolationsHere(): Promise<Array<[string, RunnableIsolation]>> {
  return [
    ['bwrap', await bwrapHere()],
    ['none', NO_SANDBOX],
  ];
}
