import { describe, expect, it } from 'vitest';
import { isQuarantineId, newQuarantineId } from '../../src/quarantine/ids.js';

describe('quarantine ids', () => {
  it('carry the day of receipt in Japan, as the times shown beside them', () => {
    // 05:00 on 7 December in Japan is still 6 December in UTC.
    const id = newQuarantineId(new Date('2026-12-06T20:00:00Z'));
    expect(id).toMatch(/^Q-20261207-[A-Z2-7]{10}$/);
    expect(isQuarantineId(id)).toBe(true);
    expect(newQuarantineId(new Date('2026-12-06T14:59:59Z'))).toMatch(/^Q-20261206-/);
  });
});
