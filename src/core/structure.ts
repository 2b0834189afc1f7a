// What the parser is given. Usually the message as it came, read one way (a
// structural header given twice is a finding; the first occurrence counts, see
// ambiguity.ts). A message over the part or depth limit is cut to what lies
// within them, in one streaming pass, before mailparser sees it: the body and
// the first parts still cross, and the notice says what did not.
import type { Transform } from 'node:stream';
import { Splitter, type MessageChunk, type MimeNode as SplitterNode, type SplitterChunk } from '@zone-eu/mailsplit';
import { AmbiguityLog } from './ambiguity.js';
import { finding, type Finding } from './findings.js';
import type { Policy } from './policy.js';
import { hasHeaderFields, type ShapeVerdict } from './shape.js';

/** The bytes to parse and what the structure stage found; or why nothing can be parsed. */
export type StructureView = { ok: true; raw: Uint8Array; findings: Finding[] } | { ok: false; cause: Finding };

/**
 * Never rejects: whatever goes wrong while cutting blocks the message with the
 * shape scan's own verdict (or `timeout` past the deadline).
 */
export async function structureView(raw: Uint8Array, shape: ShapeVerdict, limits: Policy['limits'], deadline = Infinity): Promise<StructureView> {
  if (shape.ok) return { ok: true, raw, findings: shape.ambiguous === null ? [] : [finding('mime-ambiguous', { detail: shape.ambiguous })] };
  const cause = finding(shape.code, { detail: shape.detail });
  if (shape.code !== 'too-many-parts' && shape.code !== 'mime-too-deep') return { ok: false, cause };
  const cut = await cutToLimits(raw, limits, deadline).catch((err: unknown): CutFailure => ({ ok: false, code: 'internal-error', detail: String(err).slice(0, 200) }));
  if (!cut.ok) return { ok: false, cause: cut.code === 'timeout' ? finding('timeout', { detail: cut.detail }) : cause };
  // Not even one text, HTML part or attachment within the limits: nothing to deliver.
  if (cut.leaves === 0) return { ok: false, cause };
  const findings: Finding[] = [];
  if (cut.droppedParts > 0) {
    findings.push(finding('parts-truncated', { detail: `${cut.droppedParts} of ${cut.total} parts over limits.maxParts ${limits.maxParts}`, count: cut.droppedParts }));
  }
  if (cut.droppedDeep > 0) {
    const parts = cut.droppedDeep === 1 ? 'part' : 'parts';
    findings.push(finding('depth-truncated', { detail: `${cut.droppedDeep} ${parts} holding parts deeper than limits.maxMimeDepth ${limits.maxMimeDepth}`, count: cut.droppedDeep }));
  }
  if (cut.ambiguous !== null) findings.push(finding('mime-ambiguous', { detail: cut.ambiguous }));
  return { ok: true, raw: cut.raw, findings };
}

interface CutFailure {
  ok: false;
  code: 'timeout' | 'internal-error' | 'splitter';
  detail: string;
}

type Cut = { ok: true; raw: Buffer; total: number; leaves: number; droppedParts: number; droppedDeep: number; ambiguous: string | null } | CutFailure;

/** The splitter's own members that the cut steers (declared in mailsplit's JavaScript, not in its typings). */
interface SplitterInternals {
  node: SplitterNode;
  newNode(parent?: SplitterNode | false): void;
}

// mailsplit nests an inline message/rfc822 part (7bit, 8bit or binary) as a
// message of its own; mailparser runs the splitter with these defaults.
const nestsMessage = (n: SplitterNode): boolean => n.contentType === 'message/rfc822' && (!n.encoding || ['7bit', '8bit', 'binary'].includes(n.encoding)) && n.disposition === 'inline';

type Fate = 'keep' | 'parts' | 'deep';

/**
 * One pass of mailsplit's splitter over the message, joined back as mailsplit's
 * Joiner would (a node's header bytes, then its data and body bytes as they
 * came), leaving out every node beyond the limits with its delimiter line, its
 * headers, its body and its children. Nodes are numbered in the order they
 * start; the first limits.maxParts of them are kept.
 *
 * A multipart (or nested message) at limits.maxMimeDepth would hold parts
 * deeper than allowed; it is left out as a whole and the splitter is told it
 * has no boundary, so everything in it is read as its content and never split.
 * The splitter therefore never holds more than maxMimeDepth open nodes and
 * never matches a line against more than that many boundaries, however deep
 * the message goes: the pass is linear. Memory is the output (views of the
 * input and the kept header blocks) and one pending delimiter line.
 */
function cutToLimits(raw: Uint8Array, limits: Policy['limits'], deadline: number): Promise<Cut> {
  return new Promise((resolve) => {
    const splitter = new Splitter({ maxHeadSize: limits.maxHeaderBytes, maxChildNodes: Number.MAX_SAFE_INTEGER });
    const internals = splitter as unknown as SplitterInternals;
    const depths = new WeakMap<SplitterNode, number>();
    const atLimit = new WeakSet<SplitterNode>();
    const depthOf = (n: SplitterNode): number => depths.get(n) ?? 0;
    const newNode = internals.newNode;
    internals.newNode = function (this: SplitterInternals, parent?: SplitterNode | false) {
      newNode.call(this, parent);
      const node = this.node;
      const depth = parent ? depthOf(parent) + 1 : 0;
      depths.set(node, depth);
      if (depth < limits.maxMimeDepth) return;
      const parse = node.parseHeaders.bind(node);
      node.parseHeaders = () => {
        parse();
        if (!node.multipart && !nestsMessage(node)) return;
        atLimit.add(node);
        node._boundary = false;
        if (node.contentType === 'message/rfc822') node.contentType = 'application/octet-stream';
      };
    };

    const out: Buffer[] = [];
    const fates = new WeakMap<SplitterNode, Fate>();
    const ambiguous = new AmbiguityLog();
    let total = 0;
    let kept = 0;
    let leaves = 0;
    let droppedParts = 0;
    let droppedDeep = 0;
    let rootHasFields = false;
    let chunks = 0;
    let settled = false;
    // The delimiter line that starts a node comes before the node's headers:
    // whether it is kept waits for them.
    let pending: MessageChunk | null = null;

    const decide = (node: SplitterNode): Fate => {
      let fate = fates.get(node);
      if (fate !== undefined) return fate;
      const parentFate = node.parentNode ? (fates.get(node.parentNode) ?? 'parts') : 'keep';
      if (parentFate !== 'keep') fate = parentFate;
      else if (atLimit.has(node) || depthOf(node) > limits.maxMimeDepth) fate = 'deep';
      else fate = kept < limits.maxParts ? 'keep' : 'parts';
      fates.set(node, fate);
      total++;
      if (fate === 'keep') kept++;
      else if (fate === 'parts') droppedParts++;
      // The children of a node left out for depth are never split, so never counted.
      else droppedDeep++;
      return fate;
    };
    const flushPending = (): void => {
      if (pending && decide(pending.node) === 'keep') out.push(pending.value);
      pending = null;
    };
    const finish = (cut: Cut): void => {
      if (settled) return;
      settled = true;
      resolve(cut);
      if (!cut.ok) splitter.destroy();
    };

    splitter.on('data', (chunk: SplitterChunk) => {
      if (settled) return;
      if (++chunks % 4096 === 0 && Date.now() > deadline) {
        finish({ ok: false, code: 'timeout', detail: 'cutting the message to its limits took longer than limits.timeoutMs' });
        return;
      }
      if (chunk.type === 'node') {
        const node = chunk as SplitterNode;
        if (pending && pending.node !== node) flushPending();
        if (node.root) rootHasFields = hasHeaderFields(node);
        const fate = decide(node);
        if (pending) flushPending();
        if (fate !== 'keep') return;
        out.push(node.getHeaders());
        if (node.headers) ambiguous.add(node.headers.getList());
        if (!node.multipart && !node.messageNode) leaves++;
        return;
      }
      const part = chunk as MessageChunk;
      if (!fates.has(part.node)) {
        // The first sight of a node: its delimiter line.
        flushPending();
        pending = part;
        return;
      }
      flushPending();
      if (part.value && fates.get(part.node) === 'keep') out.push(part.value);
    });
    // The fork's typings declare only 'data' listeners; it is a Transform all the same.
    const stream = splitter as unknown as Transform;
    stream.on('error', (err: Error) => finish({ ok: false, code: 'splitter', detail: err.message.slice(0, 200) }));
    stream.on('end', () => {
      flushPending();
      if (!rootHasFields) finish({ ok: false, code: 'splitter', detail: 'no header fields' });
      else finish({ ok: true, raw: Buffer.concat(out), total, leaves, droppedParts, droppedDeep, ambiguous: ambiguous.detail() });
    });
    splitter.end(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
  });
}
