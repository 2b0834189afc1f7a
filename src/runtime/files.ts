// Files the running code starts or reads beside its own modules: worker and
// child scripts (run by plain node, without a TypeScript loader) and the
// LibreOffice driver with its font configuration. All are found in dist/,
// which `npm run build` makes (compiling the scripts and copying the files
// that are not compiled), whether the code runs from dist/ or from src/ under
// tsx or vitest: one place, so that what runs is what the build made.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// This module is src/runtime/files.ts or dist/runtime/files.js: two levels below the package root.
const DIST = new URL('../../dist/', import.meta.url);

/** The URL of `relative` (e.g. 'audit/log-worker.js') in dist/; throws when the build did not make it. */
export function runtimeUrl(relative: string): URL {
  const url = new URL(relative, DIST);
  if (!existsSync(url)) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` (the package is incomplete without it)`);
  return url;
}

/** The path of `relative` in dist/; throws when the build did not make it. */
export const runtimeFile = (relative: string): string => fileURLToPath(runtimeUrl(relative));
