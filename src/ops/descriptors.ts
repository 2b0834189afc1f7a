// File descriptors: the web listener may not take the ones SMTP sessions,
// spool files, the database and the workers need. A flood of web connections
// used every descriptor of the process, and SMTP stopped greeting.
import { readFileSync } from 'node:fs';

/** The process's soft limit on open files (RLIMIT_NOFILE), or null where it cannot be read. */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.trim().split(/\s+/)[3];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

/** Descriptors kept for everything but sockets: spool and quarantine files, the database, worker threads, converters, logs. */
const RESERVED = 200;
/** Each SMTP session holds its socket and, while a message arrives, its spool file. */
const PER_SMTP_SESSION = 2;
/** The console stays usable, however small the budget. */
const WEB_FLOOR = 16;

/** How many web connections may be open at once: the configured number, or fewer when the process may not open that many files. */
export function webConnectionCap(configured: number, smtpMaxClients: number, limit: number | null = openFileLimit()): number {
  if (limit === null) return configured;
  return Math.max(WEB_FLOOR, Math.min(configured, limit - RESERVED - PER_SMTP_SESSION * smtpMaxClients));
}
