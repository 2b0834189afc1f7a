// Exact-length reads from bytes that arrive in chunks, with back-pressure: the
// producer is paused while more than HIGH_WATER bytes wait unread, so the child
// blocks on its socket while the parent works and at most about one page of
// pixels is in flight.
//
// Chunks are copied as they arrive, straight into the buffer of a pending
// readInto() when there is one: the rasterizer's 6.5 MB pages go from the
// socket's read buffer into a reused page buffer with no copy in between and
// nothing allocated per chunk.
import type { Readable } from 'node:stream';

const HIGH_WATER = 1 << 20;

interface Pending {
  into: Buffer;
  n: number;
  filled: number;
  resolve: (bytes: Buffer | null) => void;
}

export class ByteReader {
  private readonly staged: Buffer[] = [];
  private stagedBytes = 0;
  private pending: Pending | null = null;
  private ended = false;
  private paused = false;

  /** `resume` restarts a producer that push() asked to pause. */
  constructor(private readonly resume: () => void = () => {}) {}

  /** A reader fed by a stream (paused and resumed as the reader needs). */
  static fromStream(stream: Readable): ByteReader {
    const reader = new ByteReader(() => stream.resume());
    stream.on('data', (chunk: Buffer) => {
      if (!reader.push(chunk)) stream.pause();
    });
    stream.on('end', () => reader.end());
    stream.on('error', () => reader.end());
    return reader;
  }

  /**
   * Takes a chunk, which need only stay valid during this call. Returns false
   * when the producer should pause until `resume` is called.
   */
  push(chunk: Uint8Array): boolean {
    let at = 0;
    const p = this.pending;
    if (p && this.stagedBytes === 0) {
      at = Math.min(chunk.length, p.n - p.filled);
      p.into.set(chunk.subarray(0, at), p.filled);
      p.filled += at;
      if (p.filled === p.n) {
        this.pending = null;
        p.resolve(p.into.subarray(0, p.n));
      }
    }
    if (at < chunk.length) {
      this.staged.push(Buffer.from(chunk.subarray(at)));
      this.stagedBytes += chunk.length - at;
    }
    this.paused = this.stagedBytes >= HIGH_WATER;
    return !this.paused;
  }

  /** No more chunks: a read that cannot be completed resolves null. */
  end(): void {
    this.ended = true;
    const p = this.pending;
    this.pending = null;
    p?.resolve(null);
  }

  /**
   * Exactly `n` bytes copied into `into` (at least `n` long), or null when the
   * input ends first. One read at a time.
   */
  readInto(into: Buffer, n: number): Promise<Buffer | null> {
    if (into.length < n) throw new RangeError(`readInto: ${n} bytes do not fit in ${into.length}`);
    if (this.pending) throw new Error('ByteReader: one read at a time');
    let filled = 0;
    while (filled < n && this.staged.length > 0) {
      const chunk = this.staged[0]!;
      const take = Math.min(chunk.length, n - filled);
      chunk.copy(into, filled, 0, take);
      filled += take;
      this.stagedBytes -= take;
      if (take === chunk.length) this.staged.shift();
      else this.staged[0] = chunk.subarray(take);
    }
    if (this.paused && this.stagedBytes < HIGH_WATER) {
      this.paused = false;
      this.resume();
    }
    if (filled === n) return Promise.resolve(into.subarray(0, n));
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.pending = { into, n, filled, resolve };
    });
  }

  /** Exactly `n` bytes in a new buffer, or null when the input ends first. */
  read(n: number): Promise<Buffer | null> {
    return this.readInto(Buffer.allocUnsafe(n), n);
  }
}
