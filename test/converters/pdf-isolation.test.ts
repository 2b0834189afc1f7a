// The rasterizer process's fences, each shown to hold on a real process:
// deadline (SIGKILL), memory cap (RLIMIT_DATA covers WASM memory), bubblewrap
// (no network, no files beyond its own), death with the parent, and a warm
// pool of one-shot processes that leaves nothing behind when closed.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createPdfConverter } from '../../src/converters/pdf/pdf-converter.js';
import { sandboxedNodeCommand } from '../../src/converters/pdf/sandbox.js';
import type { RunnableIsolation } from '../../src/converters/isolation.js';
import { bwrapHere, NO_SANDBOX } from '../helpers/isolation.js';
import { limits, pageSizes, slowPdf, textPdf } from './pdf-samples.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isolation = await bwrapHere();

/** Pids of the rasterizer node processes (not their bubblewrap) whose argv carries `tag`. */
function rasterizers(tag: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      if (path.basename(argv[0] ?? '') === 'node' && argv.includes(`--tag=${tag}`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids.sort((a, b) => a - b);
}

async function until<T>(what: () => T, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  let v = what();
  while (!ok(v) && Date.now() < end) {
    await sleep(50);
    v = what();
  }
  return v;
}

describe('the rasterizer process', () => {
  it('is killed at the deadline: timeout, on time, and no process left', async () => {
    const tag = `t-${randomUUID()}`;
    const converter = createPdfConverter({ isolation, warm: 0, tag });
    try {
      const slow = await slowPdf(4000);
      const started = Date.now();
      const result = await converter.toImagePdf(slow, limits({ deadline: started + 1500 }));
      expect(result).toMatchObject({ ok: false, reason: 'timeout' });
      expect(Date.now() - started).toBeLessThan(2500);
      expect(
        await until(
          () => rasterizers(tag),
          (p) => p.length === 0,
        ),
      ).toEqual([]);
      // The same converter carries on.
      expect(await converter.toImagePdf(await textPdf(1), limits())).toMatchObject({ ok: true, pages: 1 });
    } finally {
      await converter.close();
    }
  });

  it('has a memory cap that holds for WASM memory: converter-failed, then the next document is fine', async () => {
    const converter = createPdfConverter({ isolation, warm: 1, memoryCapMb: 400 });
    try {
      // 14,400 pt square at 72 dpi: a 622 MB pixmap inside mupdf's WASM memory.
      const huge = await textPdf(1, [14_400, 14_400]);
      const result = await converter.toImagePdf(huge, limits({ dpi: 72, maxPixelsPerPage: 300_000_000 }));
      expect(result).toMatchObject({ ok: false, reason: 'converter-failed', detail: expect.stringMatching(/memory/) });
      const next = await converter.toImagePdf(await textPdf(2), limits());
      expect(next.ok && pageSizes(next.pdf)).toHaveLength(2);
    } finally {
      await converter.close();
    }
  });

  it('keeps one-shot processes warm, refills, and leaves none behind when closed', async () => {
    const tag = `t-${randomUUID()}`;
    const converter = createPdfConverter({ isolation, warm: 2, tag });
    const warm = await until(
      () => rasterizers(tag),
      (p) => p.length === 2,
    );
    expect(warm).toHaveLength(2);
    expect(await converter.toImagePdf(await textPdf(1), limits())).toMatchObject({ ok: true });
    const after = await until(
      () => rasterizers(tag),
      (p) => p.length === 2 && p.filter((pid) => warm.includes(pid)).length === 1,
    );
    expect(
      after.filter((pid) => warm.includes(pid)),
      'the used process is gone, the other still waits',
    ).toHaveLength(1);
    expect(after).toHaveLength(2);
    await converter.close();
    expect(rasterizers(tag)).toEqual([]);
  });

  it('dies with its parent', async () => {
    const tag = `t-${randomUUID()}`;
    const module = new URL('../../dist/converters/pdf/pdf-converter.js', import.meta.url).href;
    const parent = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createPdfConverter } from '${module}'; createPdfConverter({ isolation: ${JSON.stringify(isolation)}, warm: 2, tag: '${tag}' }); setInterval(() => {}, 1000);`,
      ],
      { stdio: 'ignore' },
    );
    try {
      expect(
        await until(
          () => rasterizers(tag),
          (p) => p.length === 2,
        ),
      ).toHaveLength(2);
    } finally {
      parent.kill('SIGKILL');
    }
    expect(
      await until(
        () => rasterizers(tag),
        (p) => p.length === 0,
        3000,
      ),
    ).toEqual([]);
  });
});

describe('the sandbox', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mugaika-sandbox-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a probe script the way the rasterizer runs, and returns what it could do. */
  async function probe(isolation: RunnableIsolation, port: number): Promise<Record<string, string>> {
    const script = path.join(dir, 'probe.mjs');
    writeFileSync(
      script,
      `import net from 'node:net'; import fs from 'node:fs';
       const tryIt = (f) => { try { f(); return 'allowed'; } catch (e) { return e.code ?? e.message; } };
       const connect = await new Promise((resolve) => { const s = net.connect(${port}, '127.0.0.1'); s.on('connect', () => { s.destroy(); resolve('allowed'); }); s.on('error', (e) => resolve(e.code)); });
       console.log(JSON.stringify({ connect, readProject: tryIt(() => fs.readFileSync(${JSON.stringify(new URL(import.meta.url).pathname)})), writeUsr: tryIt(() => fs.writeFileSync('/usr/mugaika-probe', 'x')), mupdf: tryIt(() => fs.statSync(${JSON.stringify(path.resolve('node_modules/mupdf/package.json'))})) }));`,
    );
    const cmd = sandboxedNodeCommand(script, [], { isolation, memoryCapMb: 512 });
    const { stdout } = await promisify(execFile)(cmd.file, cmd.args, { env: cmd.env });
    return JSON.parse(stdout) as Record<string, string>;
  }

  it('has no network and sees neither the project nor a writable /usr; without it the same probe can', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const inside = await probe(isolation, port);
      expect(inside).toMatchObject({ readProject: 'ENOENT', writeUsr: 'EROFS', mupdf: 'allowed' });
      expect(inside.connect).not.toBe('allowed');
      const outside = await probe(NO_SANDBOX, port);
      expect(outside).toMatchObject({ connect: 'allowed', readProject: 'allowed', mupdf: 'allowed' });
    } finally {
      server.close();
    }
  });
});
