// How a rasterizer process is started: node running the compiled child under
// prlimit (RLIMIT_DATA caps the address space a process may make writable, and
// so WASM memory growth, which --max-old-space-size does not cover) and, unless
// the operator opted out, inside bubblewrap with no network, no other
// namespaces shared, no capabilities, a read-only view of just what it needs,
// and death with its parent.
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeFile } from '../../runtime/files.js';
import { ISOLATION, systemBind } from '../bwrap.js';
import type { RunnableIsolation } from '../isolation.js';

export interface RasterizerCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface CommandOptions {
  isolation: RunnableIsolation;
  /** Cap on the child's writable memory (JS heap, WASM memory, buffers), in MiB. */
  memoryCapMb: number;
  /** Shown in the child's argv, to tell processes apart in `ps`. */
  tag: string;
}

/** The compiled child script in dist/: the child is plain node, without a TypeScript loader. */
export const childScript = (): string => runtimeFile('converters/pdf/rasterize-child.js');

/** The directory whose node_modules holds mupdf, walking up from this module. */
function packageRoot(): string {
  const here = fileURLToPath(import.meta.url);
  for (let dir = path.dirname(here); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'node_modules', 'mupdf', 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`mupdf is not installed above ${here}: run \`npm install\``);
  }
}

function bwrapArgs(script: string): string[] {
  const root = packageRoot();
  const node = realpathSync(process.execPath);
  const bind = (p: string): string[] => ['--ro-bind', p, p];
  return [
    ...ISOLATION,
    '--tmpfs',
    '/tmp',
    ...systemBind('/usr'),
    ...systemBind('/lib'),
    ...systemBind('/lib64'),
    ...systemBind('/bin'),
    ...(node.startsWith('/usr/') ? [] : bind(node)),
    ...bind(path.join(root, 'package.json')),
    ...bind(path.join(root, 'node_modules', 'mupdf')),
    ...bind(path.dirname(script)),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--chdir',
    '/',
    node,
  ];
}

/**
 * node running `script` (with read access to its own directory and to mupdf
 * only) under the memory cap and, unless the isolation is 'none', in bubblewrap.
 */
export function sandboxedNodeCommand(script: string, scriptArgs: readonly string[], opts: Omit<CommandOptions, 'tag'>, nodeFlags: readonly string[] = []): RasterizerCommand {
  const nodeArgs = ['--max-old-space-size=256', '--disallow-code-generation-from-strings', ...nodeFlags, script, ...scriptArgs];
  const limit = [`--data=${opts.memoryCapMb * 1024 * 1024}`, '--core=0', '--'];
  if (opts.isolation.mode === 'none') return { file: 'prlimit', args: [...limit, process.execPath, ...nodeArgs], env: {} };
  return { file: 'prlimit', args: [...limit, opts.isolation.bwrap, ...bwrapArgs(script), ...nodeArgs], env: {} };
}

export function rasterizerCommand(opts: CommandOptions): RasterizerCommand {
  // --no-liftoff: mupdf's WASM is compiled by the optimising compiler as the
  // warm process starts (see rasterize-child.ts's warm-up), not by the baseline
  // one with tier-up during the job: a one-shot process never lives long
  // enough to tier up, and renders pages 2-4 times slower without it.
  return sandboxedNodeCommand(childScript(), [`--tag=${opts.tag}`], opts, ['--no-liftoff']);
}
