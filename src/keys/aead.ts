// AES-256-GCM sealing with a random 96-bit nonce. A sealed value is
// nonce (12) | tag (16) | ciphertext; the associated data binds it to what it
// is for (an item id, a key id) so it cannot be moved to another place.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SEAL_OVERHEAD = IV_BYTES + TAG_BYTES;

/** Why a sealed value could not be opened. */
export type OpenFailure = 'truncated' | 'failed-authentication';

export class OpenError extends Error {
  override readonly name = 'OpenError';
  constructor(readonly reason: OpenFailure) {
    super(reason === 'truncated' ? 'sealed value is truncated' : 'sealed value failed authentication (altered, or another key)');
  }
}

export function seal(key: Buffer, plaintext: Uint8Array, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Opens a sealed value whole, or throws OpenError: never returns partial plaintext. */
export function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new OpenError('truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(IV_BYTES, SEAL_OVERHEAD));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(SEAL_OVERHEAD)), decipher.final()]);
  } catch {
    throw new OpenError('failed-authentication');
  }
}
