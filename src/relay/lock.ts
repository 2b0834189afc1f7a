// One gateway per data dir: two would both sanitize and deliver the same spool
// entries. The lock is a pid file made with O_EXCL; one left by a gateway that
// died (SIGKILL, power loss) names a process that no longer runs, and is taken over.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EXIT, OperatorError } from '../model/operator-error.js';

export class DataDirInUseError extends OperatorError {
  override readonly name = 'DataDirInUseError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.usage, options);
  }
}

const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes the data dir for this process; resolves with the function that gives it back. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'gateway.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && running(holder)) {
      throw new DataDirInUseError(
        `別の mugaika ゲートウェイ (pid ${holder}) がデータフォルダー ${dataDir} を使用中です。/ Another mugaika gateway (pid ${holder}) is using the data dir ${dataDir}: stop it first, or give this one its own data dir.`,
      );
    }
    await fs.rm(file, { force: true }); // left by a gateway that is gone
  }
  throw new DataDirInUseError(`could not take ${file}: another gateway keeps creating it`);
}
