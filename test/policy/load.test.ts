import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/core/policy.js';
import { loadPolicy, PolicyError } from '../../src/policy/load.js';
import { tempDir } from '../helpers/run.js';

const write = (text: string): string => {
  const file = path.join(tempDir(), 'policy.yaml');
  writeFileSync(file, text);
  return file;
};

describe('policy files', () => {
  it('policies/default.yaml states exactly the embedded defaults', async () => {
    expect(await loadPolicy('policies/default.yaml')).toEqual(defaultPolicy);
  });

  it('no file means the embedded defaults', async () => {
    expect(await loadPolicy(undefined)).toEqual(defaultPolicy);
  });

  it('a partial file overrides only what it names', async () => {
    const p = await loadPolicy(write('language: en\nlimits:\n  maxParts: 50\n'));
    expect(p.language).toBe('en');
    expect(p.limits.maxParts).toBe(50);
    expect(p.limits.maxMimeDepth).toBe(defaultPolicy.limits.maxMimeDepth);
  });

  it('a bad enum value names the key and the allowed values, in Japanese and English', async () => {
    const err = await loadPolicy(write('actions:\n  oversize: drop\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyError);
    const msg = (err as Error).message;
    expect(msg).toContain('actions.oversize: 次のいずれかを指定してください: reject, quarantine');
    expect(msg).toContain('actions.oversize: must be one of: reject, quarantine');
  });

  it('an unknown key is refused by name', async () => {
    const msg = String(await loadPolicy(write('limits:\n  maxPart: 5\n')).catch((e: Error) => e.message));
    expect(msg).toContain('不明な設定項目です: maxPart');
    expect(msg).toContain('unknown key(s): maxPart');
  });

  it('a wrong type or an out-of-range number is refused by name', async () => {
    const msg = String(await loadPolicy(write('limits:\n  maxParts: many\n  maxMimeDepth: 0\n')).catch((e: Error) => e.message));
    expect(msg).toContain('limits.maxParts: 数値 を指定してください');
    expect(msg).toContain('limits.maxMimeDepth: must be at least');
  });

  it('broken YAML and a missing file say so', async () => {
    await expect(loadPolicy(write('limits: [\n'))).rejects.toThrow(/YAML として読めません.*not valid YAML/s);
    await expect(loadPolicy('/nonexistent/policy.yaml')).rejects.toThrow(/読めません.*Cannot read/s);
  });
});
