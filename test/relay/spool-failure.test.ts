// The spool cannot take the message: the answer is 451 (try later), never 250.
// Root ignores permissions, so the failure is made for real: spool/tmp becomes a
// regular file (ENOTDIR), or the data dir sits on a tiny tmpfs that is full (ENOSPC).
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/run.js';
import { cleanup, client, http, message, metric, spoolFiles, startGateway, startSink, token, waitFor } from './harness.js';

afterEach(cleanup);

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) {
    spawnSync('umount', ['-l', m]);
    rmSync(m, { recursive: true, force: true });
  }
});

/** A fresh tmpfs of `size` bytes, or null where mounting is not allowed (not root, no CAP_SYS_ADMIN). */
function tinyTmpfs(size: number): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = tempDir('mugaika-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  if (r.status !== 0) return null;
  mounts.push(dir);
  return dir;
}

describe('mugaika serve: spool write failure', () => {
  it('answers 451 while spool/tmp is unusable and 250 again once it is back', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `127.0.0.1:${sink.port}` });
    const c = client(gw.smtpPort);
    const tmp = path.join(gw.dataDir, 'spool', 'tmp');
    rmSync(tmp, { recursive: true });
    writeFileSync(tmp, 'not a folder');

    const r = await c.send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(token()));
    expect(r, r.response).toMatchObject({ ok: false, code: 451 });
    expect(r.response).toMatch(/^451 4\.3\.0 /);
    expect(spoolFiles(gw.dataDir).incoming).toEqual([]);
    // The monitor sees it too.
    expect((await http(gw.webPort, '/healthz')).status).toBe(503);
    expect(metric((await http(gw.webPort, '/metrics')).body, 'mugaika_smtp_refused_total', '{reason="spool"}')).toBe(1);

    rmSync(tmp);
    mkdirSync(tmp, { mode: 0o700 });
    const tok = token();
    const ok = await c.send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(tok));
    expect(ok, ok.response).toMatchObject({ ok: true, code: 250 });
    await waitFor('delivery', () => sink.withToken(tok).length === 1);
    expect((await http(gw.webPort, '/healthz')).status).toBe(200);
  });

  it('answers 451 when spool/incoming is gone, and recovers', async () => {
    const gw = await startGateway();
    const c = client(gw.smtpPort);
    const incoming = path.join(gw.dataDir, 'spool', 'incoming');
    renameSync(incoming, `${incoming}.away`);
    writeFileSync(incoming, '');
    const r = await c.send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(token()));
    expect(r).toMatchObject({ ok: false, code: 451 });
    expect(spoolFiles(gw.dataDir).tmp).toEqual([]);
    rmSync(incoming);
    renameSync(`${incoming}.away`, incoming);
    const ok = await c.send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(token()));
    expect(ok, ok.response).toMatchObject({ ok: true, code: 250 });
  });

  it('answers 451 when the disk is full (tmpfs), and 250 once there is room', async ({ skip }) => {
    const mount = tinyTmpfs(4 * 1024 * 1024);
    if (!mount) return skip();
    const sink = await startSink();
    const gw = await startGateway({ dataDir: path.join(mount, 'data'), nextHop: `127.0.0.1:${sink.port}` });
    const c = client(gw.smtpPort);
    // Fill the disk: what is left cannot take a 200 KB message.
    const filler = path.join(mount, 'filler');
    let n = 0;
    for (const size of [1024 * 1024, 64 * 1024, 4096]) {
      try {
        for (;;) writeFileSync(`${filler}.${n++}`, Buffer.alloc(size));
      } catch {
        // full at this granularity
      }
    }
    const r = await c.send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(token(), { bodyBytes: 200_000 }));
    expect(r, r.response).toMatchObject({ ok: false, code: 451 });
    expect(spoolFiles(gw.dataDir)).toMatchObject({ incoming: [], tmp: [] });

    for (let i = 0; i < n; i++) rmSync(`${filler}.${i}`, { force: true });
    const tok = token();
    const ok = await c.send({ from: 'a@example.com', to: ['u@city.example.lg.jp'] }, message(tok, { bodyBytes: 200_000 }));
    expect(ok, ok.response).toMatchObject({ ok: true, code: 250 });
    await waitFor('delivery', () => sink.withToken(tok).length === 1, 15_000);
  });
});
