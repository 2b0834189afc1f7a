import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildDsn, dsnRecipient, MAX_RETURNED_HEADER_BYTES, type DsnInput } from '../../src/delivery/dsn.js';

const ORIGINAL = Buffer.concat([
  Buffer.from('From: =?UTF-8?B?5biC5rCR?= <citizen@example.jp>\r\nTo: kikaku@city.example.lg.jp\r\nSubject: '),
  Buffer.from('問い合わせ'), // raw 8-bit UTF-8 in a header, as some mailers send it
  Buffer.from('\r\nMessage-ID: <orig-1@example.jp>\r\nX-Long: short\r\n\r\nTHE BODY MUST NOT BE RETURNED\r\n'),
]);

const base = (over: Partial<DsnInput> = {}): DsnInput => ({
  reportingMta: 'mugaika.city.example.lg.jp',
  originalEnvelopeFrom: 'citizen@example.jp',
  recipients: [
    { rcpt: 'nobody@city.example.lg.jp', status: '5.1.1', diagnostic: '550 5.1.1 <nobody@city.example.lg.jp>: Recipient address rejected: User unknown in local recipient table', action: 'failed' },
    dsnRecipient({ rcpt: 'slow@city.example.lg.jp', code: null, status: null, reason: 'ESOCKET: connect ECONNREFUSED 10.0.0.1:25' }, 'expired', new Date('2026-11-28T23:00:00Z')),
  ],
  arrivalDate: new Date('2026-11-26T01:02:03Z'),
  originalHeaders: ORIGINAL,
  queueId: 'Q20261126-ABC',
  now: new Date('2026-11-29T01:00:00Z'),
  messageIdDomain: 'mugaika.city.example.lg.jp',
  ...over,
});

/** The body parts of a multipart message, split on its boundary (headers, body) each. */
function parts(dsn: string): Array<{ head: string; body: string }> {
  const boundary = /boundary="([^"]+)"/.exec(dsn)![1]!;
  const sections = dsn.split(`\r\n--${boundary}`);
  expect(sections.at(-1)).toBe('--\r\n'); // close delimiter, then nothing
  return sections.slice(1, -1).map((s) => {
    expect(s.startsWith('\r\n')).toBe(true);
    const [head, ...rest] = s.slice(2).split('\r\n\r\n');
    return { head: head!, body: rest.join('\r\n\r\n') };
  });
}

const expect7bitCrlf = (b: Buffer): void => {
  expect(b.every((x) => x < 0x80 && x !== 0)).toBe(true);
  const s = b.toString('latin1');
  expect(s.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // no bare CR or LF
  for (const line of s.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
};

describe('DSN', () => {
  it('is a multipart/report with the explanation, the delivery-status and the original headers, in that order', async () => {
    const dsn = buildDsn(base());
    expect7bitCrlf(dsn);
    const text = dsn.toString('latin1');
    const [head] = text.split('\r\n\r\n');
    expect(head).toMatch(/^From: "Mail Delivery System" <MAILER-DAEMON@mugaika\.city\.example\.lg\.jp>$/m);
    expect(head).toMatch(/^To: <citizen@example\.jp>$/m);
    expect(head).toMatch(/^Auto-Submitted: auto-replied$/m);
    expect(head).toMatch(/^MIME-Version: 1\.0$/m);
    expect(head).toMatch(/^Date: Sun, 29 Nov 2026 01:00:00 \+0000$/m);
    expect(head).toMatch(/^Message-ID: <[^<>@\s]+@mugaika\.city\.example\.lg\.jp>$/m);

    const [human, status, headers] = parts(text);
    expect(parts(text)).toHaveLength(3);
    expect(human!.head).toMatch(/^Content-Type: text\/plain; charset=UTF-8$/m);
    expect(human!.head).toMatch(/^Content-Transfer-Encoding: base64$/m);
    expect(status!.head).toMatch(/^Content-Type: message\/delivery-status$/m);
    expect(headers!.head).toMatch(/^Content-Type: text\/rfc822-headers$/m);

    // message/delivery-status: per-message block, then one block per recipient.
    const blocks = status!.body
      .replace(/\r\n[ \t]+/g, ' ')
      .trimEnd()
      .split('\r\n\r\n');
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toBe(['Reporting-MTA: dns; mugaika.city.example.lg.jp', 'X-Mugaika-Queue-ID: Q20261126-ABC', 'Arrival-Date: Thu, 26 Nov 2026 01:02:03 +0000'].join('\r\n'));
    expect(blocks[1]).toBe(
      [
        'Final-Recipient: rfc822; nobody@city.example.lg.jp',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 <nobody@city.example.lg.jp>: Recipient address rejected: User unknown in local recipient table',
        'Last-Attempt-Date: Sun, 29 Nov 2026 01:00:00 +0000',
      ].join('\r\n'),
    );
    expect(blocks[2]).toBe(
      [
        'Final-Recipient: rfc822; slow@city.example.lg.jp',
        'Action: failed',
        'Status: 4.4.7',
        'Diagnostic-Code: X-Mugaika; ESOCKET: connect ECONNREFUSED 10.0.0.1:25',
        'Last-Attempt-Date: Sat, 28 Nov 2026 23:00:00 +0000',
      ].join('\r\n'),
    );

    // 8-bit original headers travel base64-encoded, the body is not returned.
    expect(headers!.head).toMatch(/^Content-Transfer-Encoding: base64$/m);
    const returned = Buffer.from(headers!.body.replace(/\r\n/g, ''), 'base64');
    const headerBlock = ORIGINAL.subarray(0, ORIGINAL.indexOf('\r\n\r\n') + 2);
    expect(returned.equals(headerBlock)).toBe(true);
  });

  it('parses back with mailparser: subject, Japanese and English text, report parts', async () => {
    const parsed = await simpleParser(buildDsn(base()), { keepDeliveryStatus: true });
    expect(parsed.subject).toBe('配信不能のお知らせ / Undelivered Mail Returned to Sender');
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]?.address : null).toBe('citizen@example.jp');
    expect(parsed.text).toContain('次の宛先に配信できませんでした');
    expect(parsed.text).toContain('このメッセージは配信されていません');
    expect(parsed.text).toContain('The message was not delivered.');
    expect(parsed.text).toContain('nobody@city.example.lg.jp');
    expect(parsed.text).toContain('User unknown');
    expect(parsed.text).toContain('Q20261126-ABC');
    const types = parsed.attachments.map((a) => a.contentType);
    expect(types).toEqual(['message/delivery-status', 'text/rfc822-headers']);
    const report = parsed.attachments[0]!.content.toString('latin1');
    expect(report).toContain('Status: 5.1.1');
    const original = parsed.attachments[1]!.content.toString('utf8');
    expect(original).toContain('Message-ID: <orig-1@example.jp>');
    expect(original).toContain('Subject: 問い合わせ');
    expect(original).not.toContain('THE BODY');
  });

  it('7-bit original headers are returned as they are; a long header block is capped at 64 KiB on a line boundary', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `Received: from relay${i}.example.jp by mx.example.jp; Thu, 26 Nov 2026 01:00:00 +0000`).join('\n');
    const dsn = buildDsn(base({ originalHeaders: Buffer.from(`Subject: plain\n${many}\n\nbody\n`) })).toString('latin1');
    expect7bitCrlf(Buffer.from(dsn, 'latin1'));
    const headers = parts(dsn)[2]!;
    expect(headers.head).toMatch(/^Content-Transfer-Encoding: 7bit$/m);
    expect(headers.body.length).toBeLessThanOrEqual(MAX_RETURNED_HEADER_BYTES);
    expect(headers.body.length).toBeGreaterThan(MAX_RETURNED_HEADER_BYTES - 200);
    expect(headers.body.startsWith('Subject: plain\r\nReceived: from relay0.')).toBe(true);
    expect(headers.body.endsWith(' +0000\r\n')).toBe(true); // whole lines only
  });

  it('hostile inputs cannot inject headers or break the 7-bit, 998-octet rules', async () => {
    const long = `550 5.7.1 ${'x'.repeat(3000)} ${'word '.repeat(400)}`;
    const dsn = buildDsn(
      base({
        reportingMta: 'evil\r\nBcc: victim@example.jp',
        queueId: 'Q\r\nX-Injected: 1',
        recipients: [
          { rcpt: 'a\r\nX-Injected: 1@city.example.lg.jp', status: 'garbage', diagnostic: `${long}\r\nX-Injected: 1`, action: 'failed' },
          { rcpt: '住民@例え.jp', status: '4.4.7', diagnostic: '451 4.3.0 一時エラー', action: 'delayed' },
        ],
        originalHeaders: Buffer.from(`Subject: ${'y'.repeat(5000)}\r\n\r\n`),
      }),
    );
    expect7bitCrlf(dsn);
    const text = dsn.toString('latin1');
    expect(text).not.toMatch(/^(Bcc|X-Injected):/m);
    const report = parts(text)[1]!.body;
    expect(report).toMatch(/^Status: 5\.0\.0$/m); // invalid status replaced
    expect(report).toMatch(/^Final-Recipient: utf-8; \\x\{4F4F\}\\x\{6C11\}@\\x\{4F8B\}\\x\{3048\}\.jp$/m);
    expect(report).toMatch(/^Action: delayed$/m);
    expect(parts(text)[2]!.head).toMatch(/^Content-Transfer-Encoding: base64$/m); // a 5000-octet line
    const parsed = await simpleParser(dsn);
    expect(parsed.text).toContain('一時エラー');
    expect(parsed.text).toContain('配信が遅れています');
  });

  it('an IDN sender gets a punycoded To:, a sender that cannot be ASCII gets none; the null sender gets no DSN', () => {
    expect(buildDsn(base({ originalEnvelopeFrom: 'user@例え.jp' })).toString('latin1')).toMatch(/^To: <user@xn--r8jz45g\.jp>$/m);
    expect(buildDsn(base({ originalEnvelopeFrom: '住民@例え.jp' })).toString('latin1')).not.toMatch(/^To:/m);
    expect(() => buildDsn(base({ originalEnvelopeFrom: '' }))).toThrow(/null sender/);
    expect(() => buildDsn(base({ recipients: [] }))).toThrow(/recipient/);
  });

  it('only delayed recipients: a delay notice, not a failure notice', async () => {
    const parsed = await simpleParser(buildDsn(base({ recipients: [{ rcpt: 'x@city.example.lg.jp', status: '4.4.1', diagnostic: null, action: 'delayed' }] })), { keepDeliveryStatus: true });
    expect(parsed.subject).toBe('配信遅延のお知らせ / Delayed Mail (still being retried)');
    expect(parsed.text).not.toContain('配信されていません');
    expect(parsed.attachments[0]!.content.toString()).not.toContain('Diagnostic-Code');
  });

  it('dsnRecipient: the peer status wins, else 5.0.0 for a permanent failure and 4.4.7 for an expired one', () => {
    const f = { rcpt: 'x@y.jp', code: 550, status: '5.2.2', reason: '550 5.2.2 mailbox full' };
    expect(dsnRecipient(f, 'permanent')).toEqual({ rcpt: 'x@y.jp', status: '5.2.2', diagnostic: '550 5.2.2 mailbox full', action: 'failed' });
    expect(dsnRecipient({ ...f, status: null }, 'permanent').status).toBe('5.0.0');
    expect(dsnRecipient({ ...f, code: null, status: null }, 'expired').status).toBe('4.4.7');
  });

  it('a message that starts with an empty line returns an empty header part', () => {
    const dsn = buildDsn(base({ originalHeaders: Buffer.from('\r\nbody only\r\n') })).toString('latin1');
    expect(parts(dsn)[2]!.body).toBe('');
  });
});
