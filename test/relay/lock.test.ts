// One gateway per data dir: a second is refused while the first runs; a lock
// left by a gateway that died is taken over.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, cli, startGateway } from './harness.js';

afterEach(cleanup);

describe('the data dir lock', () => {
  it('refuses a second gateway on the same data dir, naming the first', async () => {
    const first = await startGateway();
    const pid = Number(readFileSync(path.join(first.dataDir, 'gateway.pid'), 'utf8'));
    expect(pid).toBe(first.proc.pid);
    const second = await cli(['serve', '--config', first.configFile], { MUGAIKA_DATA_DIR: first.dataDir });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`Another mugaika gateway (pid ${pid}) is using the data dir`);
    await first.stop();
    expect(existsSync(path.join(first.dataDir, 'gateway.pid'))).toBe(false);
  });

  it('serve --data-dir names the data dir over MUGAIKA_DATA_DIR', async () => {
    const first = await startGateway();
    // Pointed at the running gateway's data dir by --data-dir (the environment says elsewhere): refused.
    const second = await cli(['serve', '--config', first.configFile, '--data-dir', first.dataDir], { MUGAIKA_DATA_DIR: path.join(first.dataDir, 'elsewhere') });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('Another mugaika gateway');
  });

  it('takes over a lock whose gateway is gone', async () => {
    const first = await startGateway();
    await first.stop();
    // A pid that surely no longer runs: a process that has just exited.
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));
    writeFileSync(path.join(first.dataDir, 'gateway.pid'), `${dead}\n`);
    const again = await startGateway({ dataDir: first.dataDir });
    expect(Number(readFileSync(path.join(first.dataDir, 'gateway.pid'), 'utf8'))).toBe(again.proc.pid);
  });
});
