import { describe, expect, it } from 'vitest';
import { plain, run } from '../helpers/run.js';
import { violations } from '../helpers/conformance.js';

describe('a plain UTF-8 text message', () => {
  it('crosses clean, unchanged in content, with no quarantine', async () => {
    const o = await run(plain('こんにちは。\n会議は明日です。\n'));
    expect(o.result.action).toBe('deliver');
    expect(o.result.verdict).toBe('clean');
    expect(o.result.quarantineId).toBeNull();
    expect(o.mail?.text).toContain('こんにちは。\n会議は明日です。');
    expect(await violations(o.raw!)).toEqual([]);
  });
});
