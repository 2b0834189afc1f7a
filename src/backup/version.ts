// The version of this mugaika, from its package.json (two levels above this
// module in src/ and in dist/).
import { promises as fs } from 'node:fs';

export async function mugaikaVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
