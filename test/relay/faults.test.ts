// The real gateway under faults: a kill -9 during a first delivery attempt,
// and PostgreSQL stopped while deliveries are in flight. Whatever happens, a
// message is sanitized once (one verdict, one quarantine item), every
// recipient gets it once, and every delivery is in the audit log once.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import Database from 'better-sqlite3';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { cleanup, cli, client, freePort, http, onCleanup, sleep, spoolEmpty, startGateway, startSink, token, transfers, waitFor, writeConfig } from './harness.js';
import { tempDir } from '../helpers/run.js';

afterEach(cleanup);

/** A message with a link in it: it has a finding, so its original is quarantined. */
const withLink = (tok: string, to: readonly string[]): Buffer =>
  Buffer.from(
    [
      'From: Sender <sender@example.com>',
      `To: ${to.join(', ')}`,
      `Subject: fault test ${tok}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      `Message-ID: <${tok}@example.com>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `詳細は https://example.com/${tok} をご覧ください。`,
      '',
    ].join('\r\n'),
    'utf8',
  );

/** A next hop that takes connections and never says a word. */
async function silentNextHop(): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => undefined);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port, connections: () => n };
}

describe('mugaika serve: faults', () => {
  it('kill -9 during a first delivery attempt: after the restart, one verdict, one quarantine item, delivered once', async () => {
    const hop = await silentNextHop();
    const gw = await startGateway({ nextHop: `127.0.0.1:${hop.port}` });
    const tok = token();
    const sent = await client(gw.smtpPort).send({ from: 'sender@example.com', to: ['u@city.example.lg.jp'] }, withLink(tok, ['u@city.example.lg.jp']));
    expect(sent.ok).toBe(true);
    // Sanitized, recorded, and now waiting for the next hop's greeting.
    await waitFor('the first attempt', () => hop.connections() > 0, 15_000, 10);
    gw.kill('SIGKILL');
    await gw.exited;
    const verdictsBefore = transfers(gw.dataDir).filter((t) => t.queueId === sent.queueId && t.event === 'verdict');
    expect(verdictsBefore).toHaveLength(1);

    const sink = await startSink();
    const again = await startGateway({ dataDir: gw.dataDir, nextHop: `127.0.0.1:${sink.port}` });
    await waitFor('the delivery after the restart', () => sink.withToken(tok).length > 0 && spoolEmpty(again.dataDir), 30_000);
    await sleep(500);
    expect(sink.withToken(tok)).toHaveLength(1);
    const events = transfers(again.dataDir)
      .filter((t) => t.queueId === sent.queueId)
      .map((t) => t.event);
    expect(events).toEqual(['received', 'verdict', 'delivered']);
    const db = new Database(path.join(again.dataDir, 'mugaika.db'), { readonly: true });
    const items = db.prepare('SELECT id FROM quarantine_items').all();
    db.close();
    expect(items).toHaveLength(1);
    expect(sink.withToken(tok)[0]!.raw.toString('latin1')).toMatch(new RegExp(`^X-Mugaika-Quarantine-Id: ${(items[0] as { id: string }).id}\\r?$`, 'im'));
  }, 90_000);

  it('PostgreSQL stopped with deliveries in flight: no duplicates, every delivery audited exactly once, the chain verifies', async () => {
    const cluster: PostgresCluster = await startPostgres();
    onCleanup(() => cluster.stop());
    const url = await createDatabase(cluster.url, 'faults');
    // The next hop holds each 250 for 4 s: deliveries are in flight when the database goes.
    const sink = await startSink({ dataDelayMs: 4000 });
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, env: { MUGAIKA_DATABASE_URL: url }, config: { delivery: { maxConnections: 4 } } });
    const rcpts = ['a@city.example.lg.jp', 'b@city.example.lg.jp'];
    const toks = Array.from({ length: 16 }, () => token());
    const c = client(gw.smtpPort, 4);
    const sent = await Promise.all(toks.map((tok) => c.send({ from: 'sender@example.com', to: rcpts }, withLink(tok, rcpts))));
    expect(sent.every((s) => s.ok)).toBe(true);
    await waitFor('deliveries in flight', () => sink.pendingData() >= 2, 30_000, 20);
    await cluster.pause();
    // /healthz says so, with the messages waiting counted.
    const down = await waitFor(
      'an unhealthy /healthz',
      async () => {
        const h = await http(gw.webPort, '/healthz');
        return h.status === 503 ? h : null;
      },
      10_000,
      200,
    );
    const health = JSON.parse(down.body) as { status: string; reason: string; queue: { incoming: number; outgoing: number } };
    expect(health.status).toBe('unhealthy');
    expect(health.reason).toMatch(/^database unavailable: /);
    expect(health.queue.incoming + health.queue.outgoing).toBeGreaterThan(0);
    await sleep(4000);
    await cluster.resume();
    await waitFor('a healthy /healthz again', async () => (await http(gw.webPort, '/healthz')).status === 200, 30_000, 200);
    await waitFor('every message at the sink', () => toks.every((tok) => sink.withToken(tok).length > 0), 120_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(gw.logs.filter((l) => l.level >= 40).slice(-15), null, 1)}\nstderr: ${gw.stderr().slice(-2000)}`);
    });
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir), 120_000, 200);
    await sleep(1000);

    // Once each, to each recipient.
    for (const tok of toks) {
      const copies = sink.withToken(tok);
      expect(copies.flatMap((m) => m.to).sort(), tok).toEqual(rcpts);
    }
    // Every delivery in the audit log once.
    const client2 = new pg.Client({ connectionString: url });
    await client2.connect();
    const rows = (await client2.query<{ object: string; details: string }>("SELECT object, details FROM audit_records WHERE action = 'delivered'")).rows;
    const verdicts = (await client2.query<{ object: string }>("SELECT object FROM audit_records WHERE action = 'verdict'")).rows;
    const items = (await client2.query('SELECT id FROM quarantine_items')).rows;
    await client2.end();
    const deliveries = rows.flatMap((r) => (JSON.parse(r.details) as { to: string[] }).to.map((to) => `${r.object} ${to}`));
    const expected = sent.flatMap((s) => rcpts.map((r) => `${s.queueId} ${r}`));
    expect(deliveries.sort()).toEqual(expected.sort());
    expect(verdicts.map((v) => v.object).sort()).toEqual(sent.map((s) => s.queueId).sort());
    expect(items).toHaveLength(toks.length);
    const verify = await cli(['audit', 'verify', '--data-dir', gw.dataDir], { MUGAIKA_DATABASE_URL: url });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 240_000);

  it('a port already taken: the gateway says so in both languages and exits non-zero at once, leaving no pid file', async () => {
    const taken = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    onCleanup(async () => void (await new Promise((r) => taken.close(r))));
    const dir = tempDir('mugaika-port-');
    const dataDir = path.join(dir, 'data');
    const config = writeConfig(dir, { config: { smtp: { listen: `127.0.0.1:${port}` } } }, dataDir);
    const started = Date.now();
    const child = spawn(process.execPath, [path.resolve('bin/mugaika.js'), 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    clearTimeout(killer);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(stderr).toContain(`SMTPの待ち受けアドレス 127.0.0.1:${port} は、ほかのプログラムが使用中です`);
    expect(stderr).toContain(`The SMTP address 127.0.0.1:${port} is already in use`);
    expect(existsSync(path.join(dataDir, 'gateway.pid'))).toBe(false);
    // What it had started is on record as stopped again.
    const actions = transfers(dataDir);
    expect(actions).toEqual([]);
    const db = new Database(path.join(dataDir, 'mugaika.db'), { readonly: true });
    const life = db.prepare("SELECT action, details FROM audit_records WHERE action IN ('gateway-started', 'gateway-stopped') ORDER BY seq").all() as Array<{ action: string; details: string }>;
    db.close();
    expect(life.map((r) => r.action)).toEqual(['gateway-started', 'gateway-stopped']);
  }, 60_000);
});
