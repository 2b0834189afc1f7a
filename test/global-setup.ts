// The CLI tests run the real `mugaika` binary, which runs the compiled code:
// build it once before any test so they never test a stale dist/.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
