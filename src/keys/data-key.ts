// Per-item data keys, wrapped (AES-256-GCM) by a master key. The wrapping is
// bound to the item id and the master key id, so a wrapped key copied to
// another row, or relabelled with another key id, does not open.
import { randomBytes } from 'node:crypto';
import { KEY_BYTES, open, OpenError, seal } from './aead.js';
import type { KeyRing } from './key-ring.js';
import { KeyError, type MasterKey } from './master-key.js';

export type DataKey = Buffer & { readonly __brand: 'DataKey' };

export const newDataKey = (): DataKey => randomBytes(KEY_BYTES) as DataKey;

const aadOf = (itemId: string, keyId: string): Buffer => Buffer.from(`mugaika/data-key/v1\0${itemId}\0${keyId}`, 'utf8');

export const wrapDataKey = (master: MasterKey, itemId: string, dataKey: DataKey): Buffer => seal(master.bytes, dataKey, aadOf(itemId, master.id));

/** Thrown when an item's data key cannot be unwrapped; the message names the key ids involved. */
export class DataKeyError extends KeyError {
  constructor(
    message: string,
    readonly itemId: string,
    readonly wantedKeyId: string,
    readonly heldKeyIds: readonly string[],
  ) {
    super(message);
  }
}

export function unwrapDataKey(ring: KeyRing, itemId: string, keyId: string, wrapped: Buffer): DataKey {
  const held = ring.ids();
  const master = ring.find(keyId);
  if (!master) {
    throw new DataKeyError(
      `${itemId} はマスター鍵 ${keyId} で暗号化されていますが、この環境の鍵は ${held.join(', ')} です。正しい鍵(keys/master.key または MUGAIKA_MASTER_KEY)を設定してください。/ ` +
        `${itemId} is sealed under master key ${keyId}, but the keys here are ${held.join(', ')}: restore keys/master.key from backup or set MUGAIKA_MASTER_KEY to the right key`,
      itemId,
      keyId,
      held,
    );
  }
  try {
    const dataKey = open(master.bytes, wrapped, aadOf(itemId, keyId));
    if (dataKey.length !== KEY_BYTES) throw new OpenError('failed-authentication');
    return dataKey as DataKey;
  } catch (err) {
    if (!(err instanceof OpenError)) throw err;
    throw new DataKeyError(
      `${itemId} のデータ鍵をマスター鍵 ${keyId} で復号できません(データベースの行が改変されています)。/ ` +
        `the data key of ${itemId} does not open with master key ${keyId}: its database row was altered (${err.reason})`,
      itemId,
      keyId,
      held,
    );
  }
}
