// A message sanitized again after a crash keeps the quarantine item its
// recorded verdict names, instead of putting its original in a second one.
import type { QuarantineId, QuarantineStore } from '../core/ports.js';

/** A quarantine that hands back the item a message already has, or keeps it in `store` when it has none. */
export const reusing = (store: QuarantineStore, id: QuarantineId | null | undefined): QuarantineStore => (id ? { put: () => Promise.resolve(id) } : store);
