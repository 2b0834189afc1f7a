import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ImageTranscoder } from '../../src/core/ports.js';
import { QuarantineUnavailableError, sanitize } from '../../src/core/sanitize.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { violations } from '../helpers/conformance.js';
import { harness, policyWith, run, withAttachments } from '../helpers/run.js';

const photoMail = async (): Promise<Buffer> =>
  withAttachments('写真を送ります。秘密の本文', [
    {
      type: 'image/png',
      filename: 'a.png',
      body: await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
        .png()
        .toBuffer(),
    },
  ]);

// Converters that fail the way real ones do: crash, or never answer.
const crashing: ImageTranscoder = {
  reencode: () => Promise.reject(new Error('converter crashed (signal SIGSEGV)')),
};
const hanging: ImageTranscoder = { reencode: () => new Promise(() => undefined) };

describe('failing closed', () => {
  it('a converter crash quarantines the original and delivers a notice only', async () => {
    const raw = await photoMail();
    const h = await harness({ images: crashing });
    const o = await run(raw, defaultPolicy, h);
    expect(o.result.verdict).toBe('blocked');
    expect(o.result.findings[0]).toMatchObject({ code: 'internal-error', detail: expect.stringContaining('SIGSEGV') });
    expect(o.mail!.attachments).toEqual([]);
    expect(o.mail!.text).not.toContain('秘密の本文');
    expect(o.mail!.text).toContain('【無害化通知】インターネットから届いたメールです。無害化の処理中にエラーが起きたため、本文と添付ファイルをお届けできません。');
    expect(o.mail!.text).toContain(o.result.quarantineId!);
    expect(o.raw!.toString()).toMatch(/^X-Mugaika-Verdict: blocked\r$/m);
    expect(Buffer.compare((await h.store.get(o.result.quarantineId!)).raw, raw)).toBe(0);
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('a failure once the original is kept blocks the message under that item: the original is not kept twice', async () => {
    // The message id's random token is asked for once the original is kept, as the message is composed:
    // a random source that fails then (once) is such a failure. Before, the block kept the original again.
    let tokens = 0;
    const h = await harness({
      randomToken: () => {
        if (tokens++ === 0) throw new Error('the random source failed');
        return randomUUID();
      },
    });
    const raw = withAttachments('実行ファイルを送ります。', [{ type: 'application/octet-stream', filename: 'setup.exe', body: Buffer.from('MZ\x90\x00not really a program', 'latin1') }]);
    const o = await run(raw, defaultPolicy, h);
    expect(tokens).toBe(2);
    expect(o.result.verdict).toBe('blocked');
    expect(o.result.findings[0]).toMatchObject({ code: 'internal-error', detail: expect.stringContaining('the random source failed') });
    expect((await h.store.store.listItems({})).map((i) => i.id)).toEqual([o.result.quarantineId]);
    expect(Buffer.compare((await h.store.get(o.result.quarantineId!)).raw, raw)).toBe(0);
    expect(o.mail!.text).toContain(o.result.quarantineId!);
    expect(o.mail!.attachments).toEqual([]);
  });

  it('a converter that never answers ends in a timeout verdict within the budget', async () => {
    const h = await harness({ images: hanging });
    const started = Date.now();
    const o = await run(await photoMail(), policyWith({ limits: { timeoutMs: 300 } }), h);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(o.result.verdict).toBe('blocked');
    expect(o.codes[0]).toBe('timeout');
    expect(o.mail!.text).toContain('制限時間内に終わらなかった');
  });

  it('work that ends past the budget in a synchronous stretch, which no timer can cut, is a timeout too: not delivered', async () => {
    // A converter that holds the thread 500 ms and then answers well: its answer wins the race with the
    // deadline's timer, which cannot fire during the stretch. Before, the message was delivered as sanitized.
    const slowButFine: ImageTranscoder = {
      reencode: async (bytes) => {
        const until = Date.now() + 500;
        while (Date.now() < until);
        return { ok: true, bytes: Buffer.from(bytes), format: 'png', width: 8, height: 8, frames: 1 };
      },
    };
    const h = await harness({ images: slowButFine });
    const o = await run(await photoMail(), policyWith({ limits: { timeoutMs: 300 } }), h);
    expect(o.result.verdict).toBe('blocked');
    expect(o.codes[0]).toBe('timeout');
    expect(o.mail!.attachments).toEqual([]);
    expect(o.mail!.text).not.toContain('秘密の本文');
  });

  it('when the quarantine cannot keep the original, nothing is decided or delivered', async () => {
    const h = await harness();
    // Replace the quarantine folder with a file: every write into it fails.
    rmSync(h.quarantineDir, { recursive: true });
    writeFileSync(h.quarantineDir, 'not a folder');
    await expect(sanitize({ raw: await photoMail() }, defaultPolicy, h.deps)).rejects.toBeInstanceOf(QuarantineUnavailableError);
    // The blocked path needs the quarantine just as much.
    const blocked = sanitize({ raw: await photoMail() }, defaultPolicy, { ...h.deps, images: crashing });
    await expect(blocked).rejects.toThrow(/quarantine could not keep the original.*nothing was delivered/);
  });
});
