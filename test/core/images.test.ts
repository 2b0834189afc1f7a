// Image attachments end to end: a real message in, the delivered message
// parsed back. Every image crosses only as new PNG or JPEG bytes made from its
// pixels, under the name it had plus the new extension.
import { encode as encodeBmp } from 'fast-bmp';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ihdr, pngChunk, PNG_SIGNATURE } from '../helpers/bytes.js';
import { violations } from '../helpers/conformance.js';
import { policyWith, run, withAttachments, type Outcome, type PartSpec } from '../helpers/run.js';

const RED = { r: 220, g: 20, b: 20 };
const BLUE = { r: 20, g: 20, b: 220 };
const solid = (width: number, height: number, background = RED) => sharp({ create: { width, height, channels: 3, background } });

const bmpOf = (width: number, height: number): Uint8Array => {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set([220, 20, 20], i);
  return encodeBmp({ width, height, channels: 3, bitsPerPixel: 24, data });
};

/** Sanitizes a message with these parts and checks what must always hold. */
async function send(parts: PartSpec[], policy?: Parameters<typeof run>[1]): Promise<Outcome> {
  const o = await run(withAttachments('添付をご確認ください。', parts), policy);
  expect(o.result.action).toBe('deliver');
  expect(o.raw).not.toBeNull();
  expect(await violations(o.raw!)).toEqual([]);
  for (const a of o.mail!.attachments) expect(['text/plain', 'image/png', 'image/jpeg']).toContain(a.contentType);
  return o;
}

const findingsOf = (o: Outcome, index: number) => o.result.findings.filter((f) => f.attachment === index);

describe('each accepted image format is delivered as new PNG or JPEG bytes', () => {
  const cases: Array<{ label: string; name: string; type: string; make: () => Promise<Uint8Array>; out: 'image/png' | 'image/jpeg'; deliveredName: string }> = [
    { label: 'PNG', name: '地図.png', type: 'image/png', make: () => solid(48, 32).png({ compressionLevel: 1 }).toBuffer(), out: 'image/png', deliveredName: '地図.png' },
    { label: 'JPEG', name: 'photo.jpg', type: 'image/jpeg', make: () => solid(48, 32).jpeg().toBuffer(), out: 'image/jpeg', deliveredName: 'photo.jpg' },
    { label: 'JPEG (.jpeg)', name: 'photo.JPEG', type: 'image/jpeg', make: () => solid(48, 32).jpeg().toBuffer(), out: 'image/jpeg', deliveredName: 'photo.JPEG' },
    { label: 'GIF', name: 'ロゴ.gif', type: 'image/gif', make: () => solid(48, 32).gif().toBuffer(), out: 'image/png', deliveredName: 'ロゴ.gif.png' },
    { label: 'WebP', name: 'banner.webp', type: 'image/webp', make: () => solid(48, 32).webp().toBuffer(), out: 'image/png', deliveredName: 'banner.webp.png' },
    { label: 'TIFF', name: 'scan.tif', type: 'image/tiff', make: () => solid(48, 32).tiff().toBuffer(), out: 'image/png', deliveredName: 'scan.tif.png' },
    { label: 'BMP', name: '写真.bmp', type: 'image/bmp', make: async () => bmpOf(48, 32), out: 'image/png', deliveredName: '写真.bmp.png' },
  ];
  for (const c of cases) {
    it(`${c.label} -> ${c.out} named ${c.deliveredName}`, async () => {
      const input = await c.make();
      const o = await send([{ type: c.type, filename: c.name, body: input }]);
      expect(o.result.verdict).toBe('sanitized');
      expect(o.result.quarantineId).not.toBeNull();
      const atts = o.mail!.attachments;
      expect(atts).toHaveLength(1);
      const a = atts[0]!;
      expect(a.contentType).toBe(c.out);
      expect(a.filename).toBe(c.deliveredName);
      expect(a.content.equals(Buffer.from(input))).toBe(false);
      const m = await sharp(a.content).metadata();
      expect(m.format).toBe(c.out === 'image/png' ? 'png' : 'jpeg');
      expect([m.width, m.height]).toEqual([48, 32]);
      const codes = findingsOf(o, 1).map((f) => f.code);
      expect(codes).toEqual(['image-reencoded']);
      expect(findingsOf(o, 1)[0]!.detail).toMatch(/48x32/);
    });
  }

  it('delivers several images in order, each under its own name', async () => {
    const o = await send([
      { type: 'image/jpeg', filename: 'a.jpg', body: await solid(10, 10).jpeg().toBuffer() },
      { type: 'image/gif', filename: 'b.gif', body: await solid(11, 10).gif().toBuffer() },
      { type: 'image/bmp', filename: 'c.bmp', body: bmpOf(12, 10) },
    ]);
    expect(o.mail!.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['a.jpg', 'image/jpeg'],
      ['b.gif.png', 'image/png'],
      ['c.bmp.png', 'image/png'],
    ]);
    expect(o.result.findings.filter((f) => f.code === 'image-reencoded').map((f) => f.attachment)).toEqual([1, 2, 3]);
  });

  it('names an image that came without a name', async () => {
    const o = await send([{ type: 'image/png', body: await solid(10, 10).png().toBuffer() }]);
    const a = o.mail!.attachments[0]!;
    expect(a.contentType).toBe('image/png');
    expect(a.filename).toBe('attachment-1.png');
  });

  it('delivers a 256-colour BMP in its own colours, not as palette indices', async () => {
    // BITMAPINFOHEADER, 8 bits, colour table [blue, red]; every pixel is index 1.
    const w = 8;
    const h = 4;
    const offset = 14 + 40 + 2 * 4;
    const bmp = Buffer.alloc(offset + w * h);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(bmp.length, 2);
    bmp.writeUInt32LE(offset, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(w, 18);
    bmp.writeInt32LE(h, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(8, 28);
    bmp.writeUInt32LE(2, 46);
    bmp.set([255, 0, 0, 0, 0, 0, 255, 0], 54);
    bmp.fill(1, offset);
    const o = await send([{ type: 'image/bmp', filename: '地図.bmp', body: bmp }]);
    const a = o.mail!.attachments[0]!;
    expect([a.filename, a.contentType]).toEqual(['地図.bmp.png', 'image/png']);
    const { data, info } = await sharp(a.content).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([w, h]);
    expect([...data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });
});

describe('a photo loses its EXIF, GPS, ICC, XMP and comments', () => {
  const photo = async (orientation?: number): Promise<Buffer> => {
    let img = solid(64, 32).withExif({
      IFD0: { Make: 'SecretCamMaker', Model: 'SecretModel-9', Artist: 'Tanaka Taro' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '35/1 40/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '139/1 45/1 0/1', GPSMapDatum: 'GPS-DATUM-MARK' },
    });
    if (orientation) img = img.withMetadata({ orientation });
    const jpeg = await img
      .withIccProfile('p3')
      .withXmp(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>XMP-AUTHOR</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>',
      )
      .jpeg()
      .toBuffer();
    const comment = Buffer.from('COMMENT-SECRET-NOTE', 'latin1');
    const com = Buffer.alloc(4);
    com.writeUInt16BE(0xfffe, 0);
    com.writeUInt16BE(comment.length + 2, 2);
    return Buffer.concat([jpeg.subarray(0, 2), com, comment, jpeg.subarray(2)]);
  };

  it('delivers 現場写真.jpg as a clean JPEG under the same name', async () => {
    const input = await photo();
    const before = await sharp(input).metadata();
    expect(before.exif).toBeDefined();
    expect(before.icc).toBeDefined();
    expect(before.xmp).toBeDefined();
    for (const s of ['SecretCamMaker', 'GPS-DATUM-MARK', 'XMP-AUTHOR', 'COMMENT-SECRET-NOTE', 'Tanaka Taro']) expect(input.includes(s), s).toBe(true);

    const o = await send([{ type: 'image/jpeg', filename: '現場写真.jpg', body: input }]);
    const a = o.mail!.attachments[0]!;
    expect(a.filename).toBe('現場写真.jpg');
    expect(a.contentType).toBe('image/jpeg');
    const after = await sharp(a.content).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect([after.width, after.height]).toEqual([64, 32]);
    for (const s of ['GPS', 'SecretCamMaker', 'SecretModel', 'Tanaka', 'XMP-AUTHOR', 'COMMENT-SECRET', 'Exif', 'ICC_PROFILE']) {
      expect(a.content.includes(s), s).toBe(false);
      // Nor anywhere else in the delivered message, decoded or not.
      expect(o.raw!.includes(s), s).toBe(false);
    }
  });

  it('applies EXIF orientation 6: stored 64x32 is delivered upright as 32x64', async () => {
    const input = await photo(6);
    expect(await sharp(input).metadata()).toMatchObject({ width: 64, height: 32, orientation: 6 });
    const o = await send([{ type: 'image/jpeg', filename: '縦.jpg', body: input }]);
    const after = await sharp(o.mail!.attachments[0]!.content).metadata();
    expect([after.width, after.height]).toEqual([32, 64]);
    expect(after.orientation).toBeUndefined();
    expect(findingsOf(o, 1)[0]).toMatchObject({ code: 'image-reencoded', detail: 'jpeg -> jpeg, 32x64' });
  });
});

describe('pixel limits and broken images', () => {
  it('removes a 200x200 image when the policy allows 10000 pixels', async () => {
    const policy = policyWith({ limits: { maxImagePixels: 10_000 } });
    const o = await send(
      [
        { type: 'image/png', filename: 'big.png', body: await solid(200, 200).png().toBuffer() },
        { type: 'image/bmp', filename: 'big.bmp', body: bmpOf(200, 200) },
        { type: 'image/png', filename: 'ok.png', body: await solid(100, 100).png().toBuffer() },
      ],
      policy,
    );
    expect(findingsOf(o, 1).map((f) => f.code)).toEqual(['image-too-large']);
    expect(findingsOf(o, 2).map((f) => f.code)).toEqual(['image-too-large']);
    expect(findingsOf(o, 3).map((f) => f.code)).toEqual(['image-reencoded']);
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['ok.png']);
    expect(o.result.quarantineId).not.toBeNull();
  });

  it('refuses a PNG whose IHDR claims 100000x100000 quickly and without a crash', async () => {
    const bombs = [
      Buffer.concat([PNG_SIGNATURE, ihdr(100_000, 100_000), pngChunk('IDAT', Buffer.from('bogus')), pngChunk('IEND', Buffer.alloc(0))]),
      Buffer.concat([PNG_SIGNATURE, ihdr(100_000, 100_000), Buffer.from('bogus rest of the file')]),
    ];
    for (const bomb of bombs) {
      const t0 = Date.now();
      const o = await send([{ type: 'image/png', filename: 'bomb.png', body: bomb }]);
      expect(Date.now() - t0).toBeLessThan(5000);
      const codes = findingsOf(o, 1).map((f) => f.code);
      expect(codes).toHaveLength(1);
      expect(['image-too-large', 'image-undecodable']).toContain(codes[0]);
      expect(o.mail!.attachments).toEqual([]);
    }
  });

  it('refuses a real PNG whose IHDR was patched to 20000x20000 as too large', async () => {
    const real = await solid(8, 8).png().toBuffer();
    const patched = Buffer.concat([PNG_SIGNATURE, ihdr(20_000, 20_000), real.subarray(33)]);
    const o = await send([{ type: 'image/png', filename: 'patched.png', body: patched }]);
    expect(findingsOf(o, 1).map((f) => f.code)).toEqual(['image-too-large']);
    expect(o.mail!.attachments).toEqual([]);
  });

  it('refuses a BMP whose header claims 100000x100000 as too large', async () => {
    const bmp = Buffer.from(bmpOf(4, 4));
    bmp.writeInt32LE(100_000, 18);
    bmp.writeInt32LE(100_000, 22);
    const o = await send([{ type: 'image/bmp', filename: 'huge.bmp', body: bmp }]);
    expect(findingsOf(o, 1).map((f) => f.code)).toEqual(['image-too-large']);
    expect(o.mail!.attachments).toEqual([]);
  });

  it('refuses a truncated PNG as undecodable', async () => {
    const noisy = await sharp({ create: { width: 128, height: 128, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .png()
      .toBuffer();
    for (const cut of [noisy.subarray(0, 60), noisy.subarray(0, noisy.length >> 1)]) {
      const o = await send([{ type: 'image/png', filename: 'cut.png', body: cut }]);
      expect(findingsOf(o, 1).map((f) => f.code)).toEqual(['image-undecodable']);
      expect(o.mail!.attachments).toEqual([]);
    }
  });

  it('refuses garbage behind a PNG signature as an undecodable image', async () => {
    const garbage = Buffer.concat([PNG_SIGNATURE, Buffer.from('garbage garbage garbage garbage garbage')]);
    const o = await send([{ type: 'image/png', filename: 'broken.png', body: garbage }]);
    expect(findingsOf(o, 1).map((f) => f.code)).toEqual(['image-undecodable']);
    expect(o.mail!.attachments).toEqual([]);
  });

  it('delivers only the first frame of an animated GIF, as PNG', async () => {
    const frames = [await solid(30, 10, RED).png().toBuffer(), await solid(30, 10, BLUE).png().toBuffer(), await solid(30, 10, { r: 20, g: 220, b: 20 }).png().toBuffer()];
    const gif = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(3);
    const o = await send([{ type: 'image/gif', filename: 'anim.gif', body: gif }]);
    const a = o.mail!.attachments[0]!;
    expect([a.filename, a.contentType]).toEqual(['anim.gif.png', 'image/png']);
    const m = await sharp(a.content, { pages: -1 }).metadata();
    expect(m.pages ?? 1).toBe(1);
    expect([m.width, m.height]).toEqual([30, 10]);
    const s = await sharp(a.content).stats();
    expect(s.channels[0]!.mean).toBeGreaterThan(190);
    expect(s.channels[2]!.mean).toBeLessThan(50);
  });

  it('delivers only the first page of a multi-page TIFF, as PNG', async () => {
    const pages = [await solid(30, 10, RED).png().toBuffer(), await solid(30, 10, BLUE).png().toBuffer()];
    const tiff = await sharp(pages, { join: { animated: true } })
      .tiff()
      .toBuffer();
    expect((await sharp(tiff).metadata()).pages).toBe(2);
    const o = await send([{ type: 'image/tiff', filename: 'fax.tiff', body: tiff }]);
    const a = o.mail!.attachments[0]!;
    expect([a.filename, a.contentType]).toEqual(['fax.tiff.png', 'image/png']);
    const m = await sharp(a.content).metadata();
    expect([m.width, m.height]).toEqual([30, 10]);
    expect((await sharp(a.content).stats()).channels[0]!.mean).toBeGreaterThan(190);
  });

  it('delivers the default image of an animated PNG (APNG) as a still PNG', async () => {
    // An acTL chunk before IDAT is what makes a PNG animated; viewers without
    // APNG support show the default image, which is what libvips decodes.
    const still = await solid(20, 10).png().toBuffer();
    const actl = Buffer.alloc(8);
    actl.writeUInt32BE(1, 0); // frames
    const apng = Buffer.concat([still.subarray(0, 33), pngChunk('acTL', actl), still.subarray(33)]);
    const o = await send([{ type: 'image/png', filename: 'anim.png', body: apng }]);
    expect(findingsOf(o, 1).map((f) => f.code)).toEqual(['image-reencoded']);
    const a = o.mail!.attachments[0]!;
    expect([a.filename, a.contentType]).toEqual(['anim.png', 'image/png']);
    expect(a.content.includes('acTL')).toBe(false);
  });
});
