// Runs the real `mugaika` binary (bin/mugaika.js on dist/) as a child process.
import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/mugaika.js');

export interface Run {
  code: number | null;
  stdout: string;
  bytes: Buffer;
  stderr: string;
}

/**
 * Runs `mugaika ARGS` asynchronously (servers the test runs live on in this
 * process) with no MUGAIKA_* from our environment; `input` goes to its
 * standard input, which is otherwise closed.
 */
export function mugaika(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MUGAIKA_')) base[k] = v;
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (input !== undefined) child.stdin?.end(input);
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolve({ code, stdout: bytes.toString('utf8'), bytes, stderr });
    }),
  );
}
