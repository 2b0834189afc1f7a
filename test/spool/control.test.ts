// The spool's control protocol: `mugaika queue` leaves requests and a rescan
// marker, a running gateway watches for the marker. The file layout is the
// one earlier versions wrote (spool/rescan, spool/control/<id>.<kind>), so a
// CLI and a gateway of different versions still understand each other.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newQueueId, openSpool } from '../../src/spool/spool.js';
import { tempDir } from '../helpers/run.js';

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await settle(10);
  }
}

describe('spool control protocol', () => {
  it('a rescan requested by one spool is seen once by the watching one, and the marker is consumed', async () => {
    const dataDir = tempDir('mugaika-control-');
    const gateway = await openSpool(dataDir, { recover: true });
    const cli = await openSpool(dataDir);
    let rescans = 0;
    const watch = gateway.watchControl(async () => {
      rescans++;
    }, 20);
    try {
      await settle(100);
      expect(rescans).toBe(0);
      const id = newQueueId();
      await cli.requestControl(id, 'bounce');
      await cli.requestRescan();
      expect(existsSync(path.join(dataDir, 'spool', 'rescan'))).toBe(true);
      await until('the rescan', () => rescans === 1);
      expect(existsSync(path.join(dataDir, 'spool', 'rescan'))).toBe(false);
      expect(await gateway.listControl()).toEqual([{ id, kind: 'bounce' }]);
      expect(readdirSync(path.join(dataDir, 'spool', 'control'))).toEqual([`${id}.bounce`]);
      await settle(100);
      expect(rescans).toBe(1);
      // A marker left the way earlier versions of `mugaika queue` did is honoured too.
      writeFileSync(path.join(dataDir, 'spool', 'rescan'), '');
      await until('the second rescan', () => rescans === 2);
    } finally {
      watch.stop();
      await gateway.close();
      await cli.close();
    }
    // Stopped: a marker is left for the next start.
    await cli.requestRescan();
    await settle(100);
    expect(rescans).toBe(2);
    expect(existsSync(path.join(dataDir, 'spool', 'rescan'))).toBe(true);
  });
});
