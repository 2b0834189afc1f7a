// A console on real HTTP (127.0.0.1) over a fresh store, as the gateway
// assembles it, with a clock the test moves and settings it may change.
import path from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { defaultPolicy, type Policy } from '../../src/core/policy.js';
import { createMaildirCarrier } from '../../src/delivery/maildir-carrier.js';
import type { Carrier } from '../../src/delivery/types.js';
import { createSubjectIndex, type SubjectIndex } from '../../src/quarantine/subject-index.js';
import { openVault, type Vault } from '../../src/quarantine/vault.js';
import { Registry } from 'prom-client';
import { openAuditLog, type AuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { openKeyRing } from '../../src/keys/key-ring.js';
import { createWorkflow, releaseMarkingOf, type Workflow } from '../../src/quarantine/workflow.js';
import type { AuditAction } from '../../src/model/audit-actions.js';
import type { Store } from '../../src/store/types.js';
import type { SignInSettings } from '../../src/users/auth-deps.js';
import { createUserDirectory, type UserDirectory } from '../../src/users/directory.js';
import type { Directory } from '../../src/users/ldap.js';
import { startPasswordWorker, type PasswordHasher } from '../../src/users/password-worker.js';
import { createConsoleAuth, type ConsoleAuth } from '../../src/users/sessions.js';
import { registerConsole, type ConsoleDeps } from '../../src/web/console/routes.js';
import { registerOpsRoutes } from '../../src/web/ops-routes.js';
import { createWebServer, type WebServerOptions } from '../../src/web/server.js';
import type { Backend, Opened } from '../store/backends.js';
import { Browser } from './browser.js';

export const PASSWORD = 'correct horse battery';

export const defaultSettings: SignInSettings = {
  sessionHours: 8,
  idleMinutes: 30,
  lockoutAttempts: 3,
  lockoutMinutes: 15,
  accountLockoutAttempts: 20,
  trustedAddressDays: 30,
  addressFailures: 20,
  staffTotp: 'optional',
  totpIssuer: 'mugaika (test)',
  passwordQueue: 8,
  directoryRecheckSeconds: 0,
};

export interface Console {
  o: Opened;
  store: Store;
  audit: AuditLog;
  users: UserDirectory;
  auth: ConsoleAuth;
  /** The quarantine on the same store and keys (the one the administrator's pages read and release from), and its release workflow. */
  vault: Vault;
  workflow: Workflow;
  /** The quarantine index the administrator's search reads (and the staff list, once loaded); not loaded until asked. */
  subjects: SubjectIndex;
  app: FastifyInstance;
  passwords: PasswordHasher;
  port: number;
  /** The clock the console reads; move it with `clock.t += ms`. */
  clock: { t: number };
  now: () => Date;
  browser(): Browser;
  records(...actions: AuditAction[]): Promise<{ seq: number; actor: string; action: string; object: string | null; details: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

export interface ConsoleOptions {
  settings?: Partial<SignInSettings>;
  failureFloorMs?: number;
  web?: WebServerOptions;
  directory?: Directory | null;
  loginRequestsPerMinute?: number;
  secureCookies?: boolean;
  failureAudit?: Parameters<typeof createConsoleAuth>[0]['failureAudit'];
  /** More of the console's dependencies, made from the parts this harness opened. */
  deps?: (parts: { o: Opened; audit: AuditLog; now: () => Date }) => Partial<ConsoleDeps>;
  /** The policy the administrator's pages apply (release.approvals). */
  policy?: Policy;
  /** The policy file the policy page's lists are written to; by default none (the embedded defaults, not editable). */
  policyFile?: string;
  /** Where released originals go; by default the data dir's Maildir. */
  carrier?: Carrier;
  /** Told of every route the server registers (fastify's onRoute hook, added before the first one). */
  onRoute?: (route: RouteOptions) => void;
}

export async function startConsole(backend: Backend, opts: ConsoleOptions = {}): Promise<Console> {
  const o = await backend.fresh();
  const store = o.store;
  const audit = openAuditLog(store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir, autoCheckpoint: false });
  const clock = { t: Date.parse('2026-11-26T01:00:00.000Z') };
  const now = (): Date => new Date(clock.t);
  const users = createUserDirectory(store, audit, now);
  const passwords = startPasswordWorker({ maxQueued: opts.settings?.passwordQueue ?? defaultSettings.passwordQueue });
  const auth = createConsoleAuth({
    store,
    audit,
    passwords,
    ring: await openKeyRing(o.dataDir, {}),
    directory: opts.directory ?? null,
    settings: { ...defaultSettings, ...opts.settings },
    now,
    failureFloorMs: opts.failureFloorMs ?? 30,
    failureAudit: opts.failureAudit,
  });
  const vault = await openVault({ dataDir: o.dataDir, store, audit, env: {}, gateway: 'test-gateway', now });
  const policy = opts.policy ?? defaultPolicy;
  const workflow = createWorkflow(vault, now, releaseMarkingOf(policy));
  // As the gateway assembles it: the ops endpoints on the console's listener (no web.opsListen).
  const app = createWebServer(opts.web);
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  registerOpsRoutes(app, { registry: new Registry(), health: async () => ({ ok: true, detail: {} }) });
  const admin = {
    vault,
    workflow,
    carrier: opts.carrier ?? createMaildirCarrier(path.join(o.dataDir, 'maildir')),
    policy,
    policyFile: opts.policyFile,
    users,
    dataDir: o.dataDir,
    subjects: createSubjectIndex(vault, store),
    now,
  };
  await registerConsole(app, {
    auth,
    store,
    vault,
    workflow,
    secureCookies: opts.secureCookies ?? false,
    loginRequestsPerMinute: opts.loginRequestsPerMinute ?? 1000,
    admin,
    ...opts.deps?.({ o, audit, now }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    o,
    store,
    audit,
    users,
    auth,
    vault,
    workflow,
    subjects: admin.subjects,
    app,
    passwords,
    port,
    clock,
    now,
    browser: () => new Browser(port),
    async records(...actions) {
      return (await store.searchAudit(actions.length ? { actions } : {})).map((r) => ({
        seq: r.seq,
        actor: r.actor,
        action: r.action,
        object: r.object,
        details: JSON.parse(r.details) as Record<string, unknown>,
      }));
    },
    async close() {
      await app.close();
      await admin.carrier.close();
      await auth.close();
      await passwords.close();
      await audit.close();
      await o.close();
    },
  };
}
