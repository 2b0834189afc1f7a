// Delivers into a local Maildir when no next hop is configured: the message is
// written to tmp/, fsync'd, renamed into new/ and new/ is fsync'd, so a message
// reported accepted survives a crash. One file per message, bytes untouched
// (recipients are not recorded in it: they are in the relay's transfer log).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsyncDir } from '../durable/files.js';
import type { AttemptResult, Carrier } from './types.js';

const SUBDIRS = ['tmp', 'new', 'cur'] as const;

// '/' and ':' cannot appear in a Maildir name (':' starts the info part in cur/).
const host = os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072') || 'localhost';
let deliveries = 0;

/** A name unique across processes and hosts: `<sec>.M<usec>P<pid>Q<n>R<random>.<host>`. */
export function maildirUniqueName(now = Date.now()): string {
  const sec = Math.floor(now / 1000);
  const usec = (now % 1000) * 1000 + Math.floor(Math.random() * 1000);
  deliveries += 1;
  return `${sec}.M${usec}P${process.pid}Q${deliveries}R${randomBytes(8).toString('hex')}.${host}`;
}

export function createMaildirCarrier(dir: string): Carrier {
  const root = path.resolve(dir);
  let ready: Promise<void> | null = null;

  const prepare = (): Promise<void> => {
    ready ??= (async () => {
      await fs.mkdir(root, { recursive: true, mode: 0o700 });
      for (const sub of SUBDIRS) await fs.mkdir(path.join(root, sub), { recursive: true, mode: 0o700 });
    })().catch((err: unknown) => {
      ready = null; // try again next time: the operator may have fixed it
      throw err;
    });
    return ready;
  };

  async function deliver(raw: Buffer): Promise<void> {
    await prepare();
    const name = maildirUniqueName();
    const tmp = path.join(root, 'tmp', name);
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      try {
        await handle.writeFile(raw);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, path.join(root, 'new', name));
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await fsyncDir(path.join(root, 'new'));
  }

  return {
    name: `maildir:${root}`,
    async send(envelope, raw): Promise<AttemptResult> {
      if (envelope.rcptTo.length === 0) return { accepted: [], temporary: [], permanent: [] };
      try {
        await deliver(raw);
        return { accepted: [...envelope.rcptTo], temporary: [], permanent: [] };
      } catch (err) {
        const reason = `maildir delivery failed: ${err instanceof Error ? err.message : String(err)}`;
        return { accepted: [], temporary: envelope.rcptTo.map((rcpt) => ({ rcpt, code: null, status: null, reason })), permanent: [] };
      }
    },
    async close() {},
  };
}
