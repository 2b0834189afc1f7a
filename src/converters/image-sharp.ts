// Images are decoded to raw pixels (libvips through sharp; BMP, which libvips
// lacks, through fast-bmp) and new PNG or JPEG bytes are encoded from those
// pixels alone. Dimensions from the decoder are untrusted until checked.
import { decode as decodeBmp } from 'fast-bmp';
import sharp from 'sharp';
import type { ImageFormat, ImageLimits, ImageResult, ImageTranscoder } from '../core/ports.js';

interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

class Refused extends Error {
  constructor(
    readonly reason: 'too-many-pixels' | 'undecodable' | 'timeout',
    detail: string,
  ) {
    super(detail);
  }
}

const checkedPixels = (untrustedWidth: number, untrustedHeight: number, untrustedChannels: number, data: Uint8Array, limits: ImageLimits): Pixels => {
  if (!Number.isInteger(untrustedWidth) || !Number.isInteger(untrustedHeight) || untrustedWidth < 1 || untrustedHeight < 1) {
    throw new Refused('undecodable', `bad dimensions ${untrustedWidth}x${untrustedHeight}`);
  }
  if (untrustedWidth * untrustedHeight > limits.maxPixels) {
    throw new Refused('too-many-pixels', `${untrustedWidth}x${untrustedHeight} > ${limits.maxPixels} pixels`);
  }
  if (![1, 2, 3, 4].includes(untrustedChannels) || data.byteLength !== untrustedWidth * untrustedHeight * untrustedChannels) {
    throw new Refused('undecodable', `pixel buffer does not match ${untrustedWidth}x${untrustedHeight}x${untrustedChannels}`);
  }
  return {
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    width: untrustedWidth,
    height: untrustedHeight,
    channels: untrustedChannels as Pixels['channels'],
  };
};

const secondsLeft = (limits: ImageLimits): number => {
  const ms = limits.deadline - Date.now();
  if (ms <= 0) throw new Refused('timeout', 'no time left for this image');
  return Math.max(1, Math.ceil(ms / 1000));
};

function bmpPixels(bytes: Uint8Array, limits: ImageLimits): Pixels {
  if (bytes.byteLength < 30) throw new Refused('undecodable', 'truncated BMP header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Check the declared size before the decoder allocates for it.
  const untrustedWidth = view.getInt32(18, true);
  const untrustedHeight = view.getInt32(22, true);
  if (untrustedHeight < 0) throw new Refused('undecodable', 'top-down BMP is not supported');
  // fast-bmp reads the width as unsigned: a negative width (-1 = 0xFFFFFFFF) made
  // the product below negative, passed the limit and had it allocate up to 4 GB.
  if (untrustedWidth < 1 || untrustedHeight < 1) throw new Refused('undecodable', `bad dimensions ${untrustedWidth}x${untrustedHeight}`);
  if (untrustedWidth * untrustedHeight > limits.maxPixels) {
    throw new Refused('too-many-pixels', `${untrustedWidth}x${untrustedHeight} > ${limits.maxPixels} pixels`);
  }
  const img = decodeBmp(bytes);
  if (!(img.data instanceof Uint8Array)) throw new Refused('undecodable', 'BMP decoder returned no pixel array');
  if (img.bitsPerPixel === 1 || img.bitsPerPixel === 8) return palettePixels(bytes, view, img.bitsPerPixel, img.width, img.height, img.data, limits);
  return checkedPixels(img.width, img.height, img.channels, img.data, limits);
}

// fast-bmp returns colour-table indices for 1- and 8-bit BMPs, not colours:
// a 256-colour BMP crossed as dark grey noise (index 1 became RGB 1,1,1) and a
// 1-bit BMP with a white-then-black table crossed inverted. Look the colours up.
function palettePixels(bytes: Uint8Array, view: DataView, bits: 1 | 8, width: number, height: number, indices: Uint8Array, limits: ImageLimits): Pixels {
  const headerSize = bytes.byteLength >= 50 ? view.getUint32(14, true) : 0;
  if (headerSize < 40 || headerSize > 124) throw new Refused('undecodable', `BMP info header of ${headerSize} bytes`);
  const declared = view.getUint32(46, true);
  const entries = declared === 0 || declared > 2 ** bits ? 2 ** bits : declared;
  const table = 14 + headerSize;
  if (table + entries * 4 > bytes.byteLength) throw new Refused('undecodable', 'truncated BMP colour table');
  if (indices.byteLength !== width * height) throw new Refused('undecodable', `pixel buffer does not match ${width}x${height}`);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < indices.length; i++) {
    const idx = indices[i] ?? 0;
    if (idx >= entries) continue; // outside the table: black
    const at = table + idx * 4; // B, G, R, reserved
    rgb[i * 3] = bytes[at + 2] ?? 0;
    rgb[i * 3 + 1] = bytes[at + 1] ?? 0;
    rgb[i * 3 + 2] = bytes[at] ?? 0;
  }
  return checkedPixels(width, height, 3, rgb, limits);
}

const SHARP_FORMAT: Record<Exclude<ImageFormat, 'bmp'>, string> = { png: 'png', jpeg: 'jpeg', gif: 'gif', webp: 'webp', tiff: 'tiff' };

async function libvipsPixels(bytes: Uint8Array, format: Exclude<ImageFormat, 'bmp'>, limits: ImageLimits): Promise<Pixels> {
  const input = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1, animated: false });
  const meta = await input.metadata();
  // libvips sniffs on its own: it must agree with what file-type saw.
  if (meta.format !== SHARP_FORMAT[format]) throw new Refused('undecodable', `decoder saw ${meta.format ?? 'nothing'}, not ${format}`);
  if ((meta.width ?? 0) * (meta.height ?? 0) > limits.maxPixels) {
    throw new Refused('too-many-pixels', `${meta.width}x${meta.height} > ${limits.maxPixels} pixels`);
  }
  const { data, info } = await input
    .rotate() // apply the EXIF orientation to the pixels, since the tag will be gone
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .timeout({ seconds: secondsLeft(limits) })
    .toBuffer({ resolveWithObject: true });
  return checkedPixels(info.width, info.height, info.channels, data, limits);
}

export function createSharpTranscoder(): ImageTranscoder {
  sharp.cache(false);
  return {
    async reencode(untrustedBytes, format, limits): Promise<ImageResult> {
      try {
        const px = format === 'bmp' ? bmpPixels(untrustedBytes, limits) : await libvipsPixels(untrustedBytes, format, limits);
        const fresh = sharp(px.data, { raw: { width: px.width, height: px.height, channels: px.channels } }).timeout({
          seconds: secondsLeft(limits),
        });
        const out = format === 'jpeg' ? 'jpeg' : 'png';
        const bytes = out === 'jpeg' ? await fresh.jpeg({ quality: limits.jpegQuality }).toBuffer() : await fresh.png({ compressionLevel: 6 }).toBuffer();
        return { ok: true, format: out, bytes, width: px.width, height: px.height, frames: 1 };
      } catch (err) {
        if (err instanceof Refused) return { ok: false, reason: err.reason, detail: err.message };
        const message = err instanceof Error ? err.message : String(err);
        if (/pixel limit/i.test(message)) return { ok: false, reason: 'too-many-pixels', detail: message.slice(0, 200) };
        if (/timeout/i.test(message)) return { ok: false, reason: 'timeout', detail: message.slice(0, 200) };
        return { ok: false, reason: 'undecodable', detail: message.slice(0, 200) };
      }
    },
  };
}
