// The operations endpoints: /healthz for load balancers and monitors,
// /metrics for Prometheus. On the console's listener, or on one of their own
// (web.opsListen) so that the console's can be closed to all but staff networks.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createWebServer, type WebServerOptions } from './server.js';

export interface OpsDeps {
  registry: Registry;
  /** Throws or returns problems when the gateway cannot do its job. */
  health(): Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}

export function registerOpsRoutes(app: FastifyInstance, d: OpsDeps): void {
  // GET and HEAD: monitors that only look at the status ask with HEAD.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/healthz',
    handler: async (_req, res) => {
      const h = await d.health().catch((err: unknown) => ({ ok: false, detail: { error: err instanceof Error ? err.message : String(err) } }));
      return res.code(h.ok ? 200 : 503).send({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail });
    },
  });
  app.get('/metrics', async (_req, res) => res.type(d.registry.contentType).send(await d.registry.metrics()));
}

/** A server with the ops endpoints (the console may be registered beside them). */
export function createOpsServer(d: OpsDeps, o: WebServerOptions = {}): FastifyInstance {
  const app = createWebServer(o);
  registerOpsRoutes(app, d);
  return app;
}
