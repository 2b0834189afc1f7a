// mailparser's `Iconv` hook: every body part with a charset label comes here.
// A label we know decodes as labelled (CP932 for Shift_JIS, CP50220 for
// ISO-2022-JP); a label nobody knows ("x-unknown", "CP51932") no longer turns
// Japanese bytes into U+FFFD: the bytes themselves say what they are.
import { Transform, type TransformCallback } from 'node:stream';
import { decodeText } from './charset.js';

export class PartDecoder extends Transform {
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly charset: string,
    _target?: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.chunks.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    const bytes = Buffer.concat(this.chunks);
    const decoded = decodeText(bytes, this.charset);
    // Undecodable bytes become U+FFFD, which the body stage reports.
    this.push(Buffer.from(decoded ? decoded.text : new TextDecoder('utf-8').decode(bytes), 'utf8'));
    done();
  }
}
