// Streams written into our output PDFs as bytes we made, not through pdf-lib's
// operator objects: a page's content ("q ... cm /Im Do Q", its invisible text)
// is a short string we format here, and an image is its JPEG as is. pdf-lib
// builds an object per operator and number and deflates every content stream
// with pako in JavaScript, which cost more than the text layer's own work;
// here a content stream is one string, deflated (natively) only when long.
import { deflateSync } from 'node:zlib';
import { copyStringIntoBuffer, type PDFDict, type PDFPage, PDFStream } from 'pdf-lib';

/**
 * A stream of bytes already encoded (a JPEG, /DCTDecode; a deflated content
 * stream) whose contents are copied into the output in one go: pdf-lib's
 * PDFRawStream copies them byte by byte, which made saving a 200-page
 * document take most of a second. Same bytes, same layout.
 */
export class BulkStream extends PDFStream {
  constructor(
    dict: PDFDict,
    private readonly contents: Uint8Array,
  ) {
    super(dict);
  }

  override clone(): BulkStream {
    return new BulkStream(this.dict.clone(), this.contents.slice());
  }

  override getContents(): Uint8Array {
    return this.contents;
  }

  override getContentsSize(): number {
    return this.contents.length;
  }

  override getContentsString(): string {
    return Buffer.from(this.contents).toString('latin1');
  }

  override copyBytesInto(buffer: Uint8Array, offset: number): number {
    this.updateDict();
    const start = offset;
    offset += this.dict.copyBytesInto(buffer, offset);
    offset += copyStringIntoBuffer('\nstream\n', buffer, offset);
    buffer.set(this.contents, offset);
    offset += this.contents.length;
    offset += copyStringIntoBuffer('\nendstream', buffer, offset);
    return offset - start;
  }
}

/**
 * zlib's fastest level: on a page of text-layer operators it is two to three
 * times faster than the default and the output no larger.
 */
const DEFLATE_LEVEL = 1;
/** Content streams shorter than this are stored as they are: deflating them saves a few bytes. */
const DEFLATE_FROM = 512;

/** Largest magnitude written as itself: past it a number could print with an exponent. */
const MAX_WRITTEN = 1e9;

/**
 * A number as a PDF content stream writes it: never an exponent (PDF has
 * none), at most three decimals, no trailing zeros. Callers pass finite
 * numbers of page size; anything else is written as 0 rather than as a
 * broken operand.
 */
export function pdfNumber(n: number): string {
  const rounded = Math.round(n * 1000) / 1000;
  // Rounded to thousandths, a number's shortest form has no exponent; -0 prints as 0.
  return Number.isFinite(rounded) && Math.abs(rounded) <= MAX_WRITTEN ? String(rounded + 0) : '0';
}

/** Adds `content` (PDF operators, ASCII) to the end of `page`'s content. */
export function appendContent(page: PDFPage, content: string): void {
  const { context } = page.doc;
  const bytes = Buffer.from(content, 'latin1');
  const packed = bytes.length >= DEFLATE_FROM;
  const stream = new BulkStream(context.obj(packed ? { Filter: 'FlateDecode' } : {}), packed ? deflateSync(bytes, { level: DEFLATE_LEVEL }) : bytes);
  page.node.addContentStream(context.register(stream));
}
