// What `mugaika sanitize` runs on: the gateway's own worker pool, store, vault
// and audit log for a data dir, so that a verdict reached on the command line
// is reached, quarantined and audited exactly as the relay's would be, under
// the same hard time budget (limits.timeoutMs): the core runs on a worker
// thread that is killed when it overruns, and the message is then blocked.
import os from 'node:os';
import path from 'node:path';
import { openAuditLogThread } from '../audit/log-thread.js';
import type { AuditLog } from '../audit/log.js';
import { loadConfig } from '../config/load.js';
import type { Policy } from '../core/policy.js';
import { QuarantineUnavailableError } from '../core/sanitize.js';
import type { Envelope } from '../model/envelope.js';
import { decideIsolation } from '../converters/isolation.js';
import { openVault } from '../quarantine/vault.js';
import { createSanitizer, type Sanitizer } from '../relay/sanitizer.js';
import { clamdOf } from '../scan/wiring.js';
import type { SenderAuthenticator } from '../sender/authenticate.js';
import { senderAuthenticatorFor } from '../sender/wiring.js';
import { openStore } from '../store/open.js';
import { defaultActor } from '../app/cli-context.js';

export interface CliDeps {
  /** One worker thread, one message at a time. */
  sanitizer: Sanitizer;
  audit: AuditLog;
  /** Who the audit log names for this run: `cli:<OS user>`. */
  actor: string;
  now(): Date;
  close(): Promise<void>;
  /** Checks the sender as the gateway does at receipt; null with `dns.authenticate: false`. */
  authenticator?: SenderAuthenticator | null;
}

export interface CliDnsOptions {
  /** Resolvers to ask (--dns-server), instead of the configuration's or the system's. */
  servers?: readonly string[];
}

export async function openCliDeps(dataDir: string, policy: Policy, configFile?: string, dns: CliDnsOptions = {}): Promise<CliDeps> {
  const dir = path.resolve(dataDir);
  const actor = defaultActor();
  let closing: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    const steps = closing.reverse();
    closing = [];
    for (const step of steps) await step().catch(() => undefined);
  };
  // A configuration that does not load is the operator's to fix, not a reason to try again later.
  const config = await loadConfig(configFile, process.env);
  try {
    const store = await openStore({ dataDir: dir, databaseUrl: config.database.url });
    closing.push(() => store.close());
    const audit = await openAuditLogThread({ dataDir: dir, databaseUrl: config.database.url, shared: true });
    closing.push(() => audit.close());
    // Items are recorded as kept by this host, as the gateway records its own.
    const gateway = os.hostname();
    const quarantine = await openVault({ dataDir: dir, store, audit, gateway, env: process.env });
    const sanitizer = createSanitizer({
      dataDir: dir,
      databaseUrl: config.database.url,
      auditChannel: audit.channel!,
      gateway,
      policy,
      isolation: await decideIsolation(policy.documents),
      workers: 1,
      quarantine,
      clamd: clamdOf(config),
    });
    closing.push(() => sanitizer.close());
    const authenticator = senderAuthenticatorFor(dns.servers?.length ? { ...config.dns, servers: [...dns.servers] } : config.dns, gateway);
    return { sanitizer, audit, actor, now: () => new Date(), close, authenticator };
  } catch (err) {
    await close();
    throw new QuarantineUnavailableError(err);
  }
}

/** For a message sanitized from a file: no SMTP envelope. */
export const noEnvelope: Envelope = { mailFrom: null, rcptTo: [] };
