// Exact-length reads from a stream, pulling only as much as asked for: the
// child blocks on its pipe while the parent works, so at most about one page
// of pixels is in flight.
import type { Readable } from 'node:stream';

export class ByteReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly source: AsyncIterator<Buffer>;

  constructor(stream: Readable) {
    this.source = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /**
   * Exactly `n` bytes copied into `into` (at least `n` long), or null when the
   * stream ends first. For big reads: the bytes are copied once, into memory
   * the caller reuses, instead of being gathered into a new buffer.
   */
  async readInto(into: Buffer, n: number): Promise<Buffer | null> {
    if (into.length < n) throw new RangeError(`readInto: ${n} bytes do not fit in ${into.length}`);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks.shift() ?? (await this.pull());
      if (!chunk) return null;
      const take = Math.min(chunk.length, n - filled);
      chunk.copy(into, filled, 0, take);
      filled += take;
      this.buffered -= chunk.length;
      if (take < chunk.length) {
        this.chunks.unshift(chunk.subarray(take));
        this.buffered += chunk.length - take;
      }
    }
    return into.subarray(0, n);
  }

  private async pull(): Promise<Buffer | null> {
    const next = await this.source.next();
    if (next.done) return null;
    this.buffered += next.value.length;
    return next.value;
  }

  /** Exactly `n` bytes, or null when the stream ends first. */
  async read(n: number): Promise<Buffer | null> {
    while (this.buffered < n) {
      const next = await this.source.next();
      if (next.done) return null;
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    this.chunks.length = 0;
    const out = all.subarray(0, n);
    if (all.length > n) this.chunks.push(all.subarray(n));
    this.buffered -= n;
    return out;
  }
}
