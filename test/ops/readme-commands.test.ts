// The commands README.md and README.ja.md show, typed as a newcomer types them,
// in a scratch copy of this checkout (every top-level entry linked, so that
// data/ is the scratch's own): `npm start` on the embedded defaults (listening
// on 127.0.0.1:2525 and :8025, its first log line naming the console and how to
// make the first administrator), the "Try it" commands against it, and
// `mugaika --version` with the checkout's bin/ on PATH. `npm ci` in front of
// `npm start` is not run (the suite runs on the installed node_modules, which
// it would replace), nor is `npm test` (it would run this very suite).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** The commands of every ```sh block, continuation lines joined, comments and blank lines dropped. */
function shellBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]!
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.replace(/\s+#\s.*$/, '').trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

const readme = (name: string) => shellBlocks(readFileSync(path.join(REPO, name), 'utf8'));
const blockWith = (blocks: string[][], needle: string): string[] => {
  const found = blocks.find((b) => b.some((l) => l.includes(needle)));
  if (!found) throw new Error(`no sh block with "${needle}"`);
  return found;
};

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** The SMTP greeting on 127.0.0.1:port. */
const greeting = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('data', (d) => {
      c.end('QUIT\r\n');
      resolve(d.toString());
    });
    c.once('error', reject);
  });

/** A newcomer's shell: nothing of mugaika's set in its environment. */
const newcomerEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MUGAIKA_')));
const bash = (cwd: string, line: string) => spawnSync('bash', ['-c', line], { cwd, encoding: 'utf8', timeout: 120_000, env: newcomerEnv() });

describe.each(['README.md', 'README.ja.md'])('the commands in %s, as written', (name) => {
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'mugaika-readme-'));
    for (const e of readdirSync(REPO)) if (!['data', 'out', '.git'].includes(e)) symlinkSync(path.join(REPO, e), path.join(scratch, e));
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('has the same two commands first: install and start, install and test', () => {
    expect(readme(name)[0]).toEqual(['npm ci && npm start', 'npm ci && npm test']);
  });

  it('mugaika --version, with the checkout on PATH', () => {
    const block = blockWith(readme(name), 'mugaika --version');
    const r = bash(scratch, block.join('\n'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`mugaika ${VERSION}`);
  });

  it('npm start: the gateway on 127.0.0.1 on its embedded defaults, saying where the console is and how to make an administrator', async () => {
    const line = readme(name)[0]!.find((l) => l.includes('npm start'))!;
    const [install, start] = line.split('&&').map((s) => s.trim());
    expect(install).toBe('npm ci');
    for (const port of [2525, 8025]) expect(await portFree(port), `127.0.0.1:${port} is taken by another program: stop it to run this test`).toBe(true);

    const child = spawn('bash', ['-c', start!], { cwd: scratch, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: newcomerEnv() });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const logs: Array<Record<string, unknown>> = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // npm prints its own lines first; the gateway's first JSON line is the one that matters.
      const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (l) => {
          if (!l.startsWith('{')) return;
          logs.push(JSON.parse(l) as Record<string, unknown>);
          resolve(logs[0]!);
        });
        void exited.then((code) => reject(new Error(`npm start exited (${code}): ${stderr}`)));
      });
      expect(first).toMatchObject({ console: 'http://127.0.0.1:8025/', smtp: '127.0.0.1:2525', web: '127.0.0.1:8025', dataDir: path.join(scratch, 'data'), version: VERSION });
      expect(first.msg).toBe('mugaika gateway started');
      // The console and the hint come first in the line, as a person reading the journal sees it.
      expect(Object.keys(first).slice(3, 6)).toEqual(['console', 'firstAdmin', 'smtp']);
      expect(first.firstAdmin).toContain('mugaika user add');
      expect(await greeting(2525)).toMatch(/^220 /);

      // "Try it": each line as typed; after a mail is sent, the newcomer waits for it to arrive.
      {
        for (const cmd of blockWith(readme(name), 'samples/02-html-newsletter.eml')) {
          const r = bash(scratch, cmd);
          expect(r.status, `${cmd}\n${r.stderr}`).toBe(0);
          if (cmd.startsWith('curl smtp:')) {
            const arrived = path.join(scratch, 'data/maildir/new');
            for (let i = 0; i < 300 && !(existsSync(arrived) && readdirSync(arrived).length > 0); i++) await new Promise((res) => setTimeout(res, 100));
          }
          // The sample's original, kept in the scratch's data/: the commands look where the gateway writes.
          if (cmd.includes('quarantine list')) expect(r.stdout).toMatch(/^Q-\d{8}-[A-Z0-9]{10} /m);
          if (cmd.includes('audit search')) expect(r.stdout).toMatch(/delivered/);
          if (cmd.includes('/healthz')) expect(r.stdout).toMatch(/mugaika_messages/);
        }
      }
    } finally {
      // Ctrl-C, as the README says.
      process.kill(-child.pid!, 'SIGINT');
    }
    await exited;
    // It stopped as SIGTERM or Ctrl-C stops it, and let go of its ports.
    expect(logs.map((l) => l.msg)).toContain('stopped');
    expect(await portFree(2525)).toBe(true);
  });
});
