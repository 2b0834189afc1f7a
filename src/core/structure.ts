// What the parser is given: the message as it came, read one way. A structural
// header given twice is a finding (the first occurrence counts, see
// ambiguity.ts).
import { finding, type Finding } from './findings.js';
import type { ShapeVerdict } from './shape.js';

/** The bytes to parse and what the structure stage found; or why nothing can be parsed. */
export type StructureView = { ok: true; raw: Uint8Array; findings: Finding[] } | { ok: false; cause: Finding };

export async function structureView(raw: Uint8Array, shape: ShapeVerdict): Promise<StructureView> {
  if (!shape.ok) return { ok: false, cause: finding(shape.code, { detail: shape.detail }) };
  return { ok: true, raw, findings: shape.ambiguous === null ? [] : [finding('mime-ambiguous', { detail: shape.ambiguous })] };
}
