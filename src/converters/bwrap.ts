// What both converters' bubblewrap sandboxes share: the isolation flags (no
// network or other namespaces, dies with its parent, own session, no
// capabilities, empty environment), read-only system folders as they are on
// the host, and a check that bubblewrap can start such a sandbox here at all.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';

export const ISOLATION = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv'] as const;

/** A top-level system path as it is on the host, read-only: symlinks (merged /usr) stay symlinks. */
export function systemBind(p: string): string[] {
  if (!existsSync(p)) return [];
  if (!lstatSync(p).isSymbolicLink()) return ['--ro-bind', p, p];
  const target = realpathSync(p);
  return ['--symlink', path.relative(path.dirname(p), target) || target, p];
}

/** Resolves with null when bubblewrap can start a sandbox like ours here, else with why not. */
export function probeBwrap(bwrap = 'bwrap'): Promise<string | null> {
  const args = [...ISOLATION, ...systemBind('/usr'), ...systemBind('/lib'), ...systemBind('/lib64'), '--proc', '/proc', '--dev', '/dev', '/usr/bin/true'];
  return new Promise((resolve) => {
    execFile(bwrap, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      resolve(err ? `bubblewrap (bwrap) cannot start a sandbox here: ${(stderr || err.message).trim().slice(0, 200)}` : null);
    });
  });
}
