// Prometheus metrics for the relay, on their own registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface QueueSnapshot {
  /** Waiting to be sanitized, being sanitized, or waiting to try the quarantine again. */
  incoming: number;
  /** Of those, waiting to try the quarantine again (it was unavailable). */
  waiting: number;
  outgoing: number;
  oldestAgeSeconds: number;
}

export function createMetrics(queue: () => QueueSnapshot) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mugaika_' });
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [registry] });
  const m = {
    registry,
    received: counter('mugaika_messages_received_total', 'Messages accepted with 250'),
    refused: counter('mugaika_smtp_refused_total', 'SMTP commands refused, by reason', ['reason']),
    sanitized: counter('mugaika_messages_sanitized_total', 'Messages sanitized, by verdict', ['verdict']),
    quarantined: counter('mugaika_messages_quarantined_total', 'Originals kept in quarantine'),
    delivered: counter('mugaika_recipients_delivered_total', 'Recipients delivered to the next hop'),
    deferred: counter('mugaika_delivery_deferred_total', 'Delivery attempts deferred (temporary failure)'),
    bounced: counter('mugaika_recipients_bounced_total', 'Recipients bounced (permanent failure or expiry)'),
    sanitizeSeconds: new Histogram({
      name: 'mugaika_sanitize_seconds',
      help: 'Time to sanitize one message',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    endToEndSeconds: new Histogram({
      name: 'mugaika_end_to_end_seconds',
      help: 'From 250 to delivery at the next hop',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'mugaika_queue_depth',
    help: 'Spool entries, by stage',
    labelNames: ['stage'],
    registers: [registry],
    collect() {
      const q = queue();
      this.set({ stage: 'incoming' }, q.incoming);
      this.set({ stage: 'waiting' }, q.waiting);
      this.set({ stage: 'outgoing' }, q.outgoing);
    },
  });
  new Gauge({
    name: 'mugaika_queue_oldest_age_seconds',
    help: 'Age of the oldest spool entry',
    registers: [registry],
    collect() {
      this.set(queue().oldestAgeSeconds);
    },
  });
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
