// One attachment: classify its bytes, decide what may cross, and build the new
// part from what we decoded. Images are rebuilt from pixels, text from decoded
// characters; everything else is removed (the original stays in quarantine).
import { classify, mismatch } from './classify.js';
import { decodeText } from './charset.js';
import { neutraliseCsv } from './csv.js';
import { finding, type AttachmentKind, type Finding } from './findings.js';
import { deliveredName, neutraliseName } from './names.js';
import type { UntrustedAttachment } from './parse.js';
import type { Policy } from './policy.js';
import type { ImageTranscoder } from './ports.js';
import { cleanText } from './text-clean.js';

export type DeliveredType = 'text/plain; charset=utf-8' | 'image/png' | 'image/jpeg';

export interface DeliveredPart {
  filename: string;
  contentType: DeliveredType;
  bytes: Uint8Array;
}

export interface AttachmentOutcome {
  /** 1-based position in the notice. */
  index: number;
  /** The neutralised original name, as shown in the notice. */
  shownName: string;
  kind: AttachmentKind;
  sniffedType: string;
  delivered: DeliveredPart | null;
  findings: Finding[];
}

export interface AttachmentContext {
  policy: Policy;
  images: ImageTranscoder;
  deadline: number;
}

type Conversion = { delivered: DeliveredPart | null; findings: Finding[] };

async function convertImage(
  att: UntrustedAttachment,
  format: NonNullable<Awaited<ReturnType<typeof classify>>['imageFormat']>,
  name: ReturnType<typeof neutraliseName>,
  ctx: AttachmentContext,
  index: number,
): Promise<Conversion> {
  const result = await ctx.images.reencode(att.bytes, format, {
    maxPixels: ctx.policy.limits.maxImagePixels,
    jpegQuality: ctx.policy.output.jpegQuality,
    deadline: ctx.deadline,
  });
  if (!result.ok) {
    const code = result.reason === 'too-many-pixels' ? 'image-too-large' : result.reason === 'timeout' ? 'timeout' : 'image-undecodable';
    return { delivered: null, findings: [finding(code, { attachment: index, detail: result.detail })] };
  }
  const ext = result.format === 'jpeg' ? 'jpg' : 'png';
  return {
    delivered: { filename: deliveredName(name, ext), contentType: `image/${result.format}`, bytes: result.bytes },
    findings: [finding('image-reencoded', { attachment: index, detail: `${format} -> ${result.format}, ${result.width}x${result.height}` })],
  };
}

function convertText(att: UntrustedAttachment, csv: boolean, name: ReturnType<typeof neutraliseName>, index: number): Conversion {
  const decoded = decodeText(att.bytes, att.declaredCharset);
  if (!decoded) return { delivered: null, findings: [finding('text-undecodable', { attachment: index })] };
  const findings = [finding('text-reencoded', { attachment: index, detail: `${decoded.charset} -> UTF-8` })];
  const cleaned = cleanText(decoded.text);
  if (cleaned.removed > 0) findings.push(finding('control-chars-removed', { attachment: index, detail: `${cleaned.removed}` }));
  let text = cleaned.text;
  if (csv) {
    const fixed = neutraliseCsv(text);
    text = fixed.text;
    if (fixed.neutralised > 0) findings.push(finding('csv-formula-neutralised', { attachment: index, detail: `${fixed.neutralised} cells` }));
  }
  return {
    delivered: { filename: deliveredName(name, 'txt'), contentType: 'text/plain; charset=utf-8', bytes: Buffer.from(text, 'utf8') },
    findings,
  };
}

export async function sanitizeAttachment(att: UntrustedAttachment, index: number, ctx: AttachmentContext): Promise<AttachmentOutcome> {
  const name = neutraliseName(att.untrustedName, `attachment-${index}`);
  const findings: Finding[] = name.findings.map((code) => finding(code, { attachment: index }));
  const what = await classify(att.bytes, att.declaredType, name.ext);
  const lie = mismatch(att.declaredType, name.ext, what);
  if (lie) findings.push(finding('type-mismatch', { attachment: index, detail: lie }));

  let conversion: Conversion;
  if (what.kind === 'image' && what.imageFormat) {
    conversion = await convertImage(att, what.imageFormat, name, ctx, index);
  } else if (what.kind === 'text' || what.kind === 'csv') {
    conversion = convertText(att, what.kind === 'csv', name, index);
  } else {
    conversion = { delivered: null, findings: [finding('attachment-removed', { attachment: index, detail: what.kind })] };
  }
  return {
    index,
    shownName: name.name,
    kind: what.kind,
    sniffedType: what.sniffedType,
    delivered: conversion.delivered,
    findings: [...findings, ...conversion.findings],
  };
}
