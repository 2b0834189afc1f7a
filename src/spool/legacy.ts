// What the spool reads from disk, as today's types: files written by earlier
// versions spelled the null sender '' (in an incoming file's envelope, in an
// outgoing entry's state and in the transfer records waiting in either); it
// is null now. Converted here, where the files are read, and nowhere else.
import type { ReceivedEnvelope } from '../model/envelope.js';
import type { DeliveryState, Receipt, TransferRecord } from './types.js';

const sender = (from: string | null | undefined): string | null => (from === '' || from === undefined ? null : from);

const record = (r: TransferRecord): TransferRecord => (r.from === '' ? { ...r, from: null } : r);

export const envelopeFromDisk = (e: ReceivedEnvelope): ReceivedEnvelope => ({ ...e, mailFrom: sender(e.mailFrom) });

export function stateFromDisk(s: DeliveryState): DeliveryState {
  const state: DeliveryState = { ...s, envelopeFrom: sender(s.envelopeFrom) };
  if (s.unaudited) state.unaudited = s.unaudited.map(record);
  return state;
}

export const receiptFromDisk = (r: Receipt): Receipt => ({ ...r, unaudited: r.unaudited.map(record) });
