// Accept and deliver: real SMTP in, sanitized SMTP out, the records in between.
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { cleanup, client, http, metric, sample, spoolEmpty, spoolFiles, startGateway, startSink, transfers, waitFor } from './harness.js';

afterEach(cleanup);

describe('mugaika serve: accept and deliver', () => {
  it('rebuilds PDF and Word attachments as image-only PDFs in the workers', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}` });
    const c = client(gw.smtpPort);
    for (const file of ['05-pdf-attachment.eml', '06-docx-attachment.eml']) {
      const r = await c.send({ from: 'keiri@example.jp', to: ['a@city.example.lg.jp'] }, sample(file));
      expect(r.ok, r.response).toBe(true);
    }
    await waitFor('both messages at the sink', () => sink.messages.length === 2, 60_000);
    const names = new Map<string, Buffer>();
    for (const m of sink.messages) {
      for (const a of (await simpleParser(m.raw)).attachments) names.set(a.filename ?? '', a.content);
      expect(await violations(m.raw)).toEqual([]);
    }
    expect([...names.keys()].sort()).toEqual(['報告書.docx.pdf', '請求書.pdf']);
    for (const pdf of names.values()) {
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      // Pixels and invisible text only: no links or scripts (test/converters/pdf-*.test.ts checks in depth).
      expect(pdf.toString('latin1')).not.toMatch(/\/JavaScript|\/URI|\/OpenAction|\/Annots/);
    }
    const verdicts = transfers(gw.dataDir).filter((l) => l.event === 'verdict');
    expect(verdicts.map((l) => (l as { findings?: string[] }).findings)).toEqual([['document-converted-searchable'], ['document-converted-searchable']]);
  });

  it('delivers samples sanitized to the next hop, logs the transfer and empties the spool', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}` });
    const c = client(gw.smtpPort);

    const news = await c.send({ from: 'news@mail.example.com', to: ['kouhou@city.example.lg.jp'] }, sample('02-html-newsletter.eml'));
    const photo = await c.send({ from: 'taro@example.jp', to: ['a@city.example.lg.jp', 'b@sub.city.example.lg.jp'] }, sample('03-photo-exif-gps.eml'));
    for (const r of [news, photo]) {
      expect(r, r.response).toMatchObject({ ok: true, code: 250 });
      // The 250 names the queue id, which is the id everything else is filed under.
      expect(r.queueId).toMatch(/^[0-9A-Z]{8,20}$/);
    }
    expect(news.queueId).not.toBe(photo.queueId);

    await waitFor('both messages at the sink', () => sink.messages.length >= 2);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
    expect(sink.messages).toHaveLength(2);
    const byFrom = new Map(sink.messages.map((m) => [m.from, m]));
    expect(byFrom.get('news@mail.example.com')?.to).toEqual(['kouhou@city.example.lg.jp']);
    expect(byFrom.get('taro@example.jp')?.to.sort()).toEqual(['a@city.example.lg.jp', 'b@sub.city.example.lg.jp']);
    for (const m of sink.messages) {
      expect(await violations(m.raw)).toEqual([]);
      expect(m.raw.toString('latin1')).toMatch(/^X-Mugaika-Verdict: sanitized\r$/m);
      expect(m.subject).toContain('[無害化]');
    }
    // The HTML and the JPEG's GPS block do not survive.
    expect(byFrom.get('news@mail.example.com')!.raw.toString('latin1')).not.toMatch(/text\/html|<script/i);

    const log = transfers(gw.dataDir);
    for (const id of [news.queueId!, photo.queueId!]) {
      const events = log.filter((l) => l.queueId === id).map((l) => l.event);
      expect(events).toEqual(['received', 'verdict', 'delivered']);
    }
    expect(log.find((l) => l.queueId === photo.queueId && l.event === 'delivered')?.to?.sort()).toEqual(['a@city.example.lg.jp', 'b@sub.city.example.lg.jp']);
    expect(spoolFiles(gw.dataDir)).toEqual({ incoming: [], outgoing: [], tmp: [] });

    const health = await http(gw.webPort, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', nextHop: `smtp:127.0.0.1:${sink.port}` });
    // The console is served beside them.
    const login = await http(gw.webPort, '/login');
    expect(login.status).toBe(200);
    expect(login.body).toContain('action="/login"');
    const metrics = (await http(gw.webPort, '/metrics')).body;
    expect(metric(metrics, 'mugaika_messages_received_total')).toBe(2);
    expect(metric(metrics, 'mugaika_recipients_delivered_total')).toBe(3);
    expect(metric(metrics, 'mugaika_messages_sanitized_total', '{verdict="sanitized"}')).toBe(2);
    expect(metric(metrics, 'mugaika_queue_depth', '{stage="outgoing"}')).toBe(0);
  });
});
