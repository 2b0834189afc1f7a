// What a quarantined item seals with its data key: the original's bytes (the
// blob) and the metadata that could contain message text (subject, header
// addresses, envelope, finding details). Each is bound to the item id, and to
// its role, so that nothing sealed can be moved to another item or place.
import { open, OpenError, seal } from '../keys/aead.js';
import type { DataKey } from '../keys/data-key.js';
import type { Finding } from '../core/findings.js';
import type { QuarantineMeta } from '../core/ports.js';
import { QuarantineReadError } from './errors.js';

const BLOB_MAGIC = Buffer.from('MGQ2');
const META_MAGIC = Buffer.from('MGM1');

/** The sealed part of the metadata; receivedAt stays in the clear (the row has it). */
export type SealedMeta = Omit<QuarantineMeta, 'receivedAt'>;

const aad = (role: 'blob' | 'meta', id: string): Buffer => Buffer.from(`mugaika/${role}/v1\0${id}`, 'utf8');

export const sealBlob = (dataKey: DataKey, id: string, original: Uint8Array): Buffer => Buffer.concat([BLOB_MAGIC, seal(dataKey, original, aad('blob', id))]);

export function sealMeta(dataKey: DataKey, id: string, meta: QuarantineMeta): Buffer {
  const sealed: SealedMeta = {
    envelopeFrom: meta.envelopeFrom,
    envelopeTo: meta.envelopeTo,
    from: meta.from,
    to: meta.to,
    subject: meta.subject,
    findings: meta.findings,
    ...(meta.attachments ? { attachments: meta.attachments } : {}),
    ...(meta.approvals ? { approvals: meta.approvals } : {}),
  };
  return Buffer.concat([META_MAGIC, seal(dataKey, Buffer.from(JSON.stringify(sealed), 'utf8'), aad('meta', id))]);
}

function openWith(magic: Buffer, what: string, dataKey: DataKey, id: string, role: 'blob' | 'meta', bytes: Buffer): Buffer {
  if (bytes.length < magic.length || !bytes.subarray(0, magic.length).equals(magic)) {
    throw new QuarantineReadError(`${id} の${what}が壊れています(形式が違うか切り詰められています)。/ the ${role} of ${id} is truncated or not in the vault's format`);
  }
  try {
    return open(dataKey, bytes.subarray(magic.length), aad(role, id));
  } catch (err) {
    if (!(err instanceof OpenError)) throw err;
    const why = err.reason === 'truncated' ? ['切り詰められています', 'is truncated'] : ['改変されています(認証に失敗)', 'failed authentication: it was altered or belongs to another item'];
    throw new QuarantineReadError(`${id} の${what}が${why[0]}。/ the ${role} of ${id} ${why[1]}`);
  }
}

export const openBlob = (dataKey: DataKey, id: string, blob: Buffer): Buffer => openWith(BLOB_MAGIC, '原本', dataKey, id, 'blob', blob);

export function openMeta(dataKey: DataKey, id: string, sealed: Buffer): SealedMeta {
  const parsed = JSON.parse(openWith(META_MAGIC, 'メタデータ', dataKey, id, 'meta', sealed).toString('utf8')) as SealedMeta & { findings: Finding[] };
  return parsed;
}
