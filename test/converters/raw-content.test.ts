// Numbers as our content streams write them: PDF has no exponent form, so a
// number must never print as 1e-7 or -0, and page coordinates keep three decimals.
import { describe, expect, it } from 'vitest';
import { pdfNumber } from '../../src/converters/pdf/raw-content.js';

describe('pdfNumber', () => {
  it('writes page-sized numbers with at most three decimals and no trailing zeros', () => {
    expect([0, 1, 595.28, 841.89, -1.2344, 14_400, 1 / 3, 0.1 + 0.2, 97.5].map(pdfNumber)).toEqual(['0', '1', '595.28', '841.89', '-1.234', '14400', '0.333', '0.3', '97.5']);
  });

  it('never writes an exponent, a negative zero or a non-number', () => {
    for (const n of [1e-7, -1e-7, -0, -0.0004, 5e-324, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e22, -1e300]) {
      expect(pdfNumber(n), String(n)).toMatch(/^-?\d+(\.\d{1,3})?$/);
      expect(pdfNumber(n), String(n)).not.toBe('-0');
    }
    for (let i = 0; i < 2000; i++) {
      const n = (Math.random() - 0.5) * 10 ** (Math.floor(Math.random() * 14) - 6);
      const written = pdfNumber(n);
      expect(written).toMatch(/^-?\d+(\.\d{1,3})?$/);
      if (Math.abs(n) <= 1e9) expect(Math.abs(Number(written) - n)).toBeLessThanOrEqual(0.0005 + Math.abs(n) * 1e-12);
    }
  });
});
