// `mugaika serve`: run the gateway until SIGTERM or SIGINT.
import { loadConfig } from '../config/load.js';
import { startGateway } from '../relay/gateway.js';

export async function serve(configFile: string | undefined, dataDir?: string): Promise<void> {
  const loaded = await loadConfig(configFile, process.env);
  // --data-dir wins over the file and MUGAIKA_DATA_DIR, as for every other command.
  const config = dataDir ? { ...loaded, dataDir } : loaded;
  const gateway = await startGateway(config);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      gateway.log.info({ signal }, 'shutdown requested');
      gateway.stop().then(resolve, (err: unknown) => {
        gateway.log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
