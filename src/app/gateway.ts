// Assembles the running gateway from the configuration: spool, quarantine,
// workers, carriers, the engine, the SMTP door, the ops endpoints and the console.
import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { parseHostPort } from '../config/schema.js';
import { openAuditLogThread } from '../audit/log-thread.js';
import { openStore } from '../store/open.js';
import { openVault } from '../quarantine/vault.js';
import { createReleaseMailer } from '../quarantine/release-mail.js';
import { createSubjectIndex } from '../quarantine/subject-index.js';
import { createWorkflow, releaseMarkingOf } from '../quarantine/workflow.js';
import { createUserDirectory } from '../users/directory.js';
import { policyFingerprint, recordStart } from '../relay/lifecycle.js';
import { bounceCarrier as bounceCarrierFor, nextHopCarrier } from '../delivery/from-config.js';
import { decideIsolation } from '../converters/isolation.js';
import { openFileLimit, webConnectionCap } from '../ops/descriptors.js';
import { createMetrics } from '../ops/metrics.js';
import { loadPolicy } from '../policy/load.js';
import { closeInbound, createInbound } from '../smtp/inbound.js';
import { openSpool } from '../spool/spool.js';
import { registerOpsRoutes } from '../web/ops-routes.js';
import { createWebServer } from '../web/server.js';
import { registerConsole } from '../web/console/routes.js';
import { openKeyRing } from '../keys/key-ring.js';
import { createLdapDirectory, ldapBindPassword } from '../users/ldap.js';
import { startPasswordWorker } from '../users/password-worker.js';
import { createConsoleAuth } from '../users/sessions.js';
import { createEngine } from '../relay/engine.js';
import { lockDataDir } from '../relay/lock.js';
import { unlockServiceFor } from '../unlock/wiring.js';
import { createSanitizer } from '../relay/sanitizer.js';
import { createScannerHealth } from '../scan/clamd-health.js';
import { clamdOf } from '../scan/wiring.js';
import { createTransferLog, recoveredFromLog } from '../relay/transfer-log.js';
import { senderAuthenticatorFor } from '../sender/wiring.js';
import { EXIT, OperatorError } from '../model/operator-error.js';
import { packageVersion } from '../runtime/version.js';
import { consoleAddress, firstAdminHint } from './start-line.js';

export interface Gateway {
  smtpPort: number;
  webPort: number;
  /** The listener of /metrics and /healthz: webPort unless web.opsListen is set. */
  opsPort: number;
  log: Logger;
  /**
   * Settles with the reason when a part the gateway cannot work without ends
   * by itself (the audit log thread): the gateway must then stop and exit
   * non-zero, loudly, to be restarted; every message stays in the spool.
   */
  died: Promise<Error>;
  stop(): Promise<void>;
}

/** How long /healthz waits for the database to answer. */
const HEALTH_DB_MS = 2000;

const withinMs = <T>(work: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
};
const PURGE_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** How often the release workflow's mails (requests to admins, decisions to requesters) are looked for. */
const RELEASE_MAIL_TICK_MS = 5000;

/**
 * The gateway's JSON log on stdout. Written asynchronously: a line per message
 * event was a write(2) per line on the SMTP thread; now lines logged while a
 * write is under way go out together in the next one. The audit log, not this
 * one, is the durable record: a crash can lose the last lines here, nothing else.
 */
export const gatewayLogger = (): Logger => pino({ base: { service: 'mugaika' } }, pino.destination({ dest: 1, sync: false }));

/** The gateway could not start; what it had opened is closed again. */
export class GatewayStartError extends OperatorError {
  override readonly name = 'GatewayStartError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.failed, options);
  }
}

/** Listens, or fails with a message a person can act on. */
function listening(what: { ja: string; en: string }, at: string, listen: (onError: (err: Error) => void, onListening: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    listen(
      (err: Error & { code?: string }) =>
        reject(
          new GatewayStartError(
            err.code === 'EADDRINUSE'
              ? `${what.ja}の待ち受けアドレス ${at} は、ほかのプログラムが使用中です。設定を変えるか、そのプログラムを止めてください。/ The ${what.en} address ${at} is already in use: change the setting or stop the other program.`
              : `${what.ja}を ${at} で待ち受けられません (${err.message})。/ Cannot listen for ${what.en} on ${at}: ${err.message}`,
            { cause: err },
          ),
        ),
      resolve,
    ),
  );
}

export async function startGateway(config: Config, log: Logger = gatewayLogger()): Promise<Gateway> {
  // What is open so far, closed in reverse if a later step fails: a gateway
  // whose port was taken kept running without listening (its engine timer,
  // worker pool and audit thread held the process), with its pid file left.
  const opened: Array<() => Promise<unknown>> = [];
  try {
    return await start(config, log, opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

async function start(config: Config, log: Logger, opened: Array<() => Promise<unknown>>): Promise<Gateway> {
  const dataDir = path.resolve(config.dataDir);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(dataDir);
  opened.push(unlock);
  const policy = await loadPolicy(config.policyFile);
  const actor = `gateway:${config.smtp.hostname}`;
  const store = await openStore({ dataDir, databaseUrl: config.database.url });
  opened.push(() => store.close());
  // On its own thread: a commit's fsync must not stall SMTP sessions and deliveries.
  // The sanitizer workers append through it too: one writer for the whole gateway.
  const audit = await openAuditLogThread({ dataDir, databaseUrl: config.database.url, shared: true });
  opened.push(() => audit.close());
  const quarantine = await openVault({ dataDir, store, audit, gateway: config.smtp.hostname, recover: true });
  const spool = await openSpool(dataDir, { recover: true });
  opened.push(() => spool.close());
  const transfers = createTransferLog(audit, actor, store);
  await recordStart(audit, store, actor, policyFingerprint(policy));
  opened.push(() => audit.append({ actor, action: 'gateway-stopped', object: actor, details: { reason: 'start failed' } }));
  const nextHop = nextHopCarrier(config, dataDir);
  const bounceCarrier = bounceCarrierFor(config, dataDir);
  opened.push(
    () => nextHop.close(),
    () => bounceCarrier.close(),
  );
  // One thread per core unless work.workers says otherwise; the engine's concurrency is counted from the same number.
  const workers = config.work.workers ?? Math.max(1, availableParallelism());
  // Decided once (one bubblewrap probe) for every converter: the sanitizer's workers and the PPAP unlock.
  const isolation = await decideIsolation(policy.documents);
  const sanitizer = createSanitizer({
    dataDir,
    databaseUrl: config.database.url,
    auditChannel: audit.channel!,
    gateway: config.smtp.hostname,
    policy,
    isolation,
    workers,
    quarantine,
    consoleUrl: config.web.publicUrl,
    clamd: clamdOf(config),
  });
  opened.push(() => sanitizer.close());
  let snapshot = () => ({ incoming: 0, waiting: 0, outgoing: 0, oldestAgeSeconds: 0 });
  const metrics = createMetrics(() => snapshot());
  const engine = createEngine({
    spool,
    sanitizer,
    nextHop,
    bounceCarrier,
    transfers,
    metrics,
    log,
    policy,
    retry: config.delivery,
    hostname: config.smtp.hostname,
    authenticator: senderAuthenticatorFor(config.dns, config.smtp.hostname),
    sanitizeConcurrency: workers * 2,
    deliveryConcurrency: config.delivery.maxConnections * 2,
    // Incoming entries too: a first attempt is made before the outgoing entry exists,
    // and one sanitized before a crash is sanitized again with its recorded verdict.
    recovered: await recoveredFromLog(store, await spool.listOutgoing(), await spool.listIncoming()),
  });
  snapshot = engine.snapshot;
  await engine.start();
  opened.push(() => engine.stop());

  // policy scan.unavailable tempfail: while clamd does not answer, no message is taken (451), none accepted to wait.
  const scanner = config.scan.clamdSocket && policy.scan.unavailable === 'tempfail' ? createScannerHealth(clamdOf(config)!.socketPath, 2000) : null;
  const unready = scanner ? async (): Promise<string | null> => ((await scanner.available()) ? null : 'the malware scanner is not answering') : undefined;
  const inbound = createInbound({ config, maxMessageBytes: policy.limits.maxMessageBytes, spool, metrics, log, accepted: engine.accepted, unready });
  inbound.on('error', (err) => log.error({ err: err.message }, 'smtp server error'));
  const smtpAt = parseHostPort(config.smtp.listen);
  await listening({ ja: 'SMTP', en: 'SMTP' }, config.smtp.listen, (onError, onListening) => {
    inbound.server.once('error', onError);
    inbound.listen(smtpAt.port, smtpAt.host, onListening);
  });
  opened.push(() => closeInbound(inbound));
  const opsDeps = {
    registry: metrics.registry,
    async health() {
      // A file written in the spool, not fs.access(W_OK), which is true for root
      // whatever the folders a message is written to.
      await spool.probe();
      const queue = engine.snapshot();
      // The database: without it no verdict or delivery can be recorded, and
      // messages wait in the spool (a /healthz that said 200 then hid 240 of them).
      const database = await withinMs(store.head(), HEALTH_DB_MS).then(
        () => null,
        (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 300),
      );
      if (database !== null) return { ok: false, detail: { reason: `database unavailable: ${database} / データベースに接続できません`, queue, nextHop: nextHop.name } };
      return { ok: true, detail: { queue, nextHop: nextHop.name } };
    },
  };
  const web = config.web;
  const tls = web.tlsKeyFile && web.tlsCertFile;
  const secure = Boolean(tls) || web.secureCookies;
  const consoleServer = createWebServer({ tlsKeyFile: web.tlsKeyFile, tlsCertFile: web.tlsCertFile, trustProxy: web.trustProxy, hsts: secure });
  // The ops endpoints on a listener of their own when web.opsListen is set, so that the console's can be closed to all but staff networks.
  const opsServer = web.opsListen ? createWebServer({ trustProxy: web.trustProxy }) : consoleServer;
  registerOpsRoutes(opsServer, opsDeps);
  // Password hashing on a thread of its own with a bounded queue: a login flood takes that thread, never the SMTP loop.
  const passwords = startPasswordWorker({ maxQueued: web.passwordQueue });
  opened.push(() => passwords.close());
  const auth = createConsoleAuth({
    store,
    audit,
    passwords,
    ring: await openKeyRing(dataDir),
    directory: web.ldap ? createLdapDirectory({ ...web.ldap, bindPassword: ldapBindPassword(web.ldap, process.env) }) : null,
    settings: {
      sessionHours: web.sessionHours,
      idleMinutes: web.idleMinutes,
      lockoutAttempts: web.lockoutAttempts,
      lockoutMinutes: web.lockoutMinutes,
      accountLockoutAttempts: web.accountLockoutAttempts,
      trustedAddressDays: web.trustedAddressDays,
      addressFailures: web.addressFailures,
      staffTotp: web.staffTotp,
      totpIssuer: `mugaika (${config.smtp.hostname})`,
      passwordQueue: web.passwordQueue,
      directoryRecheckSeconds: web.ldap?.recheckSeconds ?? 0,
    },
  });
  opened.push(() => auth.close());
  const ppap = unlockServiceFor({ vault: quarantine, audit, policy, spool, accepted: engine.accepted }, isolation);
  // One workflow for the staff's requests, the administrators' decisions and the daily purge.
  const workflow = createWorkflow(quarantine, undefined, releaseMarkingOf(policy));
  // The auditor's verification, as `mugaika audit verify` runs it: the gateway's keys, its head file, two threads for a long log.
  const auditor = {
    audit,
    verify: async () => {
      const [{ verifyAudit }, { loadTrust }, { headFilePath }, { segmentsOnThreads }] = await Promise.all([
        import('../audit/verify.js'),
        import('../audit/signer.js'),
        import('../audit/head-file.js'),
        import('../audit/verify-parallel.js'),
      ]);
      return verifyAudit(store, await loadTrust(dataDir), { headFile: headFilePath(dataDir), parallel: segmentsOnThreads({ dataDir, databaseUrl: config.database.url }) });
    },
  };
  // The administrator's pages release through the next hop, with the policy's marking; the subject index loads in the background.
  const subjects = createSubjectIndex(quarantine, store);
  subjects.load().catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'loading the quarantine search index failed; retried at the next search'));
  const admin = {
    vault: quarantine,
    workflow,
    carrier: nextHop,
    policy,
    policyFile: config.policyFile ? path.resolve(config.policyFile) : undefined,
    users: createUserDirectory(store, audit),
    dataDir,
    subjects,
    now: () => new Date(),
  };
  await registerConsole(consoleServer, { auth, store, vault: quarantine, workflow, secureCookies: secure, loginRequestsPerMinute: web.loginRequestsPerMinute, unlock: ppap, auditor, admin });
  // Mails to people about release requests and decisions, through the next hop like every delivery.
  const releaseMail = createReleaseMailer({
    store,
    audit,
    carrier: nextHop,
    from: web.notifyFrom ?? `postmaster@${config.smtp.hostname}`,
    digestMinutes: web.notifyDigestMinutes,
    language: policy.language,
    actor,
  });
  await releaseMail.start(RELEASE_MAIL_TICK_MS);
  opened.push(() => releaseMail.stop());
  // Connections are capped so that a web flood cannot take the descriptors SMTP and the spool need.
  const webCap = webConnectionCap(web.maxConnections, config.smtp.maxClients);
  for (const server of new Set([consoleServer, opsServer])) server.server.maxConnections = webCap;
  const webAt = parseHostPort(web.listen);
  const consoleName = web.opsListen ? { ja: 'Web（管理コンソール）', en: 'web (console)' } : { ja: 'Web（管理コンソール・/healthz）', en: 'web (console, /healthz)' };
  await listening(consoleName, web.listen, (onError, onListening) => {
    consoleServer.listen({ host: webAt.host, port: webAt.port }).then(onListening, onError);
  });
  opened.push(() => consoleServer.close());
  const opsAt = web.opsListen ? parseHostPort(web.opsListen) : null;
  if (opsAt && web.opsListen) {
    await listening({ ja: '監視用（/metrics・/healthz）', en: 'ops (/metrics, /healthz)' }, web.opsListen, (onError, onListening) => {
      opsServer.listen({ host: opsAt.host, port: opsAt.port }).then(onListening, onError);
    });
    opened.push(() => opsServer.close());
  }

  // `mugaika queue retry|bounce` leave their requests in the spool; the engine then re-reads outgoing/.
  const control = spool.watchControl(() => engine.rescan());

  // Retention: originals older than quarantine.retentionDays are purged (and the purge audited)
  // at start and once a day; `mugaika quarantine purge` does the same by hand (the console's workflow, above).
  const purge = (): void => {
    const t = Date.now();
    store
      .deleteExpiredSessions(new Date(t), new Date(t - web.idleMinutes * 60_000))
      .then(() => store.deleteStaleLoginAddresses(new Date(t - web.trustedAddressDays * 24 * 3_600_000)))
      .catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'removing expired console sessions failed'));
    workflow.purge(config.quarantine.retentionDays, actor).then(
      (r) => (r.count > 0 ? log.info({ purged: r.count, cutoff: r.cutoff }, 'quarantine retention: originals purged') : undefined),
      (err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'quarantine retention purge failed; retried tomorrow'),
    );
  };
  purge();
  const daily = setInterval(purge, PURGE_INTERVAL_MS);
  daily.unref();

  const smtpPort = (inbound.server.address() as { port: number }).port;
  const webPort = (consoleServer.server.address() as { port: number }).port;
  const opsPort = (opsServer.server.address() as { port: number }).port;
  // The first line a person reads: where the console is, and on a fresh install how to make its first administrator.
  const consoleAt = consoleAddress(web.publicUrl, Boolean(tls), webAt.host, webPort);
  const firstAdmin = firstAdminHint(await store.listUsers(), Boolean(web.ldap));
  log.info(
    {
      console: consoleAt,
      ...(firstAdmin ? { firstAdmin } : {}),
      smtp: `${smtpAt.host}:${smtpPort}`,
      web: `${webAt.host}:${webPort}`,
      ...(opsAt ? { ops: `${opsAt.host}:${opsPort}` } : {}),
      tls: Boolean(tls),
      nextHop: nextHop.name,
      dataDir,
      version: packageVersion(),
    },
    // The message stays as it is (tests, scripts and SIEM rules look for it); the console and the hint are its first fields.
    'mugaika gateway started',
  );
  if (webCap < web.maxConnections) log.warn({ configured: web.maxConnections, cap: webCap, openFileLimit: openFileLimit() }, 'web connections capped to leave descriptors for SMTP and the spool');

  return {
    smtpPort,
    webPort,
    opsPort,
    log,
    died: audit.died,
    async stop() {
      log.info('stopping: no new connections; work under way finishes, the rest stays in the spool');
      control.stop();
      clearInterval(daily);
      await closeInbound(inbound);
      await releaseMail.stop();
      // The carriers close together with engine.stop(), which waits for the deliveries
      // under way: a next hop that never answers the final dot must not hold SIGTERM for
      // the socket timeout. Those deliveries get a grace period, then come back as
      // temporary failures and stay in the spool. The sanitizer closes only afterwards:
      // cutting a sanitization off would block the message instead of leaving it in incoming/.
      await Promise.allSettled([engine.stop(), nextHop.close(), bounceCarrier.close()]);
      await Promise.allSettled([sanitizer.close(), consoleServer.close(), opsServer === consoleServer ? undefined : opsServer.close(), spool.close()]);
      await Promise.allSettled([auth.close(), passwords.close()]);
      await audit.append({ actor, action: 'gateway-stopped', object: actor, details: {} }).catch(() => undefined);
      // Each step even if one before it failed (a dead audit thread): the pid file goes last, always.
      await audit.close().catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'closing the audit log failed'));
      await store.close().catch(() => undefined);
      await unlock();
      log.info('stopped');
      log.flush();
    },
  };
}
