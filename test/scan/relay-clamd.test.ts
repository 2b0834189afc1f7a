// clamd through the real gateway (`mugaika serve`, scan.clamdSocket) and the
// real CLI (`mugaika sanitize`, MUGAIKA_CLAMD_SOCKET): with the daemon not
// there, policy tempfail takes no message (451: the sender tries again) and
// takes and delivers it, scanned, once the daemon answers; block delivers the
// notice. (A message taken just before clamd stops waits in the spool: the
// relay's steps, test/scan/clamd.test.ts.)
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { NOTICE_RULE } from '../../src/core/notice.js';
import { EICAR, EICAR_SIGNATURE, startClamd } from '../helpers/clamd.js';
import { tempDir, withAttachments } from '../helpers/run.js';
import { cleanup, client, onCleanup, startGateway, startSink, waitFor } from '../relay/harness.js';

afterEach(cleanup);

const mail = (): Buffer =>
  withAttachments('請求書を送ります。', [
    { type: 'text/plain; charset=utf-8', filename: 'memo.txt', body: 'よろしくお願いします。' },
    { type: 'application/octet-stream', filename: 'invoice.txt', body: EICAR },
  ]);

/** A folder clamd (the clamav user) may put its socket in, and that socket's path. */
const socketPlace = (): string => {
  const dir = tempDir('mugaika-clamd-sock-');
  chmodSync(dir, 0o777);
  return path.join(dir, 'clamd.sock');
};

const noticeOf = (text: string): string => text.slice(0, text.indexOf(NOTICE_RULE));

describe('mugaika serve with scan.clamdSocket', () => {
  it('tempfail: while clamd is not there no message is taken (451 at MAIL FROM); once it answers, the message is scanned and delivered', async () => {
    const socket = socketPlace();
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config: { scan: { clamdSocket: socket } } });
    const refused = await client(gw.smtpPort).send({ from: 'sender@example.jp', to: ['staff@city.example.lg.jp'] }, mail());
    expect(refused.ok).toBe(false);
    expect(refused.code).toBe(451);
    expect(refused.response).toMatch(/malware scanner is not answering/);
    const clamd = await startClamd({ socket });
    onCleanup(() => clamd.stop());
    // The door asks clamd again once its last answer is a few seconds old: the sender's retry gets through.
    let r = refused;
    await waitFor('the message accepted', async () => (r = await client(gw.smtpPort).send({ from: 'sender@example.jp', to: ['staff@city.example.lg.jp'] }, mail())).ok, 60_000, 500);
    expect(r.code).toBe(250);
    await waitFor('the message at the sink', () => sink.messages.length === 1, 150_000, 200);
    const delivered = await simpleParser(sink.messages[0]!.raw);
    expect(noticeOf(delivered.text!)).toContain(`ウイルス（検出名: ${EICAR_SIGNATURE}）`);
    expect(delivered.attachments.map((a) => a.filename)).toEqual(['memo.txt']);
    expect(sink.messages[0]!.raw.includes(EICAR)).toBe(false);
    // Only the message that was taken is in the log: the refused ones left nothing behind.
    expect(sink.messages).toHaveLength(1);
  }, 240_000);

  it('block: clamd is not there; the notice alone is delivered', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}`, config: { scan: { clamdSocket: socketPlace() } }, policy: 'scan:\n  unavailable: block\n' });
    const r = await client(gw.smtpPort).send({ from: 'sender@example.jp', to: ['staff@city.example.lg.jp'] }, mail());
    expect(r.ok, r.response).toBe(true);
    await waitFor('the message at the sink', () => sink.messages.length === 1, 60_000);
    const delivered = await simpleParser(sink.messages[0]!.raw);
    expect(noticeOf(delivered.text!)).toContain('ウイルス検査ができなかったため、本文と添付ファイルをお届けできません。');
    expect(delivered.attachments).toEqual([]);
  }, 120_000);
});

describe('mugaika sanitize with MUGAIKA_CLAMD_SOCKET', () => {
  const sanitize = (dir: string, socket: string, policy?: string) => {
    const input = path.join(dir, 'in.eml');
    writeFileSync(input, mail());
    const args = ['bin/mugaika.js', 'sanitize', input, '-o', path.join(dir, 'out.eml'), '--data-dir', path.join(dir, 'data'), ...(policy ? ['--policy', policy] : [])];
    return spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, MUGAIKA_CLAMD_SOCKET: socket } });
  };

  it('exits 75 (try again later) and writes nothing while clamd is not there', () => {
    const dir = tempDir();
    const r = sanitize(dir, path.join(dir, 'absent.sock'));
    expect(r.status).toBe(75);
    expect(r.stderr).toMatch(/clamd/);
    expect(existsSync(path.join(dir, 'out.eml'))).toBe(false);
  });

  it('removes what clamd recognises', async () => {
    const clamd = await startClamd();
    try {
      const dir = tempDir();
      const r = sanitize(dir, clamd.socket);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { findings: Array<{ code: string; detail?: string }> };
      expect(report.findings).toContainEqual(expect.objectContaining({ code: 'malware-found', detail: EICAR_SIGNATURE }));
      expect(readFileSync(path.join(dir, 'out.eml')).includes(EICAR)).toBe(false);
    } finally {
      await clamd.stop();
    }
  }, 180_000);
});
