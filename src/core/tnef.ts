// Outlook's winmail.dat (application/ms-tnef), read per MS-OXTNEF with every
// length checked against the bytes that are there. node-tnef was not used: it
// copies the rest of the input for each attribute (quadratic), holds the input
// as a JS array of numbers, logs through bunyan on import and reads Japanese
// names as Latin-1.
import iconv from 'iconv-lite';

export interface TnefFile {
  /** The name Outlook gave, decoded; still untrusted. */
  name: string | null;
  bytes: Buffer;
}

export interface Tnef {
  files: TnefFile[];
  /** The plain-text body, when the TNEF carries one. */
  text: string | null;
  /** The HTML body, when the TNEF carries one. */
  html: string | null;
}

export class TnefError extends Error {
  override readonly name = 'TnefError';
}

const SIGNATURE = 0x223e9f78;
const LVL_MESSAGE = 1;
const LVL_ATTACHMENT = 2;
const ATT_BODY = 0x800c;
const ATT_ATTACH_DATA = 0x800f;
const ATT_ATTACH_TITLE = 0x8010;
const ATT_ATTACH_REND_DATA = 0x9002;
const ATT_MSG_PROPS = 0x9003;
const ATT_ATTACHMENT = 0x9005;
const ATT_OEM_CODEPAGE = 0x9007;

const PID_BODY = 0x1000;
const PID_BODY_HTML = 0x1013;
const PID_ATTACH_LONG_FILENAME = 0x3707;
const PID_ATTACH_FILENAME = 0x3704;
const PID_ATTACH_DATA = 0x3701;

const PT_STRING8 = 0x001e;
const PT_UNICODE = 0x001f;
const PT_BINARY = 0x0102;
const PT_OBJECT = 0x000d;
const MV_FLAG = 0x1000;
const FIXED_SIZES: Record<number, number> = { 0x0002: 4, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8, 0x000a: 4, 0x000b: 4, 0x0014: 8, 0x0040: 8, 0x0048: 16, 0x0001: 0 };

const MAX_ATTRIBUTES = 10_000;
const MAX_PROPERTIES = 10_000;

/** A bounds-checked little-endian reader. */
class Reader {
  constructor(
    private readonly b: Buffer,
    public at = 0,
  ) {}
  get left(): number {
    return this.b.length - this.at;
  }
  need(n: number): void {
    if (n < 0 || n > this.left) throw new TnefError(`truncated at byte ${this.at}: ${n} bytes needed, ${this.left} left`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.at++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.at += n;
  }
}

type PropValue = Buffer | null;

/** MAPI properties (MS-OXTNEF 2.1.3.4): the values of the ids asked for, as raw bytes. */
function mapiProps(data: Buffer, wanted: ReadonlySet<number>): Map<number, { type: number; value: PropValue }> {
  const r = new Reader(data);
  const out = new Map<number, { type: number; value: PropValue }>();
  const count = r.u32();
  if (count > MAX_PROPERTIES) throw new TnefError(`${count} MAPI properties`);
  for (let i = 0; i < count; i++) {
    const type = r.u16();
    const id = r.u16();
    if (id >= 0x8000) {
      r.skip(16); // property set GUID
      const kind = r.u32();
      if (kind === 0) r.skip(4);
      else {
        const len = r.u32();
        r.skip(len + ((4 - (len % 4)) % 4));
      }
    }
    const base = type & ~MV_FLAG;
    const multi = (type & MV_FLAG) !== 0;
    let value: PropValue = null;
    if (base === PT_STRING8 || base === PT_UNICODE || base === PT_BINARY || base === PT_OBJECT) {
      const n = r.u32();
      if (n > MAX_PROPERTIES) throw new TnefError(`${n} values in one MAPI property`);
      for (let v = 0; v < n; v++) {
        const len = r.u32();
        const bytes = r.bytes(len);
        r.skip(Math.min(r.left, (4 - (len % 4)) % 4));
        if (v === 0) value = bytes;
      }
    } else {
      const size = FIXED_SIZES[base];
      if (size === undefined) throw new TnefError(`unknown MAPI property type 0x${base.toString(16)}`);
      const n = multi ? r.u32() : 1;
      if (n > MAX_PROPERTIES) throw new TnefError(`${n} values in one MAPI property`);
      for (let v = 0; v < n; v++) r.skip(Math.max(4, size));
    }
    if (wanted.has(id)) out.set(id, { type: base, value });
  }
  return out;
}

/** MAPI strings end in NULs. A loop, not /\0+$/, which retried every run of NULs not at the end (quadratic). */
function withoutTrailingNuls(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end--;
  return text.slice(0, end);
}

const decodeString = (p: { type: number; value: PropValue } | undefined, codepage: string): string | null => {
  if (!p?.value) return null;
  return withoutTrailingNuls(p.type === PT_UNICODE ? iconv.decode(p.value, 'utf-16le') : iconv.decode(p.value, codepage));
};

/** The Windows code page Outlook wrote 8-bit strings in; Japanese Outlook writes 932. */
const codepageName = (cp: number): string => (iconv.encodingExists(`cp${cp}`) ? `cp${cp}` : cp === 65001 ? 'utf8' : 'cp932');

/** Reads a TNEF stream; throws TnefError when it is not one or is broken. */
export function readTnef(bytes: Uint8Array): Tnef {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (r.u32() !== SIGNATURE) throw new TnefError('no TNEF signature');
  r.skip(2); // legacy key
  const files: Array<{ title: Buffer | null; data: Buffer | null; props: Buffer | null }> = [];
  let codepage = 'cp932';
  let body: Buffer | null = null;
  let msgProps: Buffer | null = null;
  let count = 0;
  while (r.left > 0) {
    if (++count > MAX_ATTRIBUTES) throw new TnefError(`more than ${MAX_ATTRIBUTES} attributes`);
    const level = r.u8();
    const id = r.u32() & 0xffff;
    const len = r.u32();
    const data = r.bytes(len);
    r.skip(2); // checksum
    if (level === LVL_MESSAGE) {
      if (id === ATT_OEM_CODEPAGE && data.length >= 4) codepage = codepageName(data.readUInt32LE(0));
      else if (id === ATT_BODY) body = data;
      else if (id === ATT_MSG_PROPS) msgProps = data;
    } else if (level === LVL_ATTACHMENT) {
      if (id === ATT_ATTACH_REND_DATA) files.push({ title: null, data: null, props: null });
      const file = files[files.length - 1];
      if (!file) throw new TnefError('attachment attribute before any attachment began');
      if (id === ATT_ATTACH_TITLE) file.title = data;
      else if (id === ATT_ATTACH_DATA) file.data = data;
      else if (id === ATT_ATTACHMENT) file.props = data;
    } else {
      throw new TnefError(`attribute level ${level} at byte ${r.at}`);
    }
  }
  const wanted = new Set([PID_BODY, PID_BODY_HTML]);
  const props = msgProps ? mapiProps(msgProps, wanted) : new Map<number, { type: number; value: PropValue }>();
  const html = props.get(PID_BODY_HTML);
  return {
    text: decodeString(props.get(PID_BODY), codepage) ?? (body ? withoutTrailingNuls(iconv.decode(body, codepage)) : null),
    html: html?.value ? withoutTrailingNuls(iconv.decode(html.value, html.type === PT_UNICODE ? 'utf-16le' : codepage)) : null,
    files: files.flatMap((f) => {
      const p = f.props ? mapiProps(f.props, new Set([PID_ATTACH_LONG_FILENAME, PID_ATTACH_FILENAME, PID_ATTACH_DATA])) : new Map<number, { type: number; value: PropValue }>();
      const data = f.data ?? (p.get(PID_ATTACH_DATA)?.type === PT_BINARY ? p.get(PID_ATTACH_DATA)?.value : null);
      // An attachment without data (an embedded message, an OLE object) has nothing to sanitize as a file.
      if (!data) return [];
      const name =
        decodeString(p.get(PID_ATTACH_LONG_FILENAME), codepage) ?? decodeString(p.get(PID_ATTACH_FILENAME), codepage) ?? (f.title ? withoutTrailingNuls(iconv.decode(f.title, codepage)) : null);
      return [{ name, bytes: Buffer.from(data) }];
    }),
  };
}
