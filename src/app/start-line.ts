// What the gateway's first log line tells the person who started it: where the
// console is and, on a fresh install, how to make the first administrator.
import type { UserRow } from '../model/users.js';

/** The console's address as a browser opens it: web.publicUrl, else the listener's (a wildcard listener named by this machine's loopback). */
export function consoleAddress(publicUrl: string | undefined, secure: boolean, host: string, port: number): string {
  if (publicUrl) return publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`;
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${secure ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`;
}

/** The command that makes the first administrator, when the console has none (and no directory supplies them). */
export function firstAdminHint(users: readonly UserRow[], directoryConfigured: boolean): string | null {
  if (directoryConfigured || users.some((u) => u.role === 'admin' && !u.disabled)) return null;
  return '管理者がまだいません。`mugaika user add 名前 --role admin --email アドレス` で作成してください（初期パスワードは一度だけ表示されます）。/ No administrator yet: create one with `mugaika user add NAME --role admin --email ADDRESS` (its initial password is shown once).';
}
