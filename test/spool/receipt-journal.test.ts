// The receipt journal: what a restart reads back, many writers sharing one
// fdatasync, removals, a last line a crash cut short, and compaction.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReceiptJournal } from '../../src/spool/receipt-journal.js';
import type { QueueId, Receipt } from '../../src/spool/types.js';
import { tempDir } from '../helpers/run.js';

const receipt = (to: string): Receipt => ({ version: 1, delivered: [to], bounced: [], pending: [], unaudited: [{ event: 'delivered', queueId: 'X', to: [to] }] });
const id = (n: number): QueueId => `Q${String(n).padStart(9, '0')}` as QueueId;

async function dirs(): Promise<{ dir: string; tmp: string }> {
  const dir = tempDir('mugaika-receipts-');
  const tmp = path.join(dir, 'tmp');
  mkdirSync(tmp);
  return { dir, tmp };
}

describe('receipt journal', () => {
  it('gives back after a restart what was written and not removed', async () => {
    const { dir, tmp } = await dirs();
    const j = await openReceiptJournal(dir, tmp);
    await Promise.all(Array.from({ length: 50 }, (_, i) => j.write(id(i), receipt(`r${i}@example.jp`))));
    for (let i = 0; i < 50; i += 2) await j.remove(id(i));
    await j.close();
    const again = await openReceiptJournal(dir, tmp);
    expect(again.ids().sort()).toEqual(Array.from({ length: 25 }, (_, i) => id(2 * i + 1)));
    expect(again.read(id(7))).toEqual(receipt('r7@example.jp'));
    expect(again.read(id(8))).toBeNull();
    // Opened again, it is rewritten with the live receipts only.
    expect(readFileSync(path.join(dir, 'receipts.log'), 'utf8').trim().split('\n')).toHaveLength(25);
    await again.close();
  });

  it('ignores a last line a crash cut short', async () => {
    const { dir, tmp } = await dirs();
    const j = await openReceiptJournal(dir, tmp);
    await j.write(id(1), receipt('a@example.jp'));
    await j.close();
    appendFileSync(path.join(dir, 'receipts.log'), '{"id":"Q000000002","receipt":{"vers');
    const again = await openReceiptJournal(dir, tmp);
    expect(again.ids()).toEqual([id(1)]);
    await again.close();
  });

  it('stays small however many receipts come and go', async () => {
    const { dir, tmp } = await dirs();
    const j = await openReceiptJournal(dir, tmp);
    for (let round = 0; round < 7; round++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => j.write(id(round * 1000 + i), receipt('x@example.jp'))));
      for (let i = 0; i < 1000; i++) await j.remove(id(round * 1000 + i));
    }
    await j.write(id(99_999), receipt('last@example.jp'));
    await j.close();
    const lines = readFileSync(path.join(dir, 'receipts.log'), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(10_000);
    const again = await openReceiptJournal(dir, tmp);
    expect(again.ids()).toEqual([id(99_999)]);
    await again.close();
  });
});
