// The operations endpoints: /healthz for load balancers and monitors,
// /metrics for Prometheus. The console (console/routes.ts) mounts beside them.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OpsDeps {
  registry: Registry;
  /** Throws or returns problems when the gateway cannot do its job. */
  health(): Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}

export function createOpsServer(d: OpsDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async (_req, res) => {
    const h = await d.health().catch((err: unknown) => ({ ok: false, detail: { error: err instanceof Error ? err.message : String(err) } }));
    return res.code(h.ok ? 200 : 503).send({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail });
  });
  app.get('/metrics', async (_req, res) => res.type(d.registry.contentType).send(await d.registry.metrics()));
  return app;
}
