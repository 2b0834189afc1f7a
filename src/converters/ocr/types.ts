// What OCR gives the text layer of a page without text: words with their boxes
// in the pixels of the page image we rendered (origin top left), the same
// coordinates the text layer is placed in. Words are text we checked (no
// controls, bounded), not yet delivered: the text layer draws them invisibly.

export interface OcrWord {
  text: string;
  /** Box in page pixels: left, top, width, height. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Tesseract's confidence, 0-100. */
  confidence: number;
  /** The line Tesseract put the word on, numbered from 0 in the order read. */
  line: number;
}

export type OcrResult =
  | { ok: true; words: OcrWord[] }
  /** timeout: killed on the document's deadline, the page stays without text. */
  | { ok: false; reason: 'timeout' | 'no-sandbox' | 'failed'; detail: string };

/** The rendered page: a PNG of `width` x `height` pixels. */
export interface OcrPage {
  png: Uint8Array;
  width: number;
  height: number;
}
