// Size and shape limits, checked before the full parse: a message that is too
// big, too deep, has too many parts or too large a header block gets a verdict
// here, so that mailparser never sees it as it is (one too deep or with too
// many parts is cut to its limits by structure.ts).
import type { Transform } from 'node:stream';
// The zone-eu fork (what mailparser itself runs on): the original mailsplit 5.4
// took 0.85 s per MB of short lines, about ten times as long.
import { Splitter, type MimeNode as SplitterNode, type SplitterChunk } from '@zone-eu/mailsplit';
import { AmbiguityLog } from './ambiguity.js';
import type { Policy } from './policy.js';
import type { FindingCode } from './findings.js';

/** `ambiguous` names what some part gives twice (see ambiguity.ts), or is null. */
export type ShapeVerdict = { ok: true; parts: number; depth: number; ambiguous: string | null } | { ok: false; code: ShapeCode; detail: string };

export type ShapeCode = Extract<FindingCode, 'message-too-large' | 'mime-too-deep' | 'too-many-parts' | 'header-too-large' | 'parse-error'>;

// RFC 5322 field names: printable ASCII but the colon.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** Whether a node's header block holds at least one field: without one, it is not an Internet message. */
export const hasHeaderFields = (node: SplitterNode): boolean => node.headers !== false && node.headers.getList().some((h) => FIELD_NAME.test(h.key));

const depthOf = (node: SplitterNode): number => {
  let depth = 0;
  for (let n: SplitterNode | false = node.parentNode; n; n = n.parentNode) depth++;
  return depth;
};

export function scanShape(raw: Uint8Array, limits: Policy['limits']): Promise<ShapeVerdict> {
  if (raw.byteLength > limits.maxMessageBytes) {
    return Promise.resolve({
      ok: false,
      code: 'message-too-large',
      detail: `${raw.byteLength} > ${limits.maxMessageBytes} bytes`,
    });
  }
  return new Promise((resolve) => {
    let parts = 0;
    let maxDepth = 0;
    let rootHasFields = false;
    let settled = false;
    const ambiguous = new AmbiguityLog();
    const splitter = new Splitter({
      maxHeadSize: limits.maxHeaderBytes,
      // Our own part limit decides; mailsplit's must never fire first.
      maxChildNodes: limits.maxParts + 10,
    });
    const finish = (verdict: ShapeVerdict): void => {
      if (settled) return;
      settled = true;
      resolve(verdict);
      if (!verdict.ok) splitter.destroy();
    };
    splitter.on('data', (chunk: SplitterChunk) => {
      if (chunk.type !== 'node') return;
      const node = chunk as SplitterNode;
      parts++;
      if (node.root) rootHasFields = hasHeaderFields(node);
      if (node.headers) ambiguous.add(node.headers.getList());
      const depth = depthOf(node);
      maxDepth = Math.max(maxDepth, depth);
      if (parts > limits.maxParts) {
        finish({ ok: false, code: 'too-many-parts', detail: `> ${limits.maxParts} parts` });
      } else if (depth > limits.maxMimeDepth) {
        finish({ ok: false, code: 'mime-too-deep', detail: `depth > ${limits.maxMimeDepth}` });
      }
    });
    // The fork's typings declare only 'data' listeners; it is a Transform all the same.
    const stream = splitter as unknown as Transform;
    stream.on('error', (err: Error & { code?: string }) => {
      if (/header size/i.test(err.message)) {
        finish({ ok: false, code: 'header-too-large', detail: `> ${limits.maxHeaderBytes} header bytes` });
      } else if (/child nodes/i.test(err.message)) {
        finish({ ok: false, code: 'too-many-parts', detail: `> ${limits.maxParts} parts` });
      } else {
        finish({ ok: false, code: 'parse-error', detail: err.message.slice(0, 200) });
      }
    });
    stream.on('end', () =>
      finish(rootHasFields ? { ok: true, parts, depth: maxDepth, ambiguous: ambiguous.detail() } : { ok: false, code: 'parse-error', detail: 'no header fields: this is not an Internet message' }),
    );
    splitter.end(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
  });
}
