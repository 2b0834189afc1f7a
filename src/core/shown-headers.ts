// The header fields a blocked message's notice shows (From, To, Cc, Subject,
// Date, Message-ID, and the thread: In-Reply-To, References, Reply-To), cut out of the original's header block into a small one
// of their own. A blocked message may be blocked because its header is
// hostile, and its notice is sometimes built on the relay's main thread,
// where nothing can interrupt a parser: whatever the parser does with it,
// this block is a few KiB. Found in one pass over at most maxHeaderBytes.

const SHOWN = new Set(['from', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to', 'references', 'reply-to']);
// Cut after a whole item: an address list after its last comma, References after its last whole id.
const ADDRESS_FIELDS = new Set(['from', 'to', 'cc', 'reply-to']);

/** Bytes kept of one field, folded lines included; an address list is cut after its last whole address. */
export const MAX_SHOWN_FIELD_BYTES = 4096;

/** The end of a line starting at `at`, and where the next one starts. */
const lineEnd = (b: Buffer, at: number, end: number): { stop: number; next: number } => {
  const lf = b.indexOf(0x0a, at);
  if (lf < 0 || lf >= end) return { stop: end, next: end };
  return { stop: lf > at && b[lf - 1] === 0x0d ? lf - 1 : lf, next: lf + 1 };
};

function cut(field: Buffer, name: string): Buffer {
  if (field.length <= MAX_SHOWN_FIELD_BYTES) return field;
  const head = field.subarray(0, MAX_SHOWN_FIELD_BYTES);
  if (name === 'references' || name === 'in-reply-to') {
    const close = head.lastIndexOf(0x3e);
    return close > name.length ? head.subarray(0, close + 1) : head;
  }
  if (!ADDRESS_FIELDS.has(name)) return head;
  const comma = head.lastIndexOf(0x2c);
  return comma > name.length ? head.subarray(0, comma) : head;
}

/**
 * The first occurrence of each shown field in the top-level header block
 * (within `maxBytes`), each cut to MAX_SHOWN_FIELD_BYTES, ending with the
 * blank line: a header block of its own.
 */
export function shownHeaderBlock(raw: Uint8Array, maxBytes: number): Buffer {
  const b = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, maxBytes));
  const kept = new Map<string, Buffer>();
  let at = 0;
  while (at < b.length) {
    const { stop, next } = lineEnd(b, at, b.length);
    if (stop === at) break; // the blank line: the header block ends
    // A field: its first line and the folded lines that continue it.
    let end = next;
    let fieldStop = stop;
    while (end < b.length && (b[end] === 0x20 || b[end] === 0x09)) {
      const more = lineEnd(b, end, b.length);
      fieldStop = more.stop;
      end = more.next;
    }
    const colon = b.indexOf(0x3a, at);
    if (colon > at && colon < stop) {
      const name = b
        .toString('latin1', at, Math.min(colon, at + 32))
        .trim()
        .toLowerCase();
      if (SHOWN.has(name) && !kept.has(name)) kept.set(name, cut(b.subarray(at, fieldStop), name));
    }
    at = end;
  }
  const crlf = Buffer.from('\r\n');
  return Buffer.concat([...[...kept.values()].flatMap((f) => [f, crlf]), crlf]);
}
