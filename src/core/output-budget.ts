// What one delivered message may carry, counted as it is produced: the body
// first, then each part in the order it is made. A part that does not fit is
// removed, and so is everything after it (the budget closes), so that a small
// message cannot grow into a huge one: a 16 KB zip became a 409 MB delivery.
// Sizes are counted as they travel, in base64 lines of 76 and a CRLF.

export interface OutputBudget {
  /** Encoded bytes still free. */
  left: number;
  /** Something did not fit: nothing more is delivered. */
  closed: boolean;
}

export const outputBudget = (maxBytes: number): OutputBudget => ({ left: maxBytes, closed: false });

/** `bytes` bytes as base64 in lines of 76 characters, each ended by CRLF. */
export const encodedSize = (bytes: number): number => {
  const chars = Math.ceil(bytes / 3) * 4;
  return chars + 2 * Math.ceil(chars / 76);
};

/** The most raw bytes that still fit, encoded. */
export const rawBytesLeft = (b: OutputBudget): number => (b.closed ? 0 : Math.max(0, Math.floor((b.left * 76) / 78 / 4) * 3 - 3));

/** Takes room for `bytes` raw bytes; when they do not fit, takes nothing and closes the budget. */
export function take(b: OutputBudget, bytes: number): boolean {
  const need = encodedSize(bytes);
  if (b.closed || need > b.left) {
    b.closed = true;
    return false;
  }
  b.left -= need;
  return true;
}

/**
 * The text, or as much of it as fits (whole characters) when it does not,
 * taking room for what is kept. `marker` ends a cut text and fits with it.
 */
export function fitText(b: OutputBudget, text: string, marker: string): { text: string; cut: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (take(b, bytes.length)) return { text, cut: false };
  const markerBytes = Buffer.byteLength(marker, 'utf8');
  let end = Math.max(0, Math.min(bytes.length, rawBytesLeftOf(b.left) - markerBytes));
  // Back to the start of a UTF-8 character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  const kept = `${bytes.subarray(0, end).toString('utf8')}${marker}`;
  b.left -= Math.min(b.left, encodedSize(Buffer.byteLength(kept, 'utf8')));
  return { text: kept, cut: true };
}

const rawBytesLeftOf = (left: number): number => rawBytesLeft({ left, closed: false });
