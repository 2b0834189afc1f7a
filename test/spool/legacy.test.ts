// Spool files written by earlier versions, which spelled the null sender '':
// they still load, and the null sender comes out as null (the one spelling
// from the SMTP door to the next hop). Files with a sender load unchanged.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSpool } from '../../src/spool/spool.js';
import type { DeliveryState, QueueId } from '../../src/spool/types.js';
import { tempDir } from '../helpers/run.js';

const RAW = 'From: a@example.jp\r\nSubject: x\r\n\r\nbody\r\n';

function incomingFile(dataDir: string, id: string, mailFrom: string): void {
  const envelope = Buffer.from(JSON.stringify({ mailFrom, rcptTo: ['u@city.example.lg.jp'], clientAddress: '127.0.0.1', heloName: 'mx.example.jp', receivedAt: '2026-12-01T00:00:00.000Z' }));
  const dir = path.join(dataDir, 'spool', 'incoming');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${id}.msg`), Buffer.concat([Buffer.from(`MGSPOOL1 ${envelope.length}\n`), envelope, Buffer.from(`\n${RAW}`)]));
}

const oldState = (envelopeFrom: string): unknown => ({
  version: 1,
  kind: 'bounce',
  origin: 'MOLD0000000001',
  envelopeFrom,
  pending: ['a@example.jp'],
  delivered: [],
  failed: [],
  attempts: 2,
  receivedAt: '2026-12-01T00:00:00.000Z',
  nextAttemptAt: '2026-12-01T00:10:00.000Z',
  lastError: 'connection refused',
  verdict: 'bounce',
  quarantineId: null,
  unaudited: [{ event: 'bounce-delivered', queueId: 'MOLD0000000002', from: envelopeFrom, verdict: 'bounce', quarantineId: null, to: ['a@example.jp'] }],
});

function outgoingEntry(dataDir: string, id: string, envelopeFrom: string): void {
  const dir = path.join(dataDir, 'spool', 'outgoing');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${id}.eml`), RAW);
  writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(oldState(envelopeFrom)));
}

describe('spool files of earlier versions', () => {
  it("an incoming file whose envelope has the null sender as '' reads as null; an address stays", async () => {
    const dataDir = tempDir('mugaika-legacy-');
    incomingFile(dataDir, 'MOLD0000000001', '');
    incomingFile(dataDir, 'MOLD0000000003', 'a@example.jp');
    const spool = await openSpool(dataDir, { recover: true });
    const old = await spool.readIncoming('MOLD0000000001' as QueueId);
    expect(old.envelope).toEqual({ mailFrom: null, rcptTo: ['u@city.example.lg.jp'], clientAddress: '127.0.0.1', heloName: 'mx.example.jp', receivedAt: '2026-12-01T00:00:00.000Z' });
    expect(old.raw.toString()).toBe(RAW);
    expect((await spool.readIncoming('MOLD0000000003' as QueueId)).envelope.mailFrom).toBe('a@example.jp');
    await spool.close();
  });

  it("an outgoing bounce entry with envelopeFrom '' (and records waiting for the audit log) reads with null", async () => {
    const dataDir = tempDir('mugaika-legacy-');
    outgoingEntry(dataDir, 'MOLD0000000002', '');
    const spool = await openSpool(dataDir, { recover: true });
    const id = 'MOLD0000000002' as QueueId;
    expect(await spool.listOutgoing()).toEqual([id]);
    const { state, message } = await spool.readOutgoing(id);
    const expected = { ...(oldState('') as DeliveryState), envelopeFrom: null, unaudited: [{ ...(oldState('') as DeliveryState).unaudited![0]!, from: null }] };
    expect(state).toEqual(expected);
    expect(message.toString()).toBe(RAW);
    expect(await spool.readState(id)).toEqual(expected);
    await spool.close();
  });

  it("a receipt whose records carry from: '' reads with null", async () => {
    const dataDir = tempDir('mugaika-legacy-');
    incomingFile(dataDir, 'MOLD0000000004', '');
    mkdirSync(path.join(dataDir, 'spool'), { recursive: true });
    const receipt = {
      version: 1,
      delivered: ['u@city.example.lg.jp'],
      bounced: [],
      pending: [],
      unaudited: [{ event: 'delivered', queueId: 'MOLD0000000004', from: '', verdict: 'clean', quarantineId: null, to: ['u@city.example.lg.jp'] }],
    };
    writeFileSync(path.join(dataDir, 'spool', 'receipts.log'), `${JSON.stringify({ id: 'MOLD0000000004', receipt })}\n`);
    const spool = await openSpool(dataDir, { recover: true });
    expect(await spool.readReceipt('MOLD0000000004' as QueueId)).toEqual({ ...receipt, unaudited: [{ ...receipt.unaudited[0], from: null }] });
    await spool.close();
  });
});
