import { describe, expect, it } from 'vitest';
import { violations } from '../helpers/conformance.js';
import { bodyOf, eml, plain, policyWith, run, withAttachments } from '../helpers/run.js';

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

/** A part that is a chain of `depth` nested multiparts around a text, built in linear time. */
const chain = (depth: number): string => {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 1; i <= depth; i++) {
    open.push(`Content-Type: multipart/mixed; boundary="c${i}"\r\n\r\n--c${i}\r\n`);
    close.push(`\r\n--c${i}--`);
  }
  return `${open.join('')}Content-Type: text/plain\r\n\r\ninnermost${close.reverse().join('')}`;
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

  it('a message whose only content lies beyond the depth limit is quarantined with a notice-only message', async () => {
    const ok = await run(nested(20));
    expect(ok.result.verdict).not.toBe('blocked');
    expect(ok.codes).not.toContain('depth-truncated');
    const raw = nested(21);
    const o = await run(raw);
    expect(o.result.verdict).toBe('blocked');
    expect(o.codes[0]).toBe('mime-too-deep');
    expect(o.mail!.text).not.toContain('innermost');
    expect(o.mail!.attachments).toEqual([]);
    expect(o.mail!.from?.text).toContain('sender@example.jp');
    expect(o.mail!.subject).toBe('[無害化] 制限のテスト');
    expect(Buffer.compare((await o.h.store.get(o.result.quarantineId!)).raw, raw)).toBe(0);
    expect(await violations(o.raw!)).toEqual([]);
    expect((await run(nested(60))).result.verdict).toBe('blocked');
  });

  it('nesting of 60 after the body: the body and the parts above the depth limit are delivered', async () => {
    const raw = eml(
      [...HEAD, 'Content-Type: multipart/mixed; boundary="top"'],
      `--top\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n本文はここです。\r\n--top\r\n${chain(60)}\r\n--top\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename="after.txt"\r\n\r\n深い部分の後の添付\r\n--top--\r\n`,
    );
    const o = await run(raw);
    expect(o.result.verdict).toBe('sanitized');
    expect(o.result.findings[0]).toEqual({ code: 'depth-truncated', detail: '1 part holding parts deeper than limits.maxMimeDepth 20', count: 1 });
    expect(bodyOf(o)).toBe('本文はここです。');
    expect(o.raw!.toString('latin1')).not.toContain('innermost');
    expect(o.mail!.attachments.map((a) => [a.filename, a.content.toString('utf8')])).toEqual([['after.txt', '深い部分の後の添付']]);
    expect(o.mail!.text).toContain('入れ子が深すぎる部分（1か所）はお届けしていません（原本には含まれています）。');
    expect(Buffer.compare((await o.h.store.get(o.result.quarantineId!)).raw, raw)).toBe(0);
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('5,000 attachments: the body and the first attachments up to maxParts are delivered, the rest named in the notice', async () => {
    const raw = withAttachments(
      '添付が多いメールの本文です。',
      Array.from({ length: 5000 }, (_, i) => ({ type: 'text/plain; charset=utf-8', filename: `f${i + 1}.txt`, body: `添付${i + 1}` })),
    );
    const o = await run(raw);
    expect(o.result.verdict).toBe('sanitized');
    // The root, the body and 498 attachments make the 500 parts.
    expect(o.result.findings[0]).toEqual({ code: 'parts-truncated', detail: '4502 of 5002 parts over limits.maxParts 500', count: 4502 });
    expect(bodyOf(o)).toBe('添付が多いメールの本文です。');
    const names = o.mail!.attachments.map((a) => a.filename);
    expect(names).toEqual(Array.from({ length: 498 }, (_, i) => `f${i + 1}.txt`));
    expect(o.mail!.attachments[497]!.content.toString('utf8')).toBe('添付498');
    expect(o.mail!.text).toContain('添付ファイルなどの数が上限を超えていたため、残りの4502個はお届けしていません（原本には含まれています）。');
    expect(Buffer.compare((await o.h.store.get(o.result.quarantineId!)).raw, raw)).toBe(0);
    expect(await violations(o.raw!)).toEqual([]);
  }, 60_000);

  it('too many parts are cut at maxParts; exactly the limit is not cut', async () => {
    expect((await run(manyParts(499))).codes).toEqual([]);
    const o = await run(manyParts(600));
    expect(o.codes[0]).toBe('parts-truncated');
    expect(o.result.verdict).toBe('sanitized');
    expect(bodyOf(o)).toContain('part 498');
    expect(bodyOf(o)).not.toContain('part 499');
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('an English notice says how many parts were not delivered', async () => {
    const o = await run(manyParts(12), policyWith({ language: 'en', limits: { maxParts: 10 } }));
    expect(o.mail!.text).toContain('the remaining 3 were not delivered (in the original).');
  });

  it('hostile structure beyond the limits gets a verdict in bounded time', async () => {
    // 50,000 levels of nesting: splitting each of them would walk every open
    // ancestor for each delimiter line, quadratic; cut at the limit, it is linear.
    const deep = eml([...HEAD, 'Content-Type: multipart/mixed; boundary="top"'], `--top\r\nContent-Type: text/plain\r\n\r\nbody\r\n--top\r\n${chain(50_000)}\r\n--top--\r\n`);
    // 100,000 empty parts, each counted once.
    const many = eml([...HEAD, 'Content-Type: multipart/mixed; boundary="m"'], `--m\r\nContent-Type: text/plain\r\n\r\nbody\r\n${'--m\r\n\r\n'.repeat(100_000)}--m--\r\n`);
    for (const raw of [deep, many]) {
      const started = Date.now();
      const o = await run(raw);
      expect(o.result.verdict).toBe('sanitized');
      expect(bodyOf(o)).toBe('body');
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  }, 30_000);

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
    const deep = await run(nested(30), policyWith({ actions: { structureLimit: 'reject' } }));
    expect(deep.result).toMatchObject({ action: 'reject', findings: [{ code: 'mime-too-deep' }] });
  });

  it('the original of a cut message is kept byte for byte', async () => {
    const raw = manyParts(600);
    const o = await run(raw);
    const kept = await o.h.store.get(o.result.quarantineId!);
    expect(Buffer.compare(kept.raw, raw)).toBe(0);
    expect(kept.meta.findings[0]?.code).toBe('parts-truncated');
  });
});

describe('attached messages over the limits are cut the same way', () => {
  const forward = (inner: Buffer): Buffer => withAttachments('転送します。', [{ type: 'message/rfc822', filename: 'fw.eml', body: inner }]);

  it('an attached message with too many parts: its text and first parts cross, the finding is on it', async () => {
    const o = await run(forward(manyParts(20)), policyWith({ limits: { maxParts: 10 } }));
    expect(o.result.verdict).toBe('sanitized');
    expect(o.result.findings).toContainEqual({ code: 'parts-truncated', attachment: 1, detail: '11 of 21 parts over limits.maxParts 10', count: 11 });
    const text = o.mail!.attachments[0]!.content.toString('utf8');
    expect(text).toContain('part 8');
    expect(text).not.toContain('part 9');
    expect(o.mail!.text).toContain('残りの11個はお届けしていません');
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('an attached message with nothing within the depth limit is removed', async () => {
    const o = await run(forward(nested(30)));
    expect(o.result.findings).toContainEqual(expect.objectContaining({ code: 'mime-too-deep', attachment: 1 }));
    expect(o.mail!.attachments).toEqual([]);
    expect(bodyOf(o)).toBe('転送します。');
  });
});
