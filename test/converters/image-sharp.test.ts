// The sharp/fast-bmp transcoder on real bytes: every accepted format is
// decoded to pixels and re-encoded as PNG (or JPEG for JPEG), nothing of the
// original's metadata survives, and hostile headers are refused before any
// large allocation.
import { encode as encodeBmp } from 'fast-bmp';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ihdr, pngChunk, PNG_SIGNATURE } from '../helpers/bytes.js';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import type { ImageFormat, ImageLimits, ImageResult } from '../../src/core/ports.js';

const transcoder = createSharpTranscoder();
const limits = (over: Partial<ImageLimits> = {}): ImageLimits => ({ maxPixels: 50_000_000, jpegQuality: 85, deadline: Date.now() + 60_000, ...over });

const RED = { r: 220, g: 20, b: 20 };
const BLUE = { r: 20, g: 20, b: 220 };

const solid = (width: number, height: number, background: { r: number; g: number; b: number } = RED) => sharp({ create: { width, height, channels: 3, background } });

const bmpOf = (width: number, height: number, rgb: [number, number, number] = [220, 20, 20]): Uint8Array => {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return encodeBmp({ width, height, channels: 3, bitsPerPixel: 24, data });
};

/** A classic Windows palette BMP: BITMAPINFOHEADER, 1 or 8 bits, bottom-up rows. */
const paletteBmp = (bits: 1 | 8, width: number, height: number, palette: Array<[number, number, number]>, index: (x: number, y: number) => number): Buffer => {
  const row = Math.ceil((width * bits) / 32) * 4;
  const offset = 14 + 40 + palette.length * 4;
  const b = Buffer.alloc(offset + row * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(offset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bits, 28);
  b.writeUInt32LE(row * height, 34);
  b.writeUInt32LE(palette.length, 46);
  palette.forEach(([r, g, bl], i) => b.set([bl, g, r, 0], 54 + i * 4));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = offset + (height - 1 - y) * row;
      const i = index(x, y);
      if (bits === 8) b[at + x] = i;
      else if (i) b[at + (x >> 3)]! |= 0x80 >> (x & 7);
    }
  }
  return b;
};

const ok = (r: ImageResult): Extract<ImageResult, { ok: true }> => {
  if (!r.ok) throw new Error(`expected success, got ${r.reason}: ${r.detail}`);
  return r;
};

const meanRgb = async (bytes: Uint8Array): Promise<number[]> => {
  const s = await sharp(bytes).stats();
  return s.channels.slice(0, 3).map((c) => Math.round(c.mean));
};

describe('every accepted format is rebuilt from pixels', () => {
  const cases: Array<[ImageFormat, () => Promise<Uint8Array>, 'png' | 'jpeg']> = [
    // Not sharp's default PNG settings, so that the output cannot equal the input by accident.
    ['png', () => solid(37, 23).png({ compressionLevel: 1 }).toBuffer(), 'png'],
    ['jpeg', () => solid(37, 23).jpeg().toBuffer(), 'jpeg'],
    ['gif', () => solid(37, 23).gif().toBuffer(), 'png'],
    ['webp', () => solid(37, 23).webp({ lossless: true }).toBuffer(), 'png'],
    ['tiff', () => solid(37, 23).tiff().toBuffer(), 'png'],
    ['bmp', async () => bmpOf(37, 23), 'png'],
  ];
  for (const [format, make, out] of cases) {
    it(`${format} -> ${out}, same size and colour`, async () => {
      const input = await make();
      const r = ok(await transcoder.reencode(input, format, limits()));
      expect(r.format).toBe(out);
      expect([r.width, r.height]).toEqual([37, 23]);
      expect(r.frames).toBe(1);
      const m = await sharp(r.bytes).metadata();
      expect(m.format).toBe(out);
      expect([m.width, m.height]).toEqual([37, 23]);
      const [red, green, blue] = await meanRgb(r.bytes);
      expect(red).toBeGreaterThan(190);
      expect(green).toBeLessThan(50);
      expect(blue).toBeLessThan(50);
      // New bytes, not the original passed through.
      expect(Buffer.from(r.bytes).equals(Buffer.from(input))).toBe(false);
    });
  }

  it('keeps an alpha channel of a PNG', async () => {
    const input = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const r = ok(await transcoder.reencode(input, 'png', limits()));
    const m = await sharp(r.bytes).metadata();
    expect(m.hasAlpha).toBe(true);
  });

  it('converts 16-bit greyscale PNG and CMYK JPEG to 8-bit sRGB', async () => {
    const grey16 = await solid(10, 10, { r: 128, g: 128, b: 128 }).toColourspace('grey16').png().toBuffer();
    const g = ok(await transcoder.reencode(grey16, 'png', limits()));
    expect(await sharp(g.bytes).metadata()).toMatchObject({ depth: 'uchar', width: 10, height: 10 });

    const cmyk = await solid(10, 10).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const c = ok(await transcoder.reencode(cmyk, 'jpeg', limits()));
    const m = await sharp(c.bytes).metadata();
    expect(m.space).toBe('srgb');
    expect(m.channels).toBe(3);
    expect(m.icc).toBeUndefined();
  });

  it('decodes a 32-bit BMP with alpha and a 1-bit BMP', async () => {
    const rgba = new Uint8Array(4 * 3 * 4).fill(200);
    const r32 = ok(await transcoder.reencode(encodeBmp({ width: 4, height: 3, channels: 4, bitsPerPixel: 32, data: rgba }), 'bmp', limits()));
    expect([r32.width, r32.height]).toEqual([4, 3]);

    const bits = new Uint8Array(5 * 2);
    bits.set([1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    const r1 = ok(await transcoder.reencode(encodeBmp({ width: 5, height: 2, channels: 1, bitsPerPixel: 1, data: bits }), 'bmp', limits()));
    const { data } = await sharp(r1.bytes).raw().toBuffer({ resolveWithObject: true });
    // 1-bit pixels become full black and white, not 0 and 1.
    expect(new Set(data)).toEqual(new Set([0, 255]));
  });
});

describe('palette BMPs keep their colours', () => {
  const pixels = async (bytes: Uint8Array) => {
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    return { at, info };
  };

  it('looks up the colours of an 8-bit (256-colour) BMP in its colour table', async () => {
    // Left half index 1 (red), right half index 2 (green); index 0 is blue.
    const bmp = paletteBmp(
      8,
      6,
      3,
      [
        [0, 0, 255],
        [255, 0, 0],
        [0, 255, 0],
      ],
      (x) => (x < 3 ? 1 : 2),
    );
    const r = ok(await transcoder.reencode(bmp, 'bmp', limits()));
    expect([r.format, r.width, r.height]).toEqual(['png', 6, 3]);
    const { at } = await pixels(r.bytes);
    expect(at(0, 0)).toEqual([255, 0, 0]);
    expect(at(2, 2)).toEqual([255, 0, 0]);
    expect(at(3, 0)).toEqual([0, 255, 0]);
    expect(at(5, 2)).toEqual([0, 255, 0]);
  });

  it('honours the colour table of a 1-bit BMP, even one that puts white first', async () => {
    const bmp = paletteBmp(
      1,
      9,
      2,
      [
        [255, 255, 255],
        [0, 0, 0],
      ],
      (x, y) => (y === 0 && x === 8 ? 1 : 0),
    );
    const r = ok(await transcoder.reencode(bmp, 'bmp', limits()));
    const { at } = await pixels(r.bytes);
    expect(at(0, 0)).toEqual([255, 255, 255]);
    expect(at(8, 0)).toEqual([0, 0, 0]);
    expect(at(8, 1)).toEqual([255, 255, 255]);
  });

  it('refuses a palette BMP whose colour table is cut off', async () => {
    const bmp = paletteBmp(
      8,
      2,
      2,
      [
        [0, 0, 255],
        [255, 0, 0],
      ],
      () => 1,
    );
    bmp.writeUInt32LE(256, 46); // claims 256 entries, has 2
    bmp.writeUInt32LE(14 + 40 + 256 * 4, 10);
    const r = await transcoder.reencode(bmp, 'bmp', limits());
    expect(r).toMatchObject({ ok: false, reason: 'undecodable' });
  });
});

describe('metadata does not survive', () => {
  const XMP =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>XMP-AUTHOR-TANAKA</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>';

  /** A JPEG with EXIF (camera make, GPS), an ICC profile, XMP and a COM segment. */
  const loadedJpeg = async (orientation?: number): Promise<Buffer> => {
    let img = solid(40, 20).withExif({
      IFD0: { Make: 'SecretCamMaker', Model: 'SecretModel-9' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '35/1 40/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '139/1 45/1 0/1', GPSMapDatum: 'GPS-DATUM-MARK' },
    });
    if (orientation) img = img.withMetadata({ orientation });
    const jpeg = await img.withIccProfile('p3').withXmp(XMP).jpeg().toBuffer();
    const comment = Buffer.from('COMMENT-SECRET-NOTE', 'latin1');
    const com = Buffer.alloc(4);
    com.writeUInt16BE(0xfffe, 0);
    com.writeUInt16BE(comment.length + 2, 2);
    return Buffer.concat([jpeg.subarray(0, 2), com, comment, jpeg.subarray(2)]);
  };

  it('drops EXIF with GPS, ICC, XMP and comments from a JPEG', async () => {
    const input = await loadedJpeg();
    const before = await sharp(input).metadata();
    // The test image really carries all of it.
    expect(before.exif).toBeDefined();
    expect(before.icc).toBeDefined();
    expect(before.xmp).toBeDefined();
    for (const s of ['SecretCamMaker', 'GPS-DATUM-MARK', 'XMP-AUTHOR-TANAKA', 'COMMENT-SECRET-NOTE', 'Exif']) expect(input.includes(s)).toBe(true);

    const r = ok(await transcoder.reencode(input, 'jpeg', limits()));
    expect(r.format).toBe('jpeg');
    const after = await sharp(r.bytes).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    const out = Buffer.from(r.bytes);
    // No COM (FF FE) segment anywhere before the scan.
    expect(out.subarray(0, out.indexOf(Buffer.from([0xff, 0xda]))).includes(Buffer.from([0xff, 0xfe]))).toBe(false);
    for (const s of ['GPS', 'SecretCamMaker', 'SecretModel', 'XMP-AUTHOR', 'COMMENT-SECRET', 'Exif', 'ICC_PROFILE', 'http://ns.adobe.com']) {
      expect(out.includes(s), s).toBe(false);
    }
  });

  it('drops eXIf, iTXt/XMP, iCCP and tEXt chunks from a PNG', async () => {
    const png = await solid(16, 16)
      .withExif({ IFD0: { Make: 'SecretCamMaker' } })
      .withIccProfile('p3')
      .withXmp(XMP)
      .png()
      .toBuffer();
    const text = pngChunk('tEXt', Buffer.from('Comment\0TEXT-CHUNK-SECRET', 'latin1'));
    const input = Buffer.concat([png.subarray(0, 33), text, png.subarray(33)]);
    const before = await sharp(input).metadata();
    expect(before.exif).toBeDefined();
    expect(before.icc).toBeDefined();
    expect(before.xmp).toBeDefined();
    expect(before.comments?.map((c) => c.text)).toContain('TEXT-CHUNK-SECRET');

    const r = ok(await transcoder.reencode(input, 'png', limits()));
    const after = await sharp(r.bytes).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.comments).toBeUndefined();
    const out = Buffer.from(r.bytes);
    for (const s of ['eXIf', 'iCCP', 'iTXt', 'tEXt', 'zTXt', 'TEXT-CHUNK-SECRET', 'SecretCamMaker']) expect(out.includes(s), s).toBe(false);
  });

  it('applies EXIF orientation 6 to the pixels: the stored 40x20 image becomes 20x40', async () => {
    const input = await loadedJpeg(6);
    const before = await sharp(input).metadata();
    expect([before.width, before.height, before.orientation]).toEqual([40, 20, 6]);
    const r = ok(await transcoder.reencode(input, 'jpeg', limits()));
    expect([r.width, r.height]).toEqual([20, 40]);
    const after = await sharp(r.bytes).metadata();
    expect([after.width, after.height]).toEqual([20, 40]);
    expect(after.orientation).toBeUndefined();
  });
});

describe('only the first frame or page crosses', () => {
  const frame = (background: typeof RED) => solid(30, 10, background).png().toBuffer();

  it('animated GIF -> one PNG frame of the first frame', async () => {
    const gif = await sharp([await frame(RED), await frame(BLUE)], { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const r = ok(await transcoder.reencode(gif, 'gif', limits()));
    expect([r.format, r.width, r.height, r.frames]).toEqual(['png', 30, 10, 1]);
    const m = await sharp(r.bytes).metadata();
    expect(m.pages).toBeUndefined();
    expect([m.width, m.height]).toEqual([30, 10]);
    const [red, , blue] = await meanRgb(r.bytes);
    expect(red).toBeGreaterThan(190);
    expect(blue).toBeLessThan(50);
  });

  it('animated WebP -> one PNG frame of the first frame', async () => {
    const webp = await sharp([await frame(RED), await frame(BLUE)], { join: { animated: true } })
      .webp({ lossless: true })
      .toBuffer();
    expect((await sharp(webp).metadata()).pages).toBe(2);
    const r = ok(await transcoder.reencode(webp, 'webp', limits()));
    expect([r.format, r.width, r.height]).toEqual(['png', 30, 10]);
    const [red, , blue] = await meanRgb(r.bytes);
    expect(red).toBeGreaterThan(190);
    expect(blue).toBeLessThan(50);
  });

  it('multi-page TIFF -> the first page only', async () => {
    const tiff = await sharp([await frame(RED), await frame(BLUE)], { join: { animated: true } })
      .tiff()
      .toBuffer();
    expect((await sharp(tiff).metadata()).pages).toBe(2);
    const r = ok(await transcoder.reencode(tiff, 'tiff', limits()));
    expect([r.format, r.width, r.height]).toEqual(['png', 30, 10]);
    const [red, , blue] = await meanRgb(r.bytes);
    expect(red).toBeGreaterThan(190);
    expect(blue).toBeLessThan(50);
  });
});

describe('hostile and broken input is refused, quickly and without a crash', () => {
  it('refuses an image over the pixel limit, for libvips formats and BMP', async () => {
    const small = limits({ maxPixels: 10_000 });
    for (const [format, bytes] of [
      ['png', await solid(200, 200).png().toBuffer()],
      ['jpeg', await solid(200, 200).jpeg().toBuffer()],
      ['gif', await solid(200, 200).gif().toBuffer()],
      ['webp', await solid(200, 200).webp().toBuffer()],
      ['tiff', await solid(200, 200).tiff().toBuffer()],
      ['bmp', bmpOf(200, 200)],
    ] as Array<[ImageFormat, Uint8Array]>) {
      const r = await transcoder.reencode(bytes, format, small);
      expect(r, format).toMatchObject({ ok: false, reason: 'too-many-pixels' });
    }
    // Exactly at the limit is fine.
    ok(await transcoder.reencode(await solid(100, 100).png().toBuffer(), 'png', small));
  });

  it('refuses a PNG whose IHDR claims 100000x100000 (valid CRC, bogus data) in well under a second', async () => {
    const bogus = Buffer.concat([PNG_SIGNATURE, ihdr(100_000, 100_000), pngChunk('IDAT', Buffer.from('not zlib data at all')), pngChunk('IEND', Buffer.alloc(0))]);
    const t0 = Date.now();
    const r = await transcoder.reencode(bogus, 'png', limits());
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(['too-many-pixels', 'undecodable']).toContain(r.reason);
  });

  it('refuses a PNG whose IHDR claims 100000x100000 followed by garbage', async () => {
    const bogus = Buffer.concat([PNG_SIGNATURE, ihdr(100_000, 100_000), Buffer.from('bogus rest of file')]);
    const t0 = Date.now();
    const r = await transcoder.reencode(bogus, 'png', limits());
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(['too-many-pixels', 'undecodable']).toContain(r.reason);
  });

  it('refuses a real PNG re-labelled with huge IHDR dimensions as too large', async () => {
    const real = await solid(8, 8).png().toBuffer();
    const patched = Buffer.concat([PNG_SIGNATURE, ihdr(20_000, 20_000), real.subarray(33)]);
    const r = await transcoder.reencode(patched, 'png', limits({ maxPixels: 1_000_000 }));
    expect(r).toMatchObject({ ok: false, reason: 'too-many-pixels' });
  });

  it('refuses a JPEG whose frame header claims 60000x60000 as too large', async () => {
    const jpeg = Buffer.from(await solid(16, 16).jpeg().toBuffer());
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    jpeg.writeUInt16BE(60_000, sof + 5);
    jpeg.writeUInt16BE(60_000, sof + 7);
    const t0 = Date.now();
    const r = await transcoder.reencode(jpeg, 'jpeg', limits());
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r).toMatchObject({ ok: false, reason: 'too-many-pixels' });
  });

  it('never allocates for a GIF logical screen of 65535x65535: the 16x16 frame is what is decoded', async () => {
    const gif = Buffer.from(await solid(16, 16).gif().toBuffer());
    gif.writeUInt16LE(65_535, 6);
    gif.writeUInt16LE(65_535, 8);
    const t0 = Date.now();
    const r = await transcoder.reencode(gif, 'gif', limits());
    expect(Date.now() - t0).toBeLessThan(2000);
    // libvips sizes a GIF by its frames, not by the screen it claims.
    expect(r).toMatchObject({ ok: true, width: 16, height: 16 });
  });

  it('refuses a BMP whose header claims huge dimensions before allocating', async () => {
    const bmp = Buffer.from(bmpOf(4, 4));
    bmp.writeInt32LE(100_000, 18);
    bmp.writeInt32LE(100_000, 22);
    const r = await transcoder.reencode(bmp, 'bmp', limits());
    expect(r).toMatchObject({ ok: false, reason: 'too-many-pixels' });
  });

  it('refuses BMP headers with negative, zero or top-down dimensions', async () => {
    for (const [w, h] of [
      [-1, 4],
      [-100_000, 100_000],
      [0, 4],
      [4, -4],
    ]) {
      const bmp = Buffer.from(bmpOf(4, 4));
      bmp.writeInt32LE(w!, 18);
      bmp.writeInt32LE(h!, 22);
      const r = await transcoder.reencode(bmp, 'bmp', limits());
      expect(r, `${w}x${h}`).toMatchObject({ ok: false, reason: 'undecodable' });
    }
  });

  it('refuses an 8-bit BMP with width -1 from its header, not after fast-bmp allocated 4 GB for it', async () => {
    // fast-bmp reads the width unsigned: -1 is 4294967295 pixels per row.
    const bmp = Buffer.from(encodeBmp({ width: 4, height: 4, channels: 1, bitsPerPixel: 8, data: new Uint8Array(16) }));
    bmp.writeInt32LE(-1, 18);
    bmp.writeInt32LE(1, 22);
    const r = await transcoder.reencode(bmp, 'bmp', limits({ maxPixels: 10_000 }));
    expect(r).toMatchObject({ ok: false, reason: 'undecodable' });
    // The refusal names the header's dimensions: it came from our check, not
    // from the decoder running off the end of the file it had allocated for.
    if (!r.ok) expect(r.detail).toContain('-1x1');
  });

  it('refuses truncated BMP, PNG, JPEG, GIF, WebP and TIFF bytes as undecodable', async () => {
    // Noise, so that each file is large enough for a cut to lose real image data.
    const noisy = () => sharp({ create: { width: 128, height: 128, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
    const half = (b: Buffer): Buffer => b.subarray(0, Math.floor(b.length / 2));
    const cases: Array<[ImageFormat, Uint8Array]> = [
      ['bmp', bmpOf(20, 20).subarray(0, 200)],
      ['bmp', bmpOf(20, 20).subarray(0, 20)],
      ['png', (await solid(64, 64).png().toBuffer()).subarray(0, 60)],
      ['png', half(await noisy().png().toBuffer())],
      ['jpeg', half(await noisy().jpeg().toBuffer())],
      ['gif', (await solid(64, 64).gif().toBuffer()).subarray(0, 30)],
      ['gif', half(await noisy().gif().toBuffer())],
      ['webp', (await solid(64, 64).webp().toBuffer()).subarray(0, 30)],
      ['webp', half(await noisy().webp().toBuffer())],
      ['tiff', (await solid(64, 64).tiff().toBuffer()).subarray(0, 100)],
      ['tiff', half(await noisy().tiff().toBuffer())],
    ];
    for (const [format, bytes] of cases) {
      const r = await transcoder.reencode(bytes, format, limits());
      expect(r, `${format} of ${bytes.length} bytes`).toMatchObject({ ok: false, reason: 'undecodable' });
    }
  });

  it('refuses garbage after a PNG signature as undecodable', async () => {
    const r = await transcoder.reencode(Buffer.concat([PNG_SIGNATURE, Buffer.from('garbage garbage garbage garbage')]), 'png', limits());
    expect(r).toMatchObject({ ok: false, reason: 'undecodable' });
  });

  it('refuses bytes that the decoder sees as another format than the one sniffed', async () => {
    const png = await solid(8, 8).png().toBuffer();
    const r = await transcoder.reencode(png, 'jpeg', limits());
    expect(r).toMatchObject({ ok: false, reason: 'undecodable' });
    if (!r.ok) expect(r.detail).toMatch(/png/);
  });

  it('gives up with a timeout when the deadline has passed', async () => {
    const png = await solid(8, 8).png().toBuffer();
    expect(await transcoder.reencode(png, 'png', limits({ deadline: Date.now() - 1 }))).toMatchObject({ ok: false, reason: 'timeout' });
    expect(await transcoder.reencode(bmpOf(8, 8), 'bmp', limits({ deadline: Date.now() - 1 }))).toMatchObject({ ok: false, reason: 'timeout' });
  });
});
