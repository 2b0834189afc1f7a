// `mugaika serve`: run the gateway until SIGTERM or SIGINT, or until a part it
// cannot work without dies (then it stops and exits 1, to be restarted).
import { loadConfig } from '../config/load.js';
import { startGateway } from '../app/gateway.js';

export async function serve(configFile: string | undefined, dataDir?: string): Promise<void> {
  const loaded = await loadConfig(configFile, process.env);
  // --data-dir wins over the file and MUGAIKA_DATA_DIR, as for every other command.
  const config = dataDir ? { ...loaded, dataDir } : loaded;
  const gateway = await startGateway(config);
  const failure = await new Promise<Error | null>((resolve) => {
    const shutdown = (signal: string): void => {
      gateway.log.info({ signal }, 'shutdown requested');
      resolve(null);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    void gateway.died.then(resolve);
  });
  if (failure) {
    gateway.log.fatal({ err: failure.message }, 'a part the gateway cannot work without has stopped: stopping; every message stays in the spool');
    process.stderr.write(
      `mugaika: 監査ログの書き込みが止まったため、ゲートウェイを停止します。メッセージはスプールに残っています。/ the audit log stopped (${failure.message}): the gateway stops; every message stays in the spool\n`,
    );
  }
  await gateway.stop().catch((err: unknown) => gateway.log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed'));
  if (failure) process.exit(1);
}
