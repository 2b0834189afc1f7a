// Crash safety: SIGKILL in the middle of a burst. Every message that was answered
// 250 is delivered after the restart, and what the transfer log shows delivered
// is not delivered again.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { cleanup, client, freePort, http, message, metric, sleep, spoolEmpty, spoolFiles, startGateway, startSink, token, transfers, waitFor, type SendResult } from './harness.js';

afterEach(cleanup);

const tokenOf = (s: string): string | undefined => /TOK[0-9A-F]{12}/.exec(s)?.[0];

describe('mugaika serve: crash safety', () => {
  it('SIGKILL with 200 messages in flight: every 250 is delivered after a restart', async ({ annotate }) => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}` });
    const c = client(gw.smtpPort, 8);
    // Warm up (worker thread, delivery pool) so that at the kill every stage is busy:
    // receiving, sanitizing and delivering.
    const warm = token();
    expect((await c.send({ from: 'a@example.com', to: ['w@city.example.lg.jp'] }, message(warm))).ok).toBe(true);
    await waitFor('the warm-up delivery', () => sink.withToken(warm).length === 1);

    const toks = Array.from({ length: 200 }, () => token());
    const answered = new Map<string, SendResult>();
    let oks = 0;
    await Promise.all(
      toks.map((tok, i) =>
        c.send({ from: 'a@example.com', to: [`u${i % 7}@city.example.lg.jp`] }, message(tok)).then((r) => {
          answered.set(tok, r);
          if (r.ok && ++oks === 100) {
            gw.kill('SIGKILL');
          }
        }),
      ),
    );
    expect((await gw.exited).signal).toBe('SIGKILL');
    c.close();
    const accepted = toks.filter((tok) => answered.get(tok)?.ok);
    expect(accepted.length).toBeGreaterThanOrEqual(100);
    expect(accepted.length).toBeLessThan(200);
    const atKill = spoolFiles(gw.dataDir);
    const loggedBeforeKill = new Set(
      transfers(gw.dataDir)
        .filter((l) => l.event === 'delivered')
        .map((l) => l.queueId),
    );
    const sinkBeforeRestart = sink.messages.length;
    const restartAt = Date.now();

    const again = await startGateway({ dataDir: gw.dataDir, nextHop: `127.0.0.1:${sink.port}` });
    await waitFor('an empty spool after the restart', () => spoolEmpty(again.dataDir), 60_000, 100);
    await waitFor('every accepted message at the sink', () => accepted.every((tok) => sink.withToken(tok).length > 0), 10_000, 100);
    expect(spoolFiles(again.dataDir).tmp).toEqual([]);

    const copies = new Map<string, number>();
    for (const m of sink.messages) {
      const tok = tokenOf(m.subject);
      expect(tok, m.subject).toBeTruthy();
      expect([warm, ...toks]).toContain(tok);
      copies.set(tok!, (copies.get(tok!) ?? 0) + 1);
    }
    const situation = `at the kill: ${atKill.incoming.length} incoming, ${atKill.outgoing.length / 2} outgoing, ${sinkBeforeRestart - 1} delivered`;
    expect(
      accepted.filter((tok) => !copies.has(tok)),
      `missing; ${situation}`,
    ).toEqual([]);

    // Duplicates. The transfer log closes the gap between the next hop's 250 and the
    // spool update: a message logged as delivered before the kill must never come again.
    const idOf = (tok: string): string | null => answered.get(tok)?.queueId ?? null;
    const duplicates = [...copies].filter(([, n]) => n > 1).map(([tok]) => tok);
    const despiteTheLog = duplicates.filter((tok) => loggedBeforeKill.has(idOf(tok) ?? ''));
    expect(despiteTheLog, situation).toEqual([]);
    // What is left is SMTP's own window (RFC 1047): the final dot was sent, the gateway
    // died before it read and logged the 250. The first copy of such a message came from
    // the killed gateway, and there are at most as many as deliveries can run at once
    // (2 × 4 connections).
    for (const tok of duplicates) {
      const first = Math.min(...sink.withToken(tok).map((m) => m.acceptedAt));
      expect(first, `${tok}: first copy after the restart`).toBeLessThan(restartAt);
    }
    expect(duplicates.length).toBeLessThanOrEqual(8);
    await annotate(`${accepted.length} answered 250; ${duplicates.length} duplicate(s) from the RFC 1047 window (final dot sent, 250 not yet logged); ${situation}`);

    // The restarted gateway recovered without errors (no entry it keeps failing on).
    expect(again.logs.filter((l) => l.level >= 50).map((l) => `${l.msg} ${String(l.err)}`)).toEqual([]);
  });

  it('recipients the audit log shows delivered are not sent again after a crash', async () => {
    const port = await freePort();
    const gw = await startGateway({ nextHop: `127.0.0.1:${port}`, config: { delivery: { retryBaseSeconds: 1 } } });
    const r = await client(gw.smtpPort).send({ from: 'a@example.com', to: ['one@city.example.lg.jp', 'two@city.example.lg.jp'] }, message(token()));
    expect(r.ok).toBe(true);
    await waitFor('the first deferral', () => transfers(gw.dataDir).some((l) => l.queueId === r.queueId && l.event === 'deferred'));
    gw.kill('SIGKILL');
    await gw.exited;
    // The crash the log exists for: the next hop took `one`, the audit log has it, the spool does not.
    const store = await openSqliteStore(gw.dataDir);
    const audit = openAuditLog(store, await loadOrCreateSigner(gw.dataDir), { dataDir: gw.dataDir });
    await audit.append({ actor: 'gateway:mugaika.localdomain', action: 'delivered', object: r.queueId!, details: { from: 'a@example.com', to: ['one@city.example.lg.jp'] } });
    await audit.close();
    await store.close();
    // And the crash between writing the outgoing entry and removing the incoming file:
    // both exist (the spool's incoming format: magic, envelope length, envelope, message).
    const envelope = Buffer.from(
      JSON.stringify({ mailFrom: 'a@example.com', rcptTo: ['one@city.example.lg.jp', 'two@city.example.lg.jp'], clientAddress: '127.0.0.1', heloName: 'x', receivedAt: new Date().toISOString() }),
    );
    writeFileSync(path.join(gw.dataDir, 'spool', 'incoming', `${r.queueId}.msg`), Buffer.concat([Buffer.from(`MGSPOOL1 ${envelope.length}\n`), envelope, Buffer.from('\n'), message(token())]));

    const sink = await startSink({ port });
    const again = await startGateway({ dataDir: gw.dataDir, nextHop: `127.0.0.1:${port}` });
    await waitFor('an empty spool', () => spoolEmpty(again.dataDir), 15_000);
    await waitFor('the delivery', () => sink.messages.length === 1);
    expect(sink.messages[0]!.to).toEqual(['two@city.example.lg.jp']);
    // Once, and without the restarted gateway tripping over the entry it finished.
    await sleep(1500);
    expect(sink.messages).toHaveLength(1);
    expect(again.logs.filter((l) => l.level >= 50).map((l) => `${l.msg} ${String(l.err)}`)).toEqual([]);
    expect(metric((await http(again.webPort, '/metrics')).body, 'mugaika_queue_depth', '{stage="outgoing"}')).toBe(0);

    const last = transfers(again.dataDir)
      .filter((l) => l.queueId === r.queueId)
      .at(-1);
    expect(last).toMatchObject({ event: 'delivered', to: ['two@city.example.lg.jp'] });
  });
});
