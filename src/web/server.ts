// The HTTP servers: the console's listener (web.listen) and, when
// web.opsListen is set, a second one for /metrics and /healthz alone. Every
// answer of either, a 404 or an error included, carries the console's
// security headers; over HTTPS (or behind an HTTPS proxy: web.secureCookies)
// also Strict-Transport-Security. Behind a reverse proxy listed in
// web.trustProxy, X-Forwarded-For names the client: it is what the audit log
// and the throttles see. Nobody else's X-Forwarded-For is believed.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';

export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export const HSTS = 'max-age=31536000';

export interface WebServerOptions {
  /** PEM files: HTTPS when both are given. */
  tlsKeyFile?: string;
  tlsCertFile?: string;
  /** Addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed. */
  trustProxy?: readonly string[];
  /** Send Strict-Transport-Security (HTTPS here, or at the proxy in front). */
  hsts?: boolean;
}

export function createWebServer(o: WebServerOptions = {}): FastifyInstance {
  const https = o.tlsKeyFile && o.tlsCertFile ? { key: readFileSync(o.tlsKeyFile), cert: readFileSync(o.tlsCertFile), minVersion: 'TLSv1.2' as const } : null;
  const trustProxy = o.trustProxy && o.trustProxy.length > 0 ? [...o.trustProxy] : false;
  // No HEAD twin of every GET route: fastify runs the GET handler for it, and a HEAD on a
  // download or an export wrote its audit record for bytes never sent. /healthz has its own.
  const app = (https ? Fastify({ logger: false, https, trustProxy, exposeHeadRoutes: false }) : Fastify({ logger: false, trustProxy, exposeHeadRoutes: false })) as unknown as FastifyInstance;
  const headers = o.hsts || https ? { ...SECURITY_HEADERS, 'strict-transport-security': HSTS } : SECURITY_HEADERS;
  app.addHook('onSend', async (_req, reply) => {
    reply.headers(headers);
  });
  app.setNotFoundHandler(async (_req, reply) =>
    reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send('<!doctype html>\n<html lang="ja"><head><meta charset="utf-8"><title>404</title></head><body><p>ページが見つかりません。 / Page not found.</p></body></html>\n'),
  );
  return app;
}
