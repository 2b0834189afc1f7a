import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { eml, plain, policyWith, run } from '../helpers/run.js';

const HEAD = ['From: "差出人" <sender@example.jp>', 'To: staff@city.example.lg.jp', 'Subject: 制限のテスト', 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'MIME-Version: 1.0'];

/** multipart nested `depth` levels deep. */
const nested = (depth: number): Buffer => {
  let body = 'Content-Type: text/plain\r\n\r\ninnermost\r\n';
  for (let i = depth; i > 0; i--) {
    body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
  }
  // The outermost Content-Type line completes the top-level header block.
  return Buffer.from(`${HEAD.join('\r\n')}\r\n${body}`);
};

const manyParts = (n: number): Buffer => {
  const parts = Array.from({ length: n }, (_, i) => `--m\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
  return eml([...HEAD, 'Content-Type: multipart/mixed; boundary="m"'], `${parts}--m--\r\n`);
};

describe('limits before parsing', () => {
  it('a message over maxMessageBytes is rejected by default', async () => {
    const o = await run(plain('x'.repeat(5000)), policyWith({ limits: { maxMessageBytes: 1000 } }));
    expect(o.result).toMatchObject({ action: 'reject', verdict: 'rejected', quarantineId: null, message: null });
    expect(o.result.findings).toEqual([{ code: 'message-too-large', detail: expect.stringMatching(/> 1000 bytes/) }]);
  });

  it('or quarantined with a notice when the policy says so', async () => {
    const o = await run(plain('x'.repeat(5000)), policyWith({ limits: { maxMessageBytes: 1000 }, actions: { oversize: 'quarantine' } }));
    expect(o.result).toMatchObject({ action: 'deliver', verdict: 'blocked' });
    expect(o.result.quarantineId).toMatch(/^Q-\d{8}-[A-Z2-7]{10}$/);
    expect(o.mail!.text).toContain('メールのサイズが上限を超えているため');
    expect(o.mail!.text).not.toContain('xxxxx');
    expect(o.mail!.subject).toBe('[無害化] hello');
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('too deep a structure is quarantined with a notice-only message', async () => {
    const ok = await run(nested(20));
    expect(ok.result.verdict).not.toBe('blocked');
    const o = await run(nested(21));
    expect(o.result.verdict).toBe('blocked');
    expect(o.codes[0]).toBe('mime-too-deep');
    expect(o.mail!.text).not.toContain('innermost');
    expect(o.mail!.attachments).toEqual([]);
    expect(o.mail!.from?.text).toContain('sender@example.jp');
    expect(o.mail!.subject).toBe('[無害化] 制限のテスト');
  });

  it('too many parts is quarantined; exactly the limit is not', async () => {
    expect((await run(manyParts(499))).result.verdict).not.toBe('blocked');
    const o = await run(manyParts(600));
    expect(o.codes[0]).toBe('too-many-parts');
    expect(o.result.verdict).toBe('blocked');
  });

  it('too large a header block is quarantined', async () => {
    const big = plain('body', [`X-Junk: ${'a'.repeat(300_000)}`]);
    const o = await run(big);
    expect(o.codes[0]).toBe('header-too-large');
    expect(o.result.verdict).toBe('blocked');
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('structure limits reject instead when the policy says so', async () => {
    const o = await run(manyParts(20), policyWith({ limits: { maxParts: 10 }, actions: { structureLimit: 'reject' } }));
    expect(o.result).toMatchObject({ action: 'reject', findings: [{ code: 'too-many-parts' }] });
  });

  it('the original of a blocked message is kept byte for byte', async () => {
    const raw = manyParts(600);
    const o = await run(raw);
    const kept = await o.h.store.get(o.result.quarantineId!);
    expect(Buffer.compare(kept.raw, raw)).toBe(0);
    expect(kept.meta.findings[0]?.code).toBe('too-many-parts');
  });
});
