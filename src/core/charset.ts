// Text attachments arrive in whatever charset the sender's PC used: UTF-8,
// Shift_JIS (really CP932), EUC-JP, ISO-2022-JP (really CP50220), UTF-16.
// Decode by the declared charset when we know it, else by the bytes.
import Encoding from 'encoding-japanese';
import iconv from 'iconv-lite';

export interface Decoded {
  text: string;
  charset: string;
}

// Microsoft's supersets are what Japanese PCs really write: CP932 has the NEC
// and IBM extensions (①, ㈱, 髙) that strict Shift_JIS lacks.
const ALIASES: Record<string, string> = {
  shift_jis: 'cp932',
  'shift-jis': 'cp932',
  sjis: 'cp932',
  'x-sjis': 'cp932',
  ms_kanji: 'cp932',
  'windows-31j': 'cp932',
  cp932: 'cp932',
  'euc-jp': 'eucjp',
  eucjp: 'eucjp',
  'x-euc-jp': 'eucjp',
};

// The WHATWG ISO-2022-JP decoder (ICU, native) covers JIS X 0208 with the NEC
// row 13 (①, ㈱) and half-width katakana (ESC ( I), about 8x faster than
// encoding-japanese on a 10 KB body. It refuses what CP50221 mailers also write
// (JIS X 0212 via ESC $ ( D, SO/SI katakana, an escape with nothing after
// it): those bytes go to encoding-japanese, which reads them.
const nativeJis = ((): InstanceType<typeof TextDecoder> | null => {
  try {
    return new TextDecoder('iso-2022-jp', { fatal: true });
  } catch {
    return null; // a Node.js built without ICU
  }
})();

const decodeJisSlowly = (bytes: Uint8Array): string => Encoding.codeToString(Encoding.convert(Array.from(bytes), { to: 'UNICODE', from: 'JIS' }) as number[]);

const decodeJis = (bytes: Uint8Array): string => {
  if (nativeJis) {
    try {
      return nativeJis.decode(bytes);
    } catch {
      // not WHATWG ISO-2022-JP: read by the wider decoder below
    }
  }
  return decodeJisSlowly(bytes);
};

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const strictUtf8 = (bytes: Uint8Array): string | null => {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return null;
  }
};

const byName = (bytes: Uint8Array, declared: string): Decoded | null => {
  const name = declared.trim().toLowerCase();
  if (name === 'iso-2022-jp' || name === 'iso-2022-jp-1' || name === 'iso-2022-jp-2' || name === 'cp50220' || name === 'cp50221') {
    return { text: decodeJis(bytes), charset: 'ISO-2022-JP' };
  }
  const iconvName = ALIASES[name] ?? name;
  if (!iconv.encodingExists(iconvName)) return null;
  return { text: iconv.decode(Buffer.from(bytes), iconvName), charset: iconvName.toUpperCase() };
};

// ISO-2022-JP's switch into a Japanese set: ESC $ @, ESC $ B, ESC $ ( D, ESC ( I.
const JIS_SWITCH = /\x1b(?:\$[@B]|\$\(D|\(I)/;

/** 7-bit bytes that switch into JIS X 0208 are ISO-2022-JP, unless declared as something else we know. */
const isJis = (bytes: Uint8Array, declared: string | null): boolean => {
  if (bytes.indexOf(0x1b) < 0 || (declared && /^(utf-?8|us-ascii|ascii)$/i.test(declared.trim()))) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return JIS_SWITCH.test(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
};

const DETECTED: Record<string, string> = { SJIS: 'cp932', EUCJP: 'eucjp', UTF16BE: 'utf-16be', UTF16LE: 'utf-16le', UTF16: 'utf-16' };

/**
 * Decodes text bytes, or returns null when they are not text in any charset
 * we can name. A declared charset that contradicts valid UTF-8 loses to it.
 */
export function decodeText(bytes: Uint8Array, declaredCharset: string | null): Decoded | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    const t = strictUtf8(bytes.subarray(3));
    if (t !== null) return { text: t, charset: 'UTF-8' };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: iconv.decode(Buffer.from(bytes.subarray(2)), 'utf-16le'), charset: 'UTF-16LE' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: iconv.decode(Buffer.from(bytes.subarray(2)), 'utf-16be'), charset: 'UTF-16BE' };

  if (isJis(bytes, declaredCharset)) return { text: decodeJis(bytes), charset: 'ISO-2022-JP' };
  const utf8 = strictUtf8(bytes);
  // Valid UTF-8 with any non-ASCII byte is almost never another charset.
  if (utf8 !== null) return { text: utf8, charset: 'UTF-8' };
  if (declaredCharset) {
    const named = byName(bytes, declaredCharset);
    if (named) return named;
  }
  const detected = Encoding.detect(bytes);
  if (detected === 'JIS') return { text: decodeJis(bytes), charset: 'ISO-2022-JP' };
  const name = typeof detected === 'string' ? DETECTED[detected] : undefined;
  if (!name) return null;
  return { text: iconv.decode(Buffer.from(bytes), name), charset: name.toUpperCase() };
}
