// The carriers the configuration names: the LGWAN-side next hop (or the
// gateway's Maildir when there is none), and the Internet-side relay for
// bounces (or the Maildir's .bounces folder). The gateway and
// `mugaika quarantine release` build them the same way.
import path from 'node:path';
import { parseHostPort, type Config } from '../config/schema.js';
import { createMaildirCarrier } from './maildir-carrier.js';
import { createSmtpCarrier } from './smtp-carrier.js';
import type { Carrier } from './types.js';

/** At shutdown, how long a delivery under way may wait for the next hop's reply before it is cut off (and retried after the restart). */
export const SHUTDOWN_DELIVERY_GRACE_MS = 5000;

function carrierFor(hostPort: string | undefined, maildir: string, config: Config, maxConnections: number): Carrier {
  if (!hostPort) return createMaildirCarrier(maildir);
  const { host, port } = parseHostPort(hostPort);
  return createSmtpCarrier({
    host,
    port,
    name: config.smtp.hostname,
    maxConnections,
    connectionTimeoutMs: config.delivery.connectionTimeoutMs,
    closeGraceMs: SHUTDOWN_DELIVERY_GRACE_MS,
  });
}

const maildirOf = (dataDir: string): string => path.join(dataDir, 'maildir');

export const nextHopCarrier = (config: Config, dataDir: string, maxConnections = config.delivery.maxConnections): Carrier =>
  carrierFor(config.delivery.nextHop, maildirOf(dataDir), config, maxConnections);

export const bounceCarrier = (config: Config, dataDir: string): Carrier => carrierFor(config.delivery.bounceRelay, path.join(maildirOf(dataDir), '.bounces'), config, config.delivery.maxConnections);
