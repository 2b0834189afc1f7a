// The gateway's one audit thread, appended to by other threads of the process
// through its channel (as the sanitizer workers do): one chain, durable
// answers, and a failing append's error crossing back by name.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { headFilePath } from '../../src/audit/head-file.js';
import { openAuditLogThread, type AuditLogThread } from '../../src/audit/log-thread.js';
import { loadTrust } from '../../src/audit/signer.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { openStore } from '../../src/store/open.js';
import { tempDir } from '../helpers/run.js';
import { item } from '../store/contract.js';

/** A thread that appends `n` records through the channel (compiled code in dist/), then reports its seqs or its errors' names. */
function appender(channel: string, tag: string, n: number, conflict = false): Promise<{ seqs: number[]; errors: string[] }> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(${JSON.stringify(new URL('../../dist/audit/log-thread.js', import.meta.url).href)}).then(async ({ connectAuditChannel }) => {
      const { channel, tag, n, conflict } = workerData;
      const log = connectAuditChannel(channel);
      const seqs = [], errors = [];
      const one = (i) => log.append(
        { actor: tag, action: conflict ? 'release-rejected' : 'received', object: tag + '-' + i, details: { i } },
        conflict ? { stateChanges: [{ id: 'Q-1', from: ['released'], to: 'rejected', at: new Date(), by: tag }] } : undefined,
      ).then((r) => seqs.push(r.seq), (e) => errors.push(e.name));
      await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
      await log.close();
      parentPort.postMessage({ seqs, errors });
    });
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { channel, tag, n, conflict } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

describe('audit log thread shared by the threads of a process', () => {
  let log: AuditLogThread | undefined;
  afterEach(async () => {
    await log?.close();
    log = undefined;
  });

  it('keeps one chain for appends from several threads and from its owner, each answered once durable', async () => {
    const dataDir = tempDir();
    log = await openAuditLogThread({ dataDir, shared: true });
    expect(log.channel).toMatch(/^mugaika-audit-/);
    const [a, b, own] = await Promise.all([
      appender(log.channel!, 'worker-a', 150),
      appender(log.channel!, 'worker-b', 150),
      Promise.all(Array.from({ length: 50 }, (_, i) => log!.append({ actor: 'main', action: 'received', object: `main-${i}`, details: {} }))),
    ]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    const seqs = [...a.seqs, ...b.seqs, ...own.map((r) => r.seq)].sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 350 }, (_, i) => i + 1));
    await log.close();
    log = undefined;
    const store = await openStore({ dataDir });
    try {
      expect(await verifyAudit(store, await loadTrust(dataDir), { headFile: headFilePath(dataDir) })).toMatchObject({ ok: true, records: 350 });
    } finally {
      await store.close();
    }
  });

  it('tells the appending thread why its append failed, and writes nothing of it', async () => {
    const dataDir = tempDir();
    const store = await openStore({ dataDir });
    await store.insertItem(item('Q-1'));
    log = await openAuditLogThread({ dataDir, shared: true });
    const r = await appender(log.channel!, 'worker', 3, true);
    expect(r).toEqual({ seqs: [], errors: ['StateConflictError', 'StateConflictError', 'StateConflictError'] });
    expect(await store.head()).toMatchObject({ seq: 0 });
    expect((await store.getItem('Q-1'))?.state).toBe('held');
    await store.close();
  });

  it('opens no channel unless asked to', async () => {
    log = await openAuditLogThread({ dataDir: tempDir() });
    expect(log.channel).toBeNull();
  });
});
