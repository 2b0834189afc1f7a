// A console with the auditor's dependencies (the real verifyAudit over the
// test's store and keys), and the logins the auditor tests need.
import { expect } from 'vitest';
import { loadTrust } from '../../src/audit/signer.js';
import { verifyAudit } from '../../src/audit/verify.js';
import type { VerifyResult } from '../../src/audit/verify-types.js';
import { totpCodeAt } from '../../src/users/totp.js';
import type { Backend } from '../store/backends.js';
import { secretOn, type Browser } from './browser.js';
import { PASSWORD, startConsole, type Console, type ConsoleOptions } from './setup.js';

export interface AuditConsoleOptions extends ConsoleOptions {
  /** Held before each verification starts, so a test can find one under way. */
  gate?: () => Promise<void>;
}

export async function startAuditConsole(backend: Backend, opts: AuditConsoleOptions = {}): Promise<Console> {
  return startConsole(backend, {
    ...opts,
    deps: ({ o, audit }) => ({
      auditor: {
        audit,
        verify: async (): Promise<VerifyResult> => {
          await opts.gate?.();
          return verifyAudit(o.store, await loadTrust(o.dataDir), { headFile: null });
        },
      },
    }),
  });
}

/** Logs in a user who must enrol a second factor first (admins, auditors), as a person would. */
export async function loginEnrolling(c: Console, br: Browser, name: string): Promise<void> {
  const enrol = await br.follow(await br.login(name, PASSWORD));
  expect(enrol.body).toContain('二要素認証の設定');
  const done = await br.submit(enrol, '/login/enrol', { code: await totpCodeAt(secretOn(enrol), c.now()) });
  expect(done.body).toContain('回復コード');
}

/** The three roles, each signed in on its own browser. */
export async function signInAll(c: Console): Promise<{ staff: Browser; admin: Browser; auditor: Browser }> {
  await c.users.add({ name: 'tanaka', role: 'staff', email: 'tanaka@city.example.lg.jp', password: PASSWORD }, 'cli:root');
  await c.users.add({ name: 'kanri', role: 'admin', password: PASSWORD }, 'cli:root');
  await c.users.add({ name: 'kansa', role: 'auditor', password: PASSWORD }, 'cli:root');
  const staff = c.browser();
  expect((await staff.login('tanaka', PASSWORD)).status).toBe(303);
  const admin = c.browser();
  await loginEnrolling(c, admin, 'kanri');
  const auditor = c.browser();
  await loginEnrolling(c, auditor, 'kansa');
  return { staff, admin, auditor };
}

/** Seqs of the rows of the audit table on a page, in the order shown. */
export const seqsOn = (body: string): number[] => [...body.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => Number(m[1]));

/** The href of the link with this rel on a page, unescaped. */
export const linkOn = (body: string, rel: string): string | null => {
  const m = new RegExp(`<a href="([^"]+)" rel="${rel}">`).exec(body);
  return m ? m[1]!.replace(/&amp;/g, '&') : null;
};

/** A GET as the browser would make it, answered as bytes (a file's byte-order mark kept). */
export async function download(b: Browser, path: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(`http://127.0.0.1:${b.port}${path}`, { headers: { cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }, redirect: 'manual' });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
