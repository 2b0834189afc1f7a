// Loads the sanitization policy: a YAML file under policies/, or the embedded defaults.
import { defaultPolicy, policySchema, type Policy } from '../core/policy.js';
import { readSettingsFile } from '../settings/yaml-file.js';

export { SettingsError as PolicyError } from '../settings/yaml-file.js';

const KIND = ['ポリシーファイル', 'policy file'] as const;

export async function loadPolicy(file: string | undefined): Promise<Policy> {
  return file ? readSettingsFile(policySchema, file, KIND) : defaultPolicy;
}
