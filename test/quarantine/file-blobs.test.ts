// The quarantine's folder of sealed originals, as the gateway opens it at start: a write that never finished
// (its writer killed mid-write: a crash, a kill of the process)
// leaves a temporary file; it is removed once an hour old, never younger
// (another process's write may be in progress), and finished blobs stay.
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFileBlobStore, STALE_TEMP_MS } from '../../src/quarantine/file-blobs.js';

describe('the quarantine folder', () => {
  it('removes temporary files of unfinished writes once they are an hour old, and nothing else', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mugaika-blobs-'));
    const blobs = await openFileBlobStore(dir);
    await blobs.put('Q-20261207-AAAAAAAAAA', Buffer.from('sealed'));
    const old = '.Q-20261207-BBBBBBBBBB.mgq.0123456789ab.tmp';
    const fresh = '.Q-20261207-CCCCCCCCCC.mgq.0123456789ab.tmp';
    const other = 'notes.tmp';
    for (const f of [old, fresh, other]) writeFileSync(path.join(dir, f), 'partial');
    const then = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    for (const f of [old, other]) utimesSync(path.join(dir, f), then, then);

    await openFileBlobStore(dir, { recover: true });
    expect(readdirSync(dir).sort()).toEqual([fresh, 'Q-20261207-AAAAAAAAAA.mgq', other].sort());
    // An hour later the fresh one goes too.
    await openFileBlobStore(dir, { recover: true, now: () => Date.now() + STALE_TEMP_MS + 60_000 });
    expect(readdirSync(dir).sort()).toEqual(['Q-20261207-AAAAAAAAAA.mgq', other].sort());
    expect((await blobs.get('Q-20261207-AAAAAAAAAA'))?.toString()).toBe('sealed');
  });
});
