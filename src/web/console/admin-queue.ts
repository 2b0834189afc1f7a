// The delivery queue (what `mugaika queue list` shows) with retry and bounce,
// which do what the CLI does (a request in spool/control/ the gateway applies
// within a second), audited as `queue-controlled`. The policy page is in
// admin-policy.ts.
import type { FastifyInstance } from 'fastify';
import { bounceQueue, listQueue, retryQueue } from '../../cli/queue-command.js';
import type { AdminDeps } from './admin-deps.js';
import { adminMessages } from './admin-messages.js';
import { actorOf, adminPage, formField } from './admin-routes.js';
import { esc, Raw, table, when } from './html.js';
import type { Kit } from './kit.js';
import { messages } from './messages.js';

const QUEUE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function registerAdminQueue(c: FastifyInstance, k: Kit, a: AdminDeps, pre: Record<string, unknown>): void {
  c.get('/admin/queue', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    const w = adminMessages[lang];
    const m = messages[lang];
    const q = req.query as { done?: string; gone?: string };
    const lines = await listQueue(a.dataDir);
    const button = (action: string, id: string, label: string): string =>
      `<form class="inline" method="post" action="${action}"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}"><input type="hidden" name="id" value="${esc(id)}"><button type="submit">${esc(label)}</button></form>`;
    const rows = lines.map((l) => [
      l.id,
      w.stage[l.stage],
      l.from || '<>',
      l.pending,
      l.attempts,
      when(l.receivedAt, lang),
      l.nextAttemptAt ? when(l.nextAttemptAt, lang) : '',
      l.lastError ?? '',
      new Raw(`${l.stage === 'outgoing' ? button('/admin/queue/retry', l.id, w.retryButton) : ''}${button('/admin/queue/bounce', l.id, w.bounceButton)}`),
    ]);
    const all = lines.some((l) => l.stage === 'outgoing') ? `<p>${button('/admin/queue/retry', '', w.retryAllButton)}</p>` : '';
    const c = w.qcol;
    return adminPage(
      k,
      reply,
      me,
      lang,
      200,
      w.deliveryHeading,
      `<p>${esc(w.deliveryHint)}</p>${all}${table([c.id, c.stage, c.from, c.pending, c.attempts, c.received, c.next, c.error, c.act], rows, m.none)}`,
      q.gone ? { error: w.unknownQueueId } : q.done ? { info: w.queued } : undefined,
    );
  });

  for (const kind of ['retry', 'bounce'] as const) {
    c.post(`/admin/queue/${kind}`, pre, async (req, reply) => {
      const lang = k.langOf(req, reply);
      const me = await k.signedIn(req, reply, lang, ['admin']);
      if (!('user' in me)) return me;
      const id = (formField(req, 'id') ?? '').trim();
      // An empty id retries every outgoing entry (`mugaika queue retry`); a bounce names one.
      if ((id !== '' || kind === 'bounce') && !QUEUE_ID.test(id)) return reply.redirect('/admin/queue?gone=1', 303);
      const ids = id ? [id] : [];
      // Recorded first: a request the audit log cannot take is not made.
      await a.vault.audit.append({ actor: actorOf(me), action: 'queue-controlled', object: id || null, details: { kind, ids, client: req.ip } });
      const done = kind === 'retry' ? await retryQueue(a.dataDir, ids) : await bounceQueue(a.dataDir, ids);
      return reply.redirect(done.length > 0 || (kind === 'retry' && !id) ? '/admin/queue?done=1' : '/admin/queue?gone=1', 303);
    });
  }
}
