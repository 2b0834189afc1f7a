// Malware scanning against a real clamd (test/helpers/clamd.ts): the adapter's
// INSTREAM conversation, and the core with the scanner as a second opinion on
// every file, a zip's members included, and the policy's choice when the
// daemon is gone (scan.unavailable: tempfail | block).
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/core/policy.js';
import type { MalwareScanner } from '../../src/core/ports.js';
import { ScannerUnavailableError, sanitize } from '../../src/core/sanitize.js';
import { createClamdScanner } from '../../src/scan/clamd.js';
import { createScannerHealth, pingClamd } from '../../src/scan/clamd-health.js';
import { zip } from '../helpers/bytes.js';
import { EICAR, EICAR_SIGNATURE, startClamd, type Clamd } from '../helpers/clamd.js';
import { harness, policyWith, run, withAttachments, type Harness } from '../helpers/run.js';

const FAR = (): number => Date.now() + 120_000;
const noticeOf = (text: string | false | undefined): string => (text || '').split('─'.repeat(30))[0]!;
const block = policyWith({ scan: { unavailable: 'block' } });

let clamd: Clamd;
let scanner: MalwareScanner;
let h: Harness;

beforeAll(async () => {
  clamd = await startClamd();
  scanner = createClamdScanner({ socketPath: clamd.socket, timeoutMs: 60_000 });
  h = await harness({ scanner });
}, 180_000);
afterAll(async () => {
  await clamd?.stop();
});

const withEicar = (): Buffer =>
  withAttachments('見積書を送ります。', [
    { type: 'text/plain; charset=utf-8', filename: 'メモ.txt', body: 'お世話になっております。' },
    { type: 'application/octet-stream', filename: 'invoice.txt', body: EICAR },
  ]);

describe('the clamd adapter (INSTREAM over its Unix socket)', () => {
  it('says clean, or names the signature it found', async () => {
    expect(await scanner.scan(Buffer.from('こんにちは'), FAR())).toEqual({ verdict: 'clean' });
    expect(await scanner.scan(EICAR, FAR())).toEqual({ verdict: 'found', signature: EICAR_SIGNATURE });
    // Many chunks: the stream is framed chunk by chunk and ends with a zero length.
    expect(await scanner.scan(Buffer.concat([Buffer.alloc(300_000, 0x41), EICAR]), FAR())).toEqual({ verdict: 'clean' });
  });

  it("answers the SMTP door's question (PING), and keeps the answer for a moment", async () => {
    expect(await pingClamd(clamd.socket, 10_000)).toBe(true);
    expect(await pingClamd(`${clamd.socket}.absent`, 10_000)).toBe(false);
    let t = 0;
    const health = createScannerHealth(`${clamd.socket}.absent`, 10_000, () => t);
    expect(await health.available()).toBe(false);
    const up = createScannerHealth(clamd.socket, 10_000, () => t);
    expect(await up.available()).toBe(true);
    t += 60_000;
    expect(await up.available()).toBe(true);
  });

  it('a file over StreamMaxLength is "limit", told apart from a daemon that is gone', async () => {
    const small = await startClamd({ streamMaxLength: '1M' });
    try {
      const s = createClamdScanner({ socketPath: small.socket, timeoutMs: 60_000 });
      expect(await s.scan(Buffer.alloc(3 * 1024 * 1024, 0x41), FAR())).toMatchObject({ verdict: 'unavailable', reason: 'limit' });
      expect(await s.scan(EICAR, FAR())).toEqual({ verdict: 'found', signature: EICAR_SIGNATURE });
    } finally {
      await small.stop();
    }
  });

  it('a stream closed without an answer (the answer lost to a failed write) is "limit" while the daemon still answers PING, "failed" when not', async () => {
    // What the race looks like from here: clamd wrote its size-limit line and
    // closed, but a write failed (EPIPE) before the line was read. A peer on a
    // Unix socket that closes the stream after 256 KB without a word plays it
    // deterministically; whether it answers PING decides.
    const peer = async (answersPing: boolean): Promise<{ socket: string; close: () => Promise<void> }> => {
      const dir = await mkdtemp(join(tmpdir(), 'mugaika-clamd-peer-'));
      const socket = join(dir, 'peer.sock');
      const server = net.createServer((c) => {
        let got = 0;
        c.on('data', (b: Buffer) => {
          if (got === 0 && b.subarray(0, 5).toString('latin1') === 'zPING') return answersPing ? c.end('PONG\0') : c.destroy();
          got += b.length;
          if (got > 256 * 1024) c.destroy();
        });
        c.on('error', () => undefined);
      });
      await new Promise<void>((r) => server.listen(socket, r));
      return { socket, close: async () => (await new Promise<void>((r) => server.close(() => r())), await rm(dir, { recursive: true, force: true })) };
    };
    const alive = await peer(true);
    const gone = await peer(false);
    try {
      const big = Buffer.alloc(4 * 1024 * 1024, 0x41);
      expect(await createClamdScanner({ socketPath: alive.socket, timeoutMs: 60_000 }).scan(big, FAR())).toMatchObject({
        verdict: 'unavailable',
        reason: 'limit',
        detail: expect.stringContaining('StreamMaxLength'),
      });
      expect(await createClamdScanner({ socketPath: gone.socket, timeoutMs: 60_000 }).scan(big, FAR())).toMatchObject({ verdict: 'unavailable', reason: 'failed' });
    } finally {
      await alive.close();
      await gone.close();
    }
  });

  it('a daemon that hangs is a timeout; one killed mid-stream, unavailable; a socket nobody serves, unreachable', async () => {
    const doomed = await startClamd();
    try {
      doomed.pause();
      const s = createClamdScanner({ socketPath: doomed.socket, timeoutMs: 500 });
      expect(await s.scan(EICAR, FAR())).toMatchObject({ verdict: 'unavailable', reason: 'timeout' });
      // Writes fill the socket's buffer and wait: the daemon dies in the middle of the stream.
      const patient = createClamdScanner({ socketPath: doomed.socket, timeoutMs: 60_000 });
      const pending = patient.scan(Buffer.alloc(8 * 1024 * 1024, 0x41), FAR());
      await new Promise((r) => setTimeout(r, 200));
      await doomed.kill();
      expect(await pending).toMatchObject({ verdict: 'unavailable', reason: expect.stringMatching(/^(failed|unreachable)$/) });
      // Its socket file is still there; nobody listens on it.
      expect(await patient.scan(EICAR, FAR())).toMatchObject({ verdict: 'unavailable', reason: 'unreachable' });
    } finally {
      await doomed.stop();
    }
    const absent = createClamdScanner({ socketPath: `${clamd.dir}/no-such.sock`, timeoutMs: 5000 });
    expect(await absent.scan(EICAR, FAR())).toMatchObject({ verdict: 'unavailable', reason: 'unreachable', detail: expect.stringContaining('no-such.sock') });
  });
});

describe('the core with clamd as a second opinion', () => {
  it('a clean mail comes out as it does without a scanner', async () => {
    const mail = withAttachments('会議資料です。', [
      { type: 'text/plain; charset=utf-8', filename: '議事録.txt', body: '第1回 会議の記録' },
      {
        type: 'application/zip',
        filename: '資料.zip',
        body: await zip([
          ['a.txt', 'あ'],
          ['b.csv', 'x,y\r\n1,2\r\n'],
        ]),
      },
    ]);
    const scanned = await run(mail, defaultPolicy, h);
    const plain = await run(mail, defaultPolicy, await harness());
    expect(scanned.result.verdict).toBe(plain.result.verdict);
    expect(scanned.result.findings).toEqual(plain.result.findings);
    expect(scanned.codes).not.toContain('malware-found');
    expect(scanned.mail!.attachments.map((a) => [a.filename, a.content.toString('base64')])).toEqual(plain.mail!.attachments.map((a) => [a.filename, a.content.toString('base64')]));
    expect(noticeOf(scanned.mail!.text)).toBe(noticeOf(plain.mail!.text).replace(/Q-\d{8}-[A-Z2-7]{10}/g, (id) => (id === plain.result.quarantineId ? scanned.result.quarantineId! : id)));
  });

  it('an attachment clamd recognises is removed, named in the notice, and its original kept with the finding', async () => {
    const o = await run(withEicar(), defaultPolicy, h);
    expect(o.result.verdict).toBe('sanitized');
    expect(o.result.findings).toContainEqual({ code: 'malware-found', attachment: 2, detail: EICAR_SIGNATURE });
    // The clean attachment still crosses; nothing of the other does.
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['メモ.txt']);
    expect(o.raw!.includes(EICAR)).toBe(false);
    const notice = noticeOf(o.mail!.text);
    expect(notice.split('\n')[0]).toBe(`【注意】ウイルス（検出名: ${EICAR_SIGNATURE}）が見つかったファイル（invoice.txt）を削除しました。本文の指示に従わず、情報政策担当へご相談ください。`);
    expect(notice).toContain('ウイルス検査でウイルスが見つかったため、削除しました。');
    // The original is quarantined, and its item says what was found in which file.
    const item = await o.h.store.get(o.result.quarantineId!);
    expect(item.raw.equals(withEicar())).toBe(true);
    expect(item.meta.findings).toContainEqual({ code: 'malware-found', attachment: 2, detail: EICAR_SIGNATURE });
    expect(item.meta.attachments?.find((a) => a.index === 2)).toMatchObject({ name: 'invoice.txt', outcome: 'removed' });
  });

  it('in English too', async () => {
    const o = await run(withEicar(), policyWith({ language: 'en' }), h);
    expect(noticeOf(o.mail!.text).split('\n')[0]).toContain(`Malware (${EICAR_SIGNATURE}) was found in a file (invoice.txt); it was removed.`);
  });

  it('a zip member clamd recognises is removed; the zip is opened and its other files cross', async () => {
    const archive = await zip([
      ['報告書.txt', '報告します。'],
      ['フォルダ/readme.txt', EICAR],
    ]);
    const o = await run(withAttachments('添付します。', [{ type: 'application/zip', filename: '報告.zip', body: archive }]), defaultPolicy, h);
    expect(o.result.findings).toContainEqual({ code: 'malware-found', attachment: 3, detail: EICAR_SIGNATURE });
    expect(o.codes).toContain('archive-opened');
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['報告書.txt']);
    expect(noticeOf(o.mail!.text)).toContain(`ウイルス（検出名: ${EICAR_SIGNATURE}）が見つかったファイル（フォルダ/readme.txt）を削除しました。`);
    const item = await o.h.store.get(o.result.quarantineId!);
    expect(item.meta.findings).toContainEqual({ code: 'malware-found', attachment: 3, detail: EICAR_SIGNATURE });
  });

  it('a file over what clamd accepts is removed (never converted unscanned)', async () => {
    const small = await startClamd({ streamMaxLength: '1M' });
    try {
      const hh = await harness({ scanner: createClamdScanner({ socketPath: small.socket, timeoutMs: 60_000 }) });
      const big = `${'大きな記録\n'.repeat(120_000)}`;
      const o = await run(withAttachments('x', [{ type: 'text/plain; charset=utf-8', filename: 'log.txt', body: big }]), defaultPolicy, hh);
      expect(o.result.findings).toContainEqual(expect.objectContaining({ code: 'malware-scan-limit', attachment: 1 }));
      expect(o.mail!.attachments).toEqual([]);
      expect(o.result.quarantineId).not.toBeNull();
    } finally {
      await small.stop();
    }
  });
});

describe('when clamd is configured but cannot answer (policy scan.unavailable)', () => {
  /** The real daemon, killed after it has answered for the first file of the message. */
  async function dyingAfterFirstScan(): Promise<{ clamd: Clamd; scanner: MalwareScanner }> {
    const d = await startClamd();
    const real = createClamdScanner({ socketPath: d.socket, timeoutMs: 60_000 });
    let scans = 0;
    return {
      clamd: d,
      scanner: {
        async scan(bytes, deadline) {
          const r = await real.scan(bytes, deadline);
          if (++scans === 1) await d.kill();
          return r;
        },
      },
    };
  }

  it('tempfail: the daemon dies mid-message; nothing is decided, kept or delivered', async () => {
    const { clamd: d, scanner: s } = await dyingAfterFirstScan();
    try {
      const hh = await harness({ scanner: s });
      const err = await sanitize({ raw: withEicar() }, defaultPolicy, hh.deps).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ScannerUnavailableError);
      expect((err as ScannerUnavailableError).exitCode).toBe(75);
      expect((err as Error).message).toMatch(/unreachable|clamd/);
      expect(await hh.store.list({})).toEqual([]);
    } finally {
      await d.stop();
    }
  });

  it('block: the daemon dies mid-message; the notice alone crosses and the original is quarantined', async () => {
    const { clamd: d, scanner: s } = await dyingAfterFirstScan();
    try {
      const hh = await harness({ scanner: s });
      const o = await run(withEicar(), block, hh);
      expect(o.result.verdict).toBe('blocked');
      expect(o.result.findings[0]).toMatchObject({ code: 'malware-scan-unavailable' });
      expect(o.mail!.attachments).toEqual([]);
      expect(noticeOf(o.mail!.text)).toContain('ウイルス検査ができなかったため、本文と添付ファイルをお届けできません。');
      const item = await hh.store.get(o.result.quarantineId!);
      expect(item.raw.equals(withEicar())).toBe(true);
      expect(item.meta.findings[0]).toMatchObject({ code: 'malware-scan-unavailable' });
    } finally {
      await d.stop();
    }
  });

  it('a socket that is not there: tempfail defers, block blocks', async () => {
    const hh = await harness({ scanner: createClamdScanner({ socketPath: `${clamd.dir}/absent.sock`, timeoutMs: 5000 }) });
    await expect(sanitize({ raw: withEicar() }, defaultPolicy, hh.deps)).rejects.toBeInstanceOf(ScannerUnavailableError);
    expect(await hh.store.list({})).toEqual([]);
    const o = await run(withEicar(), block, hh);
    expect(o.result.verdict).toBe('blocked');
    expect(o.result.findings[0]).toMatchObject({ code: 'malware-scan-unavailable', detail: expect.stringContaining('absent.sock') });
  });

  it('a mail without attachments needs no scanner', async () => {
    const hh = await harness({ scanner: createClamdScanner({ socketPath: `${clamd.dir}/absent.sock`, timeoutMs: 5000 }) });
    const o = await run(withAttachments('本文だけです。', []), defaultPolicy, hh);
    expect(o.result.action).toBe('deliver');
  });
});
