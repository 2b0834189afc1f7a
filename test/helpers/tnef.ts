// Hand-made TNEF (winmail.dat) bytes per MS-OXTNEF, for tests: Outlook's
// attribute stream with attachments named in the OEM code page (CP932).
import iconv from 'iconv-lite';

const attribute = (level: number, id: number, type: number, data: Buffer): Buffer => {
  const head = Buffer.alloc(9);
  head[0] = level;
  head.writeUInt32LE(((type << 16) | id) >>> 0, 1);
  head.writeUInt32LE(data.length, 5);
  const sum = Buffer.alloc(2);
  sum.writeUInt16LE(data.reduce((a, b) => (a + b) & 0xffff, 0));
  return Buffer.concat([head, data, sum]);
};

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** A MAPI property block holding one PT_UNICODE property. */
const unicodeProp = (id: number, text: string): Buffer => {
  const value = Buffer.from(`${text}\0`, 'utf16le');
  const pad = Buffer.alloc((4 - (value.length % 4)) % 4);
  const tag = Buffer.alloc(4);
  tag.writeUInt16LE(0x001f, 0);
  tag.writeUInt16LE(id, 2);
  return Buffer.concat([u32(1), tag, u32(1), u32(value.length), value, pad]);
};

export interface TnefSpec {
  body?: string;
  files: Array<{ title: string; data: Buffer; longName?: string }>;
}

export function tnef(spec: TnefSpec): Buffer {
  const parts: Buffer[] = [u32(0x223e9f78), Buffer.from([0x01, 0x00])];
  parts.push(attribute(1, 0x9006, 0x0008, u32(0x00010000))); // attTnefVersion
  parts.push(attribute(1, 0x9007, 0x0006, Buffer.concat([u32(932), u32(0)]))); // attOemCodepage
  if (spec.body !== undefined) parts.push(attribute(1, 0x800c, 0x0002, iconv.encode(spec.body, 'cp932'))); // attBody
  for (const f of spec.files) {
    parts.push(attribute(2, 0x9002, 0x0006, Buffer.alloc(14))); // attAttachRendData
    parts.push(attribute(2, 0x8010, 0x0001, iconv.encode(`${f.title}\0`, 'cp932'))); // attAttachTitle
    parts.push(attribute(2, 0x800f, 0x0006, f.data)); // attAttachData
    if (f.longName) parts.push(attribute(2, 0x9005, 0x0006, unicodeProp(0x3707, f.longName))); // attAttachment
  }
  return Buffer.concat(parts);
}
