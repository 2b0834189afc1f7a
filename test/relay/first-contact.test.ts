// First contact through a real gateway: SMTP in, the worker asks the audit
// log, the notice's first line says so. The first mail from a sender to a
// recipient is a first contact; once it was delivered, the second is not.
// A sender whose From looks like the municipality's domain is suspicious and
// gets the subject tag.
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, message, startGateway, startSink, token, transfers, waitFor } from './harness.js';

afterEach(cleanup);

const firstLine = async (raw: Buffer): Promise<{ line: string; subject: string }> => {
  const mail = await simpleParser(raw);
  return { line: mail.text!.split('\n')[0]!, subject: mail.subject ?? '' };
};

describe('first contact, through the gateway', () => {
  it('says first contact for the first mail from a sender to a recipient, not for the second', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, policy: 'senders:\n  firstContactDays: 30\n  own:\n    domains: [city.example.lg.jp]\n' });
    const send = async (from: string, to: string, n: number): Promise<{ line: string; subject: string }> => {
      const r = await client(gw.smtpPort).send({ from, to: [to] }, message(token(), { from, to }));
      expect(r.ok, r.response).toBe(true);
      await waitFor(`message ${n} at the sink`, () => sink.messages.length === n, 60_000);
      // Delivered and recorded before the next one is sent.
      await waitFor(`delivery ${n} recorded`, () => transfers(gw.dataDir).filter((l) => l.event === 'delivered').length === n, 30_000);
      return firstLine(sink.messages[n - 1]!.raw);
    };
    const first = await send('sender@example.com', 'staff@city.example.lg.jp', 1);
    expect(first.line).toBe('送信元を確認できません。送信元の認証（SPF・DKIM・DMARC）は行っていません。過去30日間に、この差出人からのメールはありません。');
    const second = await send('Sender@Example.com', 'staff@city.example.lg.jp', 2);
    expect(second.line).toBe('送信元を確認できません。送信元の認証（SPF・DKIM・DMARC）は行っていません。');
    // Another recipient has not heard from this sender yet.
    const other = await send('sender@example.com', 'boss@city.example.lg.jp', 3);
    expect(other.line).toContain('過去30日間に、この差出人からのメールはありません。');
    // A look-alike of our own domain: suspicious, tagged once.
    const fake = await send('soumu@city-example.lg.jp', 'staff@city.example.lg.jp', 4);
    expect(fake.line).toBe(
      '【注意】なりすましの疑いがあります。差出人のドメイン（city-example.lg.jp）は、city.example.lg.jp に似た別のドメインです。送信元の認証（SPF・DKIM・DMARC）は行っていません。過去30日間に、この差出人からのメールはありません。本文の指示に従わず、情報政策担当へご相談ください。',
    );
    expect(fake.subject).toMatch(/^\[なりすまし注意\] \[無害化\] relay test TOK/);
    expect(first.subject).toMatch(/^\[無害化\] relay test TOK/);
  }, 180_000);
});
