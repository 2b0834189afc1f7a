// The gateway's configuration: where it listens, where it delivers, where it
// keeps its data. One zod schema; a YAML file overrides the defaults and six
// environment variables override the file.
import { isIP } from 'node:net';
import { z } from 'zod';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, e.g. 127.0.0.1:2525 or [::1]:2525');

/** The municipality's directory (LDAP / Active Directory), when console users come from it. */
const ldapSchema = z
  .object({
    /** ldaps://host:636, or ldap://host:389 with startTls: passwords never cross in the clear. */
    url: z.string().regex(/^ldaps?:\/\/[^\s/]+\/?$/, 'ldaps://host[:port] or ldap://host[:port]'),
    startTls: z.boolean().default(false),
    /** The CA that signed the directory's certificate (PEM); the system's CAs when absent. */
    caFile: z.string().optional(),
    /** The service account that looks users and groups up (it needs read access only). */
    bindDn: z.string().min(1),
    /** A file holding its password (first line); or MUGAIKA_LDAP_BIND_PASSWORD. */
    bindPasswordFile: z.string().optional(),
    /** Where users are searched, and how; {name} is the login name, escaped (RFC 4515). */
    userBase: z.string().min(1),
    userFilter: z.string().includes('{name}').default('(&(objectClass=person)(uid={name}))'),
    mailAttribute: z.string().default('mail'),
    displayNameAttribute: z.string().default('displayName'),
    /** The group (DN) whose members get each role; a role left out is not given from the directory. */
    groups: z
      .object({ staff: z.string().min(1).optional(), admin: z.string().min(1).optional(), auditor: z.string().min(1).optional() })
      .strict()
      .refine((g) => g.staff ?? g.admin ?? g.auditor, 'name at least one group'),
    /** The group attribute that lists its members' DNs (groupOfNames: member; groupOfUniqueNames: uniqueMember). */
    memberAttribute: z.string().default('member'),
    /** Active Directory: count members of nested groups too (LDAP_MATCHING_RULE_IN_CHAIN). */
    nestedGroups: z.boolean().default(false),
    /** A directory that has not answered within this long is down, ms. */
    timeoutMs: z.number().int().positive().max(60_000).default(5000),
    /** How long a directory user's membership is trusted between checks; 0 checks at every request, s. */
    recheckSeconds: z.number().int().min(0).max(3600).default(0),
  })
  .strict()
  .refine((l) => l.url.startsWith('ldaps://') || l.startTls, { message: 'use ldaps:// or startTls: true: passwords must not cross in the clear', path: ['url'] });

export type LdapConfig = z.infer<typeof ldapSchema>;

/** The console's address as people reach it (https://host[:port][/path]), without a trailing slash. */
const publicUrl = z
  .url({ protocol: /^https?$/, error: 'an http:// or https:// URL, e.g. https://mugaika.city.example.lg.jp' })
  .refine((u) => URL.canParse(u) && ((p) => !p.search && !p.hash && !p.username && !p.password)(new URL(u)), 'no query, fragment or user name in web.publicUrl')
  .transform((u) => u.replace(/\/+$/, ''));

const webSchema = z
  .object({
    /** The console's address as clerks reach it: the notice of a quarantined original then ends with its page there. */
    publicUrl: publicUrl.optional(),
    /** The console (and /metrics, /healthz unless opsListen is set). */
    listen: hostPort.default('127.0.0.1:8025'),
    /** /metrics and /healthz on a listener of their own, so that the console's can be closed to all but staff networks. */
    opsListen: hostPort.optional(),
    /** HTTPS for the console when both are set (PEM files): cookies become Secure and HSTS is sent. */
    tlsKeyFile: z.string().optional(),
    tlsCertFile: z.string().optional(),
    /** Mark cookies Secure and send HSTS: set it when an HTTPS reverse proxy serves the console. */
    secureCookies: z.boolean().default(false),
    /** Reverse proxies (addresses or CIDRs) whose X-Forwarded-For names the client; nobody else's is believed. */
    trustProxy: z.array(z.string().min(1)).default([]),
    /** A console session ends this many hours after login (one working day by default)... */
    sessionHours: z
      .number()
      .positive()
      .max(24 * 7)
      .default(8),
    /** ...or after this many minutes without a request. */
    idleMinutes: z
      .number()
      .positive()
      .max(24 * 60)
      .default(30),
    /** Failed logins in a row for one account from one address that lock it for that address... */
    lockoutAttempts: z.number().int().positive().max(100).default(5),
    /** ...for this many minutes (an admin can unlock it earlier with `mugaika user enable`). */
    lockoutMinutes: z
      .number()
      .positive()
      .max(24 * 60)
      .default(15),
    /** Failed logins in a row for one account from addresses it has not logged in from, that lock it for all such addresses. */
    accountLockoutAttempts: z.number().int().positive().max(10_000).default(20),
    /** An address an account logged in from stays its own this many days: the account-wide lock does not apply to it. */
    trustedAddressDays: z.number().positive().max(365).default(30),
    /** Failed logins from one client address (IPv6: its /64) within lockoutMinutes before it is refused (429). */
    addressFailures: z.number().int().positive().max(10_000).default(20),
    /** Login attempts (any outcome) from one address per minute before it is refused (429). */
    loginRequestsPerMinute: z.number().int().positive().max(10_000).default(30),
    /** Password checks waiting for the password thread; one more is refused with a 503 page. */
    passwordQueue: z.number().int().positive().max(1000).default(8),
    /** TOTP for staff: 'optional' (they may enrol from their account page) or 'required'. Admins and auditors always need it. */
    staffTotp: z.enum(['optional', 'required']).default('optional'),
    /**
     * Web connections open at once; fewer when the process's open-file limit needs the rest for SMTP and the spool.
     * Room for busy clients: one with 128 requests in flight held up to 200 connections here (keep-alive sockets are replaced as they close).
     */
    maxConnections: z.number().int().positive().max(100_000).default(1024),
    ldap: ldapSchema.optional(),
    /** Mail to administrators about new release requests: 0 sends one mail per request, more gathers them into a digest every this many minutes. */
    notifyDigestMinutes: z
      .number()
      .int()
      .min(0)
      .max(24 * 60)
      .default(0),
    /** The sender (envelope and From) of the console's mails to people; default postmaster@ the gateway's hostname. */
    notifyFrom: z.string().email().optional(),
  })
  .strict()
  .refine((w) => !w.tlsKeyFile === !w.tlsCertFile, { message: 'web.tlsKeyFile and web.tlsCertFile go together', path: ['tlsCertFile'] })
  .prefault({});

export type WebConfig = z.infer<typeof webSchema>;

/** A DNS server as node's resolver takes it: an IP address, optionally with a port (`127.0.0.1:5353`, `[::1]:5353`). */
const dnsServer = z.string().refine((v) => isIP(v) !== 0 || /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(v), 'an IP address, optionally with :port (e.g. 127.0.0.1:5353 or [::1]:5353)');

/** Sender authentication at receipt (SPF, DKIM, DMARC, ARC) and the DNS it asks. */
const dnsSchema = z
  .object({
    /**
     * Check senders at all; off, the notice and our Authentication-Results say
     * nothing about them. Unset, on when `servers` names resolvers: a gateway
     * started on the embedded defaults asks no DNS. `true` without `servers`
     * asks the system's (the example configuration, which scripts/install.sh
     * installs, says so).
     */
    authenticate: z.boolean().optional(),
    /** The resolvers to ask; the system's (/etc/resolv.conf) when absent. */
    servers: z.array(dnsServer).min(1).optional(),
    /** One query's wait for one server, ms. */
    timeoutMs: z.number().int().positive().max(30_000).default(2000),
    /** How often a query is sent before it fails. */
    tries: z.number().int().positive().max(5).default(2),
    /** All checks of one message together, DNS included: past it, what is left is a temperror, ms. */
    budgetMs: z.number().int().positive().max(60_000).default(5000),
    /** Answers kept, and for how long, s. */
    cacheEntries: z.number().int().nonnegative().max(1_000_000).default(10_000),
    cacheSeconds: z.number().int().nonnegative().max(86_400).default(300),
    /** A DNS answer longer than this is refused (temperror), bytes. */
    maxAnswerBytes: z.number().int().positive().max(65_535).default(16_384),
    /** DKIM and ARC keys longer than this are refused (permerror), bits. */
    maxKeyBits: z.number().int().min(1024).max(16_384).default(8192),
  })
  .strict()
  .prefault({});

export type DnsConfig = z.infer<typeof dnsSchema>;

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('data'),
    /** The sanitization policy (policies/default.yaml's format); the embedded defaults when absent. */
    policyFile: z.string().min(1).optional(),
    smtp: z
      .object({
        listen: hostPort.default('127.0.0.1:2525'),
        /** Our name in the greeting and in Received-less bounces. */
        hostname: z
          .string()
          .regex(/^[A-Za-z0-9.-]+$/)
          .default('mugaika.localdomain'),
        /** RCPT TO is accepted only for these domains and their subdomains: never an open relay. */
        relayDomains: z
          .array(z.string().regex(/^[A-Za-z0-9.-]+$/))
          .min(1)
          .default(['city.example.lg.jp']),
        /** Client addresses allowed to connect (exact IPs or IPv4/IPv6 CIDR); empty allows any. */
        allowedClients: z.array(z.string()).default(['127.0.0.1/8', '::1/128']),
        maxRecipients: z.number().int().positive().max(100_000).default(1000),
        maxClients: z.number().int().positive().max(10_000).default(100),
        /** Idle time before a client is disconnected (slowloris protection), ms. */
        socketTimeoutMs: z.number().int().positive().default(60_000),
        /** Connections one client address may hold at once: one address cannot take every slot (smtp.maxClients). */
        maxConnectionsPerClient: z.number().int().positive().max(10_000).default(50),
        /** A session (however busy) ends after this long; the client reconnects for more, seconds. */
        maxSessionSeconds: z.number().int().positive().max(86_400).default(600),
        /** A message whose data arrives slower than this on average is cut off (after dataRateGraceSeconds), bytes per second. */
        minDataBytesPerSecond: z
          .number()
          .int()
          .nonnegative()
          .max(100 * 1024 * 1024)
          .default(1024),
        dataRateGraceSeconds: z.number().int().positive().max(3600).default(30),
        /** STARTTLS is offered only when both are set (PEM files). */
        tlsKeyFile: z.string().optional(),
        tlsCertFile: z.string().optional(),
      })
      .strict()
      .prefault({}),
    delivery: z
      .object({
        /** The LGWAN-side MTA; without it, mail goes to a Maildir under the data dir. */
        nextHop: hostPort.optional(),
        maxConnections: z.number().int().positive().max(100).default(4),
        /** Give up and bounce after this long, hours (RFC 5321 suggests 4-5 days). */
        maxAgeHours: z
          .number()
          .positive()
          .max(24 * 30)
          .default(120),
        /** First retry after this many seconds; each later one waits twice as long, at most an hour. */
        retryBaseSeconds: z.number().positive().max(3600).default(60),
        /** Internet-side MTA that carries bounces (DSNs) back to senders; without it they go to the Maildir's .bounces folder. */
        bounceRelay: hostPort.optional(),
        connectionTimeoutMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .prefault({}),
    work: z
      .object({
        /** Sanitizer worker threads; the machine's cores by default. */
        workers: z.number().int().positive().max(64).optional(),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /** PostgreSQL shared by several gateways (postgres://...); without it, SQLite under the data dir. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL')
          .optional(),
      })
      .strict()
      .prefault({}),
    quarantine: z
      .object({
        /** Originals older than this are purged (the purge is audited), days. */
        retentionDays: z.number().int().positive().max(3650).default(90),
      })
      .strict()
      .prefault({}),
    scan: z
      .object({
        /**
         * ClamAV's daemon (its LocalSocket, e.g. /run/clamav/clamd.ctl): every file is scanned
         * before it is converted, for `serve` and `sanitize` alike; without it nothing is scanned.
         * What happens when it does not answer is the policy's scan.unavailable.
         */
        clamdSocket: z.string().min(1).optional(),
        /** How long clamd may take for one file, ms. */
        timeoutMs: z.number().int().positive().max(600_000).default(30_000),
      })
      .strict()
      .prefault({}),
    web: webSchema,
    dns: dnsSchema,
  })
  .strict()
  .refine((c) => !c.smtp.tlsKeyFile === !c.smtp.tlsCertFile, {
    message: 'smtp.tlsKeyFile and smtp.tlsCertFile go together',
    path: ['smtp', 'tlsCertFile'],
  })
  .refine((c) => c.smtp.maxConnectionsPerClient <= c.smtp.maxClients, {
    message: 'smtp.maxConnectionsPerClient may not exceed smtp.maxClients',
    path: ['smtp', 'maxConnectionsPerClient'],
  });

export type Config = z.infer<typeof configSchema>;

/** Environment variables that override the file, and the key each sets. */
export const ENV_OVERRIDES = {
  MUGAIKA_SMTP_LISTEN: ['smtp', 'listen'],
  MUGAIKA_NEXT_HOP: ['delivery', 'nextHop'],
  MUGAIKA_DATA_DIR: ['dataDir'],
  MUGAIKA_WEB_LISTEN: ['web', 'listen'],
  MUGAIKA_OPS_LISTEN: ['web', 'opsListen'],
  MUGAIKA_DATABASE_URL: ['database', 'url'],
  MUGAIKA_CLAMD_SOCKET: ['scan', 'clamdSocket'],
} as const;

export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  if (!m?.[1] || !m[2]) throw new Error(`not host:port: ${value}`);
  return { host: m[1], port: Number(m[2]) };
}
