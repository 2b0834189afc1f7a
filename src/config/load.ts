// Loads the gateway's configuration: defaults, then the YAML file if one is
// given, then the MUGAIKA_* environment variables on top.
import { readSettingsFile, validateDocument } from '../settings/yaml-file.js';
import { configSchema, ENV_OVERRIDES, type Config } from './schema.js';

const KIND = ['設定ファイル', 'configuration file'] as const;

type Tree = Record<string, unknown>;

function withEnv(document: Tree, env: NodeJS.ProcessEnv): Tree {
  const out: Tree = structuredClone(document);
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node = out;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Tree;
    node[path[path.length - 1]!] = value;
  }
  return out;
}

export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv): Promise<Config> {
  const fromFile: Tree = file ? await readSettingsFile(configSchema, file, KIND) : {};
  const used = Object.keys(ENV_OVERRIDES).filter((name) => env[name]);
  const source = [file ?? '(defaults)', ...used].join(' + ');
  return validateDocument(configSchema, withEnv(fromFile, env), source, KIND);
}
