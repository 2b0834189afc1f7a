// Quarantine ids: Q-YYYYMMDD-XXXXXXXXXX, the day it was received (in Japan:
// people read the id next to times in JST) and 50 random bits (base32).
import { randomBytes } from 'node:crypto';
import { jstTable } from '../core/jst.js';
import type { QuarantineId } from '../core/ports.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ID_PATTERN = /^Q-\d{8}-[A-Z2-7]{10}$/;

export function newQuarantineId(receivedAt: Date): QuarantineId {
  const day = jstTable(receivedAt).slice(0, 10).replace(/\//g, '');
  // 256 is a multiple of 32: b % 32 is uniform.
  const rnd = [...randomBytes(10)].map((b) => BASE32[b % 32]).join('');
  return `Q-${day}-${rnd}` as QuarantineId;
}

export const isQuarantineId = (value: string): value is QuarantineId => ID_PATTERN.test(value);
