// The parent's checks on what a rasterizer sends, fed real protocol bytes from
// a stream: a lying child gets `converter-failed` (or its own refusal code),
// never an allocation or a page beyond the limits.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../src/converters/pdf/byte-reader.js';
import { encodeDone, encodeFailure, encodePageHeader, encodeStart, encodeText, MAX_TEXT_FRAME_BYTES, TAG, type TextRun } from '../../src/converters/pdf/protocol.js';
import { checkedPages, ConversionError, EndedEarly } from '../../src/converters/pdf/untrusted-pages.js';
import { limits } from './pdf-samples.js';

const LIMITS = limits({ maxPages: 3, dpi: 72, maxPixelsPerPage: 10_000 });
const pixels = (w: number, h: number): Buffer => Buffer.alloc(w * h * 3, 0x7f);
const noText = (index: number): Buffer => encodeText(index, [], false);
/** A page's frames: its pixels, then its text (the child reads the text while the pixels are sent). */
const page = (index: number, w: number, h: number, wPt = w, hPt = h): Buffer => Buffer.concat([encodePageHeader(index, w, h, wPt, hPt), pixels(w, h), noText(index)]);
const header = (index: number, w: number, h: number, wPt: number, hPt: number): Buffer => encodePageHeader(index, w, h, wPt, hPt);
/** Page 0 of 10x10 points, before its text frame. */
const pixelsOfPage0 = (): Buffer => Buffer.concat([encodePageHeader(0, 10, 10, 10, 10), pixels(10, 10)]);
const run = (over: Partial<TextRun> = {}): TextRun => ({ text: '市役所', x: 5, y: 5, width: 20, size: 8, dirX: 1, dirY: 0, ...over });
/** A 'T' frame whose body is `body` as it stands. */
const rawText = (index: number, flags: number, body: Buffer, length = body.length): Buffer => {
  const head = Buffer.alloc(10);
  head[0] = TAG.text;
  head.writeUInt32BE(index, 1);
  head[5] = flags;
  head.writeUInt32BE(length, 6);
  return Buffer.concat([head, body]);
};
const runBody = (r: TextRun, textBytes = Buffer.from(r.text, 'utf8'), declared = textBytes.length): Buffer => {
  const head = Buffer.alloc(26);
  [r.x, r.y, r.width, r.size, r.dirX, r.dirY].forEach((v, i) => head.writeFloatBE(v, i * 4));
  head.writeUInt16BE(declared, 24);
  return Buffer.concat([head, textBytes]);
};

async function read(...frames: Buffer[]): Promise<{ pages: number[]; error?: Error }> {
  const pages: number[] = [];
  try {
    // Small chunks: frames split anywhere must still be read exactly.
    const all = Buffer.concat(frames);
    const chunks = Array.from({ length: Math.ceil(all.length / 7) }, (_, i) => all.subarray(i * 7, i * 7 + 7));
    for await (const p of checkedPages(ByteReader.fromStream(Readable.from(chunks)), LIMITS)) pages.push(p.index);
    return { pages };
  } catch (error) {
    return { pages, error: error as Error };
  }
}

const failedWith = (reason: string, detail: RegExp) => ({ error: expect.objectContaining({ reason, message: expect.stringMatching(detail) }) });

describe('frames from the rasterizer', () => {
  it('accepts a well-formed answer', async () => {
    const { pages, error } = await read(encodeStart(2), page(0, 50, 40), page(1, 40, 50), encodeDone());
    expect(error).toBeUndefined();
    expect(pages).toEqual([0, 1]);
  });

  it.each([
    ['no page count first', [page(0, 10, 10)], /frame 80 where the page count was due/],
    ['zero pages', [encodeStart(0)], /page count of 0/],
    ['more pages than the limit', [encodeStart(4)], /page count of 4 \(limit 3\)/],
    ['pages out of order', [encodeStart(2), page(1, 10, 10)], /page 1 where page 0 was due/],
    ['a page without its text frame', [encodeStart(1), pixelsOfPage0(), encodeDone()], /frame 68 where page 1's text was due/],
    ['a page followed by the text of another', [encodeStart(2), pixelsOfPage0(), noText(1)], /text of page 1 where page 0's was due/],
    ['a zero-width page', [encodeStart(1), header(0, 0, 10, 1, 10)], /0x10 pixels/],
    ['a page over the pixel limit', [encodeStart(1), header(0, 200, 200, 200, 200)], /over the limit of 10000/],
    ['a NaN page side', [encodeStart(1), header(0, 10, 10, Number.NaN, 10)], /page side of NaN points/],
    ["a page side beyond PDF's 14,400", [encodeStart(1), header(0, 10, 10, 20_000, 10)], /page side of 20000 points/],
    ['pixels that do not fit the page size', [encodeStart(1), header(0, 10, 10, 90, 10)], /10x10 pixels for a page of 90x10 pt/],
    ['an unknown frame', [encodeStart(1), Buffer.from([0x58])], /frame 88 where page 1 was due/],
    ['no end mark', [encodeStart(1), page(0, 10, 10), page(1, 10, 10)], /frame 80 where the end mark was due/],
    ['text over the frame limit', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, Buffer.alloc(0), MAX_TEXT_FRAME_BYTES + 1)], /bytes of text for one page/],
    ['unknown text flags', [encodeStart(1), pixelsOfPage0(), rawText(0, 6, Buffer.alloc(0))], /text flags 6/],
    ['a text run cut short', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, Buffer.alloc(10))], /a text run cut short/],
    ['a text run longer than its frame', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, runBody(run(), Buffer.from('ab'), 500))], /500 bytes past the end of its frame/],
    ['a text run that is not UTF-8', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, runBody(run(), Buffer.from([0xff, 0xfe, 0x41])))], /not UTF-8/],
    ['a NaN text position', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, runBody(run({ x: Number.NaN })))], /not a number/],
    ['a text run far off any page', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, runBody(run({ y: 1e9 })))], /a text run at/],
    ['a text run of no size', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, runBody(run({ size: 0 })))], /size 0/],
    ['a text direction that is not a unit vector', [encodeStart(1), pixelsOfPage0(), rawText(0, 0, runBody(run({ dirX: 5 })))], /direction \(5, 0\)/],
    ['an unknown failure code', [Buffer.from([TAG.failure, 200, 0, 0])], /unknown failure code 200/],
    ['an overlong failure detail', [Buffer.from([TAG.failure, 0, 0xff, 0xff])], /failure detail of 65535 bytes/],
  ])('refuses %s as converter-failed', async (_name, frames, detail) => {
    expect(await read(...frames)).toMatchObject(failedWith('converter-failed', detail));
  });

  it('takes the text of a page, without controls or bidi overrides, and only runs that start on the page', async () => {
    const runs = [run(), run({ text: 'a\u202eb\u0007c\u200fd' }), run({ text: '\u202e\u0000 ' }), run({ x: 400, text: 'off the page' }), run({ text: 'e\u0301', dirX: 0, dirY: -1 })];
    const frames = Buffer.concat([encodeStart(1), encodePageHeader(0, 50, 40, 50, 40), pixels(50, 40), encodeText(0, runs, true), encodeDone()]);
    const got = [];
    for await (const p of checkedPages(ByteReader.fromStream(Readable.from([frames])), LIMITS)) got.push(p);
    expect(got).toHaveLength(1);
    expect(got[0]!.textTruncated).toBe(true);
    expect(got[0]!.text.map((r) => r.text)).toEqual(['市役所', 'abcd', 'e\u0301']);
    expect(got[0]!.text[0]).toEqual(run());
  });

  it("passes on the child's refusals, and reports its running out of memory as converter-failed", async () => {
    expect(await read(encodeFailure('encrypted', 'needs a password'))).toMatchObject(failedWith('encrypted', /^needs a password$/));
    expect(await read(encodeStart(2), page(0, 10, 10), encodeFailure('out-of-memory', 'malloc failed'))).toMatchObject({
      pages: [0],
      ...failedWith('converter-failed', /ran out of memory: malloc failed/),
    });
    expect(await read(encodeFailure('undecodable', 'caf\u00e9\n'))).toMatchObject(failedWith('undecodable', /^caf\?\?$/));
  });

  it('notices pixels cut short', async () => {
    const cut = page(0, 10, 10).subarray(0, 100);
    const { error } = await read(encodeStart(1), cut);
    expect(error).toBeInstanceOf(EndedEarly);
    expect(error).not.toBeInstanceOf(ConversionError);
  });

  it('reuses a page buffer only once its page was released, and never mixes pages up', async () => {
    const filled = (index: number): Buffer => Buffer.concat([encodePageHeader(index, 10, 10, 10, 10), Buffer.alloc(300, index + 1), noText(index)]);
    const frames = Buffer.concat([encodeStart(3), filled(0), filled(1), filled(2), encodeDone()]);
    const chunks = Array.from({ length: Math.ceil(frames.length / 64) }, (_, i) => frames.subarray(i * 64, i * 64 + 64));

    // Held pages keep their own pixels while later pages arrive.
    const held = [];
    for await (const p of checkedPages(ByteReader.fromStream(Readable.from(chunks)), LIMITS)) held.push(p);
    expect(held.map((p) => [...new Set(p.rgb)])).toEqual([[1], [2], [3]]);
    expect(new Set(held.map((p) => p.rgb.buffer)).size).toBe(3);

    // A released page's buffer carries the next page.
    const buffers = [];
    for await (const p of checkedPages(ByteReader.fromStream(Readable.from(chunks)), LIMITS)) {
      expect([...new Set(p.rgb)]).toEqual([p.index + 1]);
      buffers.push(p.rgb.buffer);
      p.release();
    }
    expect(new Set(buffers).size).toBe(1);
  });

  it('pauses its source while a megabyte waits unread, and loses nothing when it resumes', async () => {
    const all = Buffer.alloc(3 << 20);
    for (let i = 0; i < all.length; i += 4) all.writeUInt32BE(i, i);
    const source = Readable.from(Array.from({ length: 30 }, (_, i) => all.subarray(i * 104_858, (i + 1) * 104_858)).filter((c) => c.length > 0));
    const reader = ByteReader.fromStream(source);
    await new Promise((r) => setTimeout(r, 50));
    expect(source.isPaused()).toBe(true);
    const head = await reader.read(16);
    const rest = Buffer.alloc(all.length - 16);
    expect(await reader.readInto(rest, rest.length)).not.toBeNull();
    expect(Buffer.concat([head!, rest]).equals(all)).toBe(true);
    expect(await reader.read(1)).toBeNull();
  });
});
