// `mugaika serve`: run the gateway until SIGTERM or SIGINT, or until a part it
// cannot work without dies (then it stops and exits 1, to be restarted).
import { loadConfig } from '../config/load.js';
import { startGateway } from '../app/gateway.js';

export async function serve(configFile: string | undefined, dataDir?: string): Promise<void> {
  const loaded = await loadConfig(configFile, process.env);
  // --data-dir wins over the file and MUGAIKA_DATA_DIR, as for every other command.
  const config = dataDir ? { ...loaded, dataDir } : loaded;
  // Listened for before the gateway starts: a SIGTERM that comes once the start
  // line is out but before startGateway has returned (systemd stopping a unit
  // just started) is a clean stop, not the default action's kill.
  let requested: string | null = null;
  let onSignal = (signal: string): void => {
    requested ??= signal;
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const gateway = await startGateway(config);
  const failure = await new Promise<Error | null>((resolve) => {
    onSignal = (signal: string): void => {
      gateway.log.info({ signal }, 'shutdown requested');
      resolve(null);
    };
    if (requested) onSignal(requested);
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
