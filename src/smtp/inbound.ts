// The Internet-side door: an SMTP server that accepts mail only from allowed
// clients, only for the LGWAN domains it serves (never an open relay), within
// the size and recipient limits, and answers 250 only once the message is
// durably in the spool. Anything that goes wrong before that is a 451.
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config/schema.js';
import type { ReceivedEnvelope } from '../model/envelope.js';
import type { Metrics } from '../ops/metrics.js';
import type { Spool } from '../spool/spool.js';
import type { QueueId } from '../spool/types.js';

const reply = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });

export function clientFilter(allowed: readonly string[]): (address: string) => boolean {
  if (allowed.length === 0) return () => true;
  const list = new BlockList();
  for (const entry of allowed) {
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(addr)) throw new Error(`smtp.allowedClients: ${entry} is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return (address) => {
    const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    return list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  };
}

export function domainFilter(domains: readonly string[]): (address: string) => boolean {
  const lower = domains.map((d) => d.toLowerCase());
  return (address) => {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    return address.includes('@') && lower.some((d) => domain === d || domain.endsWith(`.${d}`));
  };
}

export interface InboundDeps {
  config: Config;
  maxMessageBytes: number;
  spool: Spool;
  metrics: Metrics;
  log: Logger;
  accepted(id: QueueId, receivedAt: Date): void;
  /**
   * Asked at MAIL FROM: null when a message can be taken now, or why not
   * (the malware scanner is down and the policy says try again later): 451.
   */
  unready?: () => Promise<string | null>;
}

export function createInbound(d: InboundDeps): SMTPServer {
  const { smtp } = d.config;
  const clientAllowed = clientFilter(smtp.allowedClients);
  const ours = domainFilter(smtp.relayDomains);
  const tls = smtp.tlsKeyFile && smtp.tlsCertFile ? { key: readFileSync(smtp.tlsKeyFile), cert: readFileSync(smtp.tlsCertFile) } : null;
  const refuse = (reason: string, code: number, message: string): Error => {
    d.metrics.refused.inc({ reason });
    return reply(code, message);
  };

  // Slots: per client address, and a deadline per session and a least data
  // rate per message, so that idle or dripping clients cannot hold every slot
  // (100 clients sending a byte a second kept all of them for 80 s).
  const perClient = new Map<string, number>();
  const counted = new Set<string>();
  const deadlines = new Map<string, NodeJS.Timeout>();
  /** Tells the client why and closes its connection (a message under way is dropped, never half-kept). */
  const cut = (sessionId: string, code: number, text: string, reason: string): void => {
    for (const c of server.connections) {
      if (c.id !== sessionId) continue;
      d.metrics.refused.inc({ reason });
      d.log.warn({ client: c.remoteAddress, reason }, 'smtp session cut off');
      c.send(code, text);
      c.close();
    }
  };

  const server: SMTPServer = new SMTPServer({
    name: smtp.hostname,
    banner: 'mugaika ESMTP',
    size: d.maxMessageBytes,
    authOptional: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideSTARTTLS: !tls,
    ...(tls ?? {}),
    disableReverseLookup: true,
    logger: false,
    maxClients: smtp.maxClients,
    maxRecipients: smtp.maxRecipients,
    socketTimeout: smtp.socketTimeoutMs,
    closeTimeout: 30_000,
    onConnect(session: SMTPServerSession, cb) {
      if (!clientAllowed(session.remoteAddress)) {
        d.log.warn({ client: session.remoteAddress }, 'connection from a client not in smtp.allowedClients');
        return cb(refuse('client', 554, `5.7.1 ${session.remoteAddress} may not send mail through this gateway`));
      }
      const held = perClient.get(session.remoteAddress) ?? 0;
      if (held >= smtp.maxConnectionsPerClient) {
        return cb(refuse('client-connections', 421, `4.7.0 too many connections from ${session.remoteAddress}; try again later`));
      }
      perClient.set(session.remoteAddress, held + 1);
      counted.add(session.id);
      deadlines.set(
        session.id,
        setTimeout(() => cut(session.id, 421, '4.4.2 session time limit reached; reconnect to go on', 'session-deadline'), smtp.maxSessionSeconds * 1000),
      );
      cb();
    },
    onClose(session: SMTPServerSession) {
      clearTimeout(deadlines.get(session.id));
      deadlines.delete(session.id);
      if (!counted.delete(session.id)) return;
      const held = (perClient.get(session.remoteAddress) ?? 1) - 1;
      if (held > 0) perClient.set(session.remoteAddress, held);
      else perClient.delete(session.remoteAddress);
    },
    onMailFrom(_address: SMTPServerAddress, _session, cb) {
      if (!d.unready) return cb();
      d.unready().then(
        (why) => (why === null ? cb() : cb(refuse('unready', 451, `4.3.0 ${why}; try again later`))),
        () => cb(refuse('unready', 451, '4.3.0 temporary local problem; try again later')),
      );
    },
    onRcptTo(address: SMTPServerAddress, _session, cb) {
      if (ours(address.address)) return cb();
      cb(refuse('relay', 550, `5.7.1 <${address.address}>: relay access denied; this gateway delivers only to ${smtp.relayDomains.join(', ')}`));
    },
    onData(stream, session, cb) {
      const receivedAt = new Date();
      // The least data rate, on average since DATA, checked once the grace period is over.
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      const rate = setInterval(() => {
        const seconds = (Date.now() - receivedAt.getTime()) / 1000;
        if (seconds >= smtp.dataRateGraceSeconds && bytes / seconds < smtp.minDataBytesPerSecond) {
          clearInterval(rate);
          cut(session.id, 421, `4.4.2 data too slow (less than ${smtp.minDataBytesPerSecond} bytes a second); try again later`, 'data-rate');
        }
      }, 1000);
      const stopRate = (): void => clearInterval(rate);
      stream.once('end', stopRate);
      stream.once('close', stopRate);
      const envelope: ReceivedEnvelope = {
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
        clientAddress: session.remoteAddress,
        heloName: session.hostNameAppearsAs,
        receivedAt: receivedAt.toISOString(),
      };
      d.spool.accept(envelope, stream, d.maxMessageBytes).then(
        (id) => {
          if (id === 'too-big') return cb(refuse('size', 552, `5.3.4 message exceeds the maximum size of ${d.maxMessageBytes} bytes`));
          d.metrics.received.inc();
          d.log.info({ queueId: id, from: envelope.mailFrom, rcpts: envelope.rcptTo.length, client: envelope.clientAddress }, 'received');
          cb(null, `2.0.0 Ok: queued as ${id}`);
          d.accepted(id, receivedAt);
        },
        (err: unknown) => {
          d.log.error({ err: err instanceof Error ? err.message : String(err) }, 'spool write failed: answered 451');
          stream.resume();
          cb(refuse('spool', 451, '4.3.0 temporary local problem: the message could not be stored; try again later'));
        },
      );
    },
  });
  return server;
}

const SWEEP_MS = 100;

/**
 * Stops taking mail. No new connections; every command from now on is answered
 * 421 (smtp-server); a session that is not in the middle of a message is told
 * 421 and closed at once, one that is gets to finish it (its reply is sent)
 * and is closed then. Resolves when every session is gone (smtp-server's
 * closeTimeout cuts off the slowest).
 *
 * server.close() alone would leave idle sessions (pooled client connections,
 * or a client that just got its 250) open until the 30 s closeTimeout: SIGTERM
 * would take 30 s whenever any client is connected.
 */
export function closeInbound(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => {
    const sweep = (): void => {
      for (const c of server.connections) if (!c._dataStream) c.send(421, '4.3.2 Service shutting down, try again later');
    };
    const timer = setInterval(sweep, SWEEP_MS);
    server.close(() => {
      clearInterval(timer);
      resolve();
    });
    sweep();
  });
}
