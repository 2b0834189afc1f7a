// smtp.maxRecipients (1000 by default): a message to 1000 recipients goes through
// whole; the 1001st RCPT of a transaction is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, message, spoolEmpty, startGateway, startSink, Talk, token, transfers, waitFor } from './harness.js';

afterEach(cleanup);

const rcpts = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `user${String(from + i).padStart(4, '0')}@city.example.lg.jp`);

describe('mugaika serve: many recipients', () => {
  it('accepts and delivers one message to 1000 recipients and refuses the 1001st RCPT', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}` });

    const tok = token();
    const all = rcpts(1000);
    const r = await client(gw.smtpPort).send({ from: 'a@example.com', to: all }, message(tok));
    expect(r, r.response).toMatchObject({ ok: true, code: 250 });
    await waitFor('the message at the sink', () => sink.withToken(tok).length > 0, 20_000);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
    const at = sink.withToken(tok);
    // Every recipient exactly once, however the carrier split the transactions.
    const got = at.flatMap((m) => m.to).sort();
    expect(got).toEqual(all);
    const delivered = transfers(gw.dataDir)
      .filter((l) => l.queueId === r.queueId && l.event === 'delivered')
      .flatMap((l) => l.to ?? []);
    expect(delivered.sort()).toEqual(all);

    // 1001 pipelined RCPTs on a raw session: 1000 × 250, then a refusal.
    const t = await Talk.open(gw.smtpPort);
    expect(await t.cmd('EHLO client.example')).toMatch(/^250/);
    expect(await t.cmd('MAIL FROM:<b@example.com>')).toMatch(/^250/);
    t.write(
      rcpts(1001, 5000)
        .map((a) => `RCPT TO:<${a}>\r\n`)
        .join(''),
    );
    const replies: string[] = [];
    for (let i = 0; i < 1001; i++) replies.push(await t.reply());
    expect(replies.slice(0, 1000).every((x) => x.startsWith('250'))).toBe(true);
    expect(replies[1000]).toMatch(/^(452|5\d\d) /);
    // A repeated recipient is not a new one.
    expect(await t.cmd('RCPT TO:<user5000@city.example.lg.jp>')).toMatch(/^250/);
    expect(await t.cmd('DATA')).toMatch(/^354/);
    const tok2 = token();
    t.write(message(tok2));
    const ok = await t.cmd('\r\n.');
    expect(ok).toMatch(/^250 /);
    await waitFor('the second message at the sink', () => sink.withToken(tok2).length > 0, 20_000);
    await waitFor('an empty spool', () => spoolEmpty(gw.dataDir));
    const got2 = sink.withToken(tok2).flatMap((m) => m.to);
    expect(got2).toHaveLength(1000);
    expect(got2).not.toContain('user6000@city.example.lg.jp');
  });
});
