// web.publicUrl through a real gateway: SMTP in, the worker thread sanitizes,
// the sink receives a notice that ends with the page of the item the
// quarantine recorded; without the setting, no page is named.
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { NOTICE_RULE } from '../../src/core/notice.js';
import { cleanup, client, startGateway, startSink, transfers, waitFor } from './harness.js';

afterEach(cleanup);

const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x40, 0, 0, 0]), Buffer.from('PE\0\0'), Buffer.alloc(200)]);
const mail = (): Buffer =>
  Buffer.from(
    [
      'From: sender@example.jp',
      'To: a@city.example.lg.jp',
      'Subject: invoice',
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'see attached',
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename="tool.exe"',
      'Content-Transfer-Encoding: base64',
      '',
      exe.toString('base64'),
      '--b--',
      '',
    ].join('\r\n'),
  );

async function deliveredNotice(config: Record<string, unknown>): Promise<{ notice: string[]; quarantineId: string }> {
  const sink = await startSink();
  const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config });
  const r = await client(gw.smtpPort).send({ from: 'sender@example.jp', to: ['a@city.example.lg.jp'] }, mail());
  expect(r.ok, r.response).toBe(true);
  await waitFor('the message at the sink', () => sink.messages.length === 1, 60_000);
  const text = (await simpleParser(sink.messages[0]!.raw)).text!;
  const verdict = transfers(gw.dataDir).find((l) => l.event === 'verdict') as { quarantineId?: string } | undefined;
  expect(verdict?.quarantineId).toMatch(/^Q-\d{8}-[A-Z2-7]{10}$/);
  return { notice: text.slice(0, text.indexOf(NOTICE_RULE)).trimEnd().split('\n'), quarantineId: verdict!.quarantineId! };
}

describe('the console address in the notice, through the gateway', () => {
  it('ends the notice with the item page of the quarantined original', async () => {
    const { notice, quarantineId } = await deliveredNotice({ web: { publicUrl: 'https://mugaika.city.example.lg.jp/' } });
    expect(notice.at(-1)).toBe(`https://mugaika.city.example.lg.jp/items/${quarantineId}`);
    expect(notice.at(-2)).toBe('変更した内容は、次のページで確認できます。');
  }, 120_000);

  it('names no page without web.publicUrl', async () => {
    const { notice, quarantineId } = await deliveredNotice({});
    expect(notice.join('\n')).not.toContain('/items/');
    expect(notice.at(-1)).toContain(quarantineId);
  }, 120_000);
});
