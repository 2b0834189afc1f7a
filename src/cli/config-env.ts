// MUGAIKA_CONFIG: the configuration file every command uses when it is given no
// --config, so that the installed `mugaika` (scripts/install.sh sets it to
// /etc/mugaika/mugaika.yaml in its wrapper) works on the service's data
// without the option on every line. Commands that take only --data-dir (queue,
// sanitize) take the data dir from that file unless MUGAIKA_DATA_DIR or
// --data-dir says otherwise.
import type { Command } from 'commander';

const hasOption = (cmd: Command, name: string): boolean => cmd.options.some((o) => o.attributeName() === name);

export function applyConfigEnv(program: Command, env: NodeJS.ProcessEnv): void {
  program.hook('preAction', async (_root, action) => {
    const file = env.MUGAIKA_CONFIG;
    if (!file) return;
    if (hasOption(action, 'config')) {
      if (action.getOptionValue('config') === undefined) action.setOptionValue('config', file);
    } else if (hasOption(action, 'dataDir') && action.getOptionValue('dataDir') === undefined && !env.MUGAIKA_DATA_DIR) {
      const { loadConfig } = await import('../config/load.js');
      action.setOptionValue('dataDir', (await loadConfig(file, env)).dataDir);
    }
  });
}
