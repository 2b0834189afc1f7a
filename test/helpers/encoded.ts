// Files encoded as text, the way old and current tools write them, for tests:
// uuencode (GNU sharutils / Python's uu with backquotes), its base64 variant,
// yEnc 1.3 and BinHex 4.0 (RFC 1741); and a uudecoder to check what a mail
// client would still find in a text.

/** A small Windows executable: "MZ", a PE header offset, "PE\0\0", padding. */
export const EXE = Buffer.concat([
  Buffer.from('MZ'),
  Buffer.alloc(58),
  Buffer.from([0x80, 0, 0, 0]),
  Buffer.alloc(64, 0x90),
  Buffer.from('PE\0\0'),
  Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff)),
]);

const uuChar = (n: number): string => (n === 0 ? '`' : String.fromCharCode(32 + n));

/** "begin 644 name", lines of 45 bytes, "`", "end". */
export function uuencode(data: Uint8Array, name: string, mode = '644'): string {
  const lines = [`begin ${mode} ${name}`];
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45);
    let line = uuChar(chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const [a = 0, b = 0, c = 0] = [chunk[j], chunk[j + 1], chunk[j + 2]];
      line += uuChar(a >> 2) + uuChar(((a << 4) | (b >> 4)) & 63) + uuChar(((b << 2) | (c >> 6)) & 63) + uuChar(c & 63);
    }
    lines.push(line);
  }
  lines.push('`', 'end');
  return lines.join('\n');
}

/** Every file a uudecoder finds in `text` (begin … end), decoded. */
export function uudecodeAll(text: string): Buffer[] {
  const files: Buffer[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (!/^begin [0-7]+ \S/.test(lines[i]!)) continue;
    const bytes: number[] = [];
    for (i++; i < lines.length && lines[i] !== 'end' && lines[i] !== '`'; i++) {
      const line = lines[i]!;
      const n = (line.charCodeAt(0) - 32) & 63;
      const v = (k: number): number => ((line.charCodeAt(k) || 32) - 32) & 63;
      const out: number[] = [];
      for (let k = 1; out.length < n; k += 4) out.push(((v(k) << 2) | (v(k + 1) >> 4)) & 255, ((v(k + 1) << 4) | (v(k + 2) >> 2)) & 255, ((v(k + 2) << 6) | v(k + 3)) & 255);
      bytes.push(...out.slice(0, n));
    }
    files.push(Buffer.from(bytes));
  }
  return files;
}

/** GNU "uuencode -m": "begin-base64 644 name", base64 lines, "====". */
export const beginBase64 = (data: Uint8Array, name: string): string =>
  [
    `begin-base64 644 ${name}`,
    ...(Buffer.from(data)
      .toString('base64')
      .match(/.{1,60}/g) ?? []),
    '====',
  ].join('\n');

/** yEnc 1.3: raw 8-bit lines of 128, critical characters escaped. */
export function yencode(data: Uint8Array, name: string): Buffer {
  const out: number[] = [...Buffer.from(`=ybegin line=128 size=${data.length} name=${name}\r\n`, 'latin1')];
  let col = 0;
  for (const byte of data) {
    const c = (byte + 42) & 255;
    if (c === 0 || c === 10 || c === 13 || c === 61) {
      out.push(61, (c + 64) & 255);
      col += 2;
    } else {
      out.push(c);
      col++;
    }
    if (col >= 128) {
      out.push(13, 10);
      col = 0;
    }
  }
  out.push(...Buffer.from(`\r\n=yend size=${data.length}\r\n`, 'latin1'));
  return Buffer.from(out);
}

const BINHEX_ALPHABET = '!"#$%&\'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr';

/** CRC-16/XMODEM, which is BinHex's CRC. */
const crc16 = (bytes: Uint8Array): number => {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
};

const withCrc = (bytes: Buffer): Buffer => {
  const crc = Buffer.alloc(2);
  crc.writeUInt16BE(crc16(bytes));
  return Buffer.concat([bytes, crc]);
};

/** BinHex 4.0 (RFC 1741): header, data fork and an empty resource fork, each with its CRC; 0x90 escaped; 64-character lines between colons. */
export function binhex(data: Uint8Array, name: string): string {
  const n = Buffer.from(name, 'latin1');
  const tail = Buffer.alloc(1 + 4 + 4 + 2 + 4 + 4);
  tail.write('APPL', 1, 'latin1');
  tail.write('????', 5, 'latin1');
  tail.writeUInt32BE(data.length, 11);
  const raw = Buffer.concat([withCrc(Buffer.concat([Buffer.from([n.length]), n, tail])), withCrc(Buffer.from(data)), withCrc(Buffer.alloc(0))]);
  const rle: number[] = [];
  for (const b of raw) rle.push(...(b === 0x90 ? [0x90, 0x00] : [b]));
  let chars = '';
  for (let i = 0; i < rle.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [rle[i], rle[i + 1], rle[i + 2]];
    const left = rle.length - i;
    const group = [a >> 2, ((a << 4) | (b >> 4)) & 63, ((b << 2) | (c >> 6)) & 63, c & 63].slice(0, left >= 3 ? 4 : left + 1);
    chars += group.map((v) => BINHEX_ALPHABET[v]).join('');
  }
  const body = `:${chars}:`;
  return ['(This file must be converted with BinHex 4.0)', '', ...(body.match(/.{1,64}/g) ?? [])].join('\n');
}
