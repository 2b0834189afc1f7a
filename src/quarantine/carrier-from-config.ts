// The carrier a release goes through: the same next hop the gateway delivers
// to (delivery.nextHop over SMTP), or the gateway's Maildir when there is none.
import path from 'node:path';
import { parseHostPort, type Config } from '../config/schema.js';
import { createMaildirCarrier } from '../delivery/maildir-carrier.js';
import { createSmtpCarrier } from '../delivery/smtp-carrier.js';
import type { Carrier } from '../delivery/types.js';

export function releaseCarrier(config: Config, dataDir: string): Carrier {
  if (!config.delivery.nextHop) return createMaildirCarrier(path.join(dataDir, 'maildir'));
  const { host, port } = parseHostPort(config.delivery.nextHop);
  return createSmtpCarrier({
    host,
    port,
    name: config.smtp.hostname,
    maxConnections: 1,
    connectionTimeoutMs: config.delivery.connectionTimeoutMs,
    closeGraceMs: 5000,
  });
}
