// The parts of sign-in on their own: the address throttle and the per-name
// queue, the failure records' budget, the timing floor, the password thread's
// bounded queue, TOTP codes and recovery codes at fixed times, and key
// rotation re-sealing TOTP secrets.
import { describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { openKeyRing } from '../../src/keys/key-ring.js';
import { rotateMasterKey } from '../../src/keys/rotate.js';
import type { AuditEntry } from '../../src/store/types.js';
import { createFailureAudit } from '../../src/users/failure-audit.js';
import { createFailureTiming } from '../../src/users/failure-timing.js';
import { PasswordQueueFullError, startPasswordWorker } from '../../src/users/password-worker.js';
import { addressKey, createLoginThrottle } from '../../src/users/throttle.js';
import { checkTotpCode, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, openTotpSecret, sealTotpSecret, totpCodeAt } from '../../src/users/totp.js';
import { sqliteBackend } from '../store/backends.js';
import { user } from '../store/contract.js';

describe('address throttle', () => {
  it('counts IPv4 as is, IPv4-mapped as IPv4, and IPv6 by its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('lets `addressFailures` through in a window, then drains them back one by one', () => {
    let t = 0;
    const th = createLoginThrottle({ addressFailures: 4, windowMinutes: 4 }, () => t);
    for (let i = 0; i < 4; i++) {
      expect(th.retryAfter('192.0.2.7')).toBe(0);
      th.failed('192.0.2.7');
    }
    expect(th.retryAfter('192.0.2.7')).toBe(60);
    expect(th.retryAfter('192.0.2.8')).toBe(0);
    t += 60_000;
    expect(th.retryAfter('192.0.2.7')).toBe(0);
    th.failed('192.0.2.7');
    expect(th.retryAfter('192.0.2.7')).toBeGreaterThan(0);
  });

  it('forgets the quietest addresses beyond its bound', () => {
    const th = createLoginThrottle({ addressFailures: 1, windowMinutes: 60, maxAddresses: 100 }, () => 0);
    for (let i = 0; i < 1000; i++) th.failed(`10.0.${i >> 8}.${i & 255}`);
    expect(th.retryAfter('10.0.3.231')).toBeGreaterThan(0);
    expect(th.retryAfter('10.0.0.0')).toBe(0);
  });

  it('runs attempts for one name one at a time, and refuses beyond those waiting', async () => {
    const th = createLoginThrottle({ addressFailures: 1, windowMinutes: 1, maxWaitingPerName: 3 });
    let running = 0;
    let most = 0;
    const work = async (): Promise<number> => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return 1;
    };
    const out = await Promise.all([...Array.from({ length: 5 }, () => th.oneAtATime('kanri', work)), th.oneAtATime('sato', work)]);
    expect(most).toBe(2);
    expect(out).toEqual([1, 1, 1, null, null, 1]);
  });
});

describe('failure records', () => {
  it('writes up to perAddress a minute per address, then one summary per interval', async () => {
    const written: AuditEntry[] = [];
    let t = Date.parse('2026-11-26T01:00:00.000Z');
    const f = createFailureAudit({ append: async (e) => void written.push(e) as never }, { perAddress: 2, perMinute: 3, intervalMs: 3_600_000 }, () => new Date(t));
    const fail = (client: string, name: string) => f.uncounted(client, { actor: `console:${name}`, action: 'login-failed', object: name, details: { reason: 'unknown-user', client } });
    for (let i = 0; i < 5; i++) await fail('198.51.100.1', `a${i}`);
    for (let i = 0; i < 5; i++) await fail('198.51.100.2', `b${i}`);
    // 2 from the first, 1 from the second (the minute's 3), the rest counted.
    expect(written.map((e) => e.object)).toEqual(['a0', 'a1', 'b0']);
    t += 61_000;
    await fail('198.51.100.2', 'b5');
    expect(written.at(-1)?.object).toBe('b5');
    await f.close();
    const summary = written.at(-1)!;
    expect(summary.action).toBe('login-failures-summarised');
    expect(summary.details).toMatchObject({
      attempts: 7,
      addresses: 2,
      byAddress: [
        { client: '198.51.100.2', attempts: 4, reasons: { 'unknown-user': 4 }, names: ['b1', 'b2', 'b3', 'b4'] },
        { client: '198.51.100.1', attempts: 3, names: ['a2', 'a3', 'a4'] },
      ],
    });
  });
});

describe('failure timing', () => {
  it('answers no sooner than the floor, and follows slower checks up at once and down slowly', async () => {
    const now = 0;
    const timing = createFailureTiming({ floorMs: 100, maxMs: 1000 }, () => now);
    const waited = async (startedMs: number): Promise<number> => {
      const t0 = performance.now();
      await timing.pad(startedMs);
      return performance.now() - t0;
    };
    expect(await waited(-60)).toBeGreaterThanOrEqual(35);
    timing.sample(400);
    expect(await waited(-400)).toBeGreaterThanOrEqual(90);
    timing.sample(10);
    expect(await waited(-400)).toBeGreaterThanOrEqual(45);
  });
});

describe('password thread', () => {
  it('verifies and hashes off the main thread, and refuses beyond its queue at once', async () => {
    const pw = startPasswordWorker({ maxQueued: 2 });
    try {
      const hash = await pw.hash('correct horse battery');
      expect(hash).toMatch(/^\$argon2id\$/);
      expect(await pw.verify(hash, 'correct horse battery')).toBe(true);
      expect(await pw.verify(hash, 'wrong')).toBe(false);
      expect(await pw.verify('', 'anything')).toBe(false);
      const three = [pw.verify(hash, 'a'), pw.verify(hash, 'b'), pw.verify(hash, 'c')];
      expect(pw.pending).toBe(2);
      const settled = await Promise.allSettled(three);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(PasswordQueueFullError);
      // The event loop stays free while hashes are computed on the thread (five in a row: one alone
      // took under 4 ms on a fast machine, too short to tell).
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      for (let i = 0; i < 5; i++) await pw.hash(`another long password ${i}`);
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(3);
      await expect(pw.hash('short')).rejects.toThrow(/12/);
    } finally {
      await pw.close();
    }
  });
});

describe('TOTP codes', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const at = new Date('2026-11-26T01:00:15.000Z');

  it('accepts the code of the step at a fixed time, one step either side, and each step once', async () => {
    // RFC 6238 time steps: 2026-11-26T01:00:00Z / 30 s.
    const step = Math.floor(at.getTime() / 30_000);
    const code = await totpCodeAt(secret, at);
    expect(code).toMatch(/^\d{6}$/);
    expect(await checkTotpCode(secret, code, at, null)).toEqual({ ok: true, step });
    expect(await checkTotpCode(secret, code, new Date(at.getTime() + 30_000), null)).toEqual({ ok: true, step });
    expect(await checkTotpCode(secret, code, new Date(at.getTime() + 60_000), null)).toEqual({ ok: false, replayed: false });
    expect(await checkTotpCode(secret, code, at, step)).toEqual({ ok: false, replayed: true });
    expect(await checkTotpCode(secret, await totpCodeAt(secret, new Date(at.getTime() + 30_000)), at, step)).toEqual({ ok: true, step: step + 1 });
    expect(await checkTotpCode(secret, '12345', at, null)).toEqual({ ok: false, replayed: false });
    expect(await checkTotpCode(secret, `${code} `, at, null)).toMatchObject({ ok: true });
  });

  it('makes recovery codes of 80 random bits, and reads them as people type them', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(normalizeRecoveryCode('7k2m-9qxd 4htr-b1ze')).toBe('7K2M9QXD4HTRB1ZE');
    expect(normalizeRecoveryCode('7K2M9QXD4HTRBIZE')).toBe('7K2M9QXD4HTRB1ZE');
    expect(normalizeRecoveryCode('O00O-0000-0000-0000')).toBe('0000000000000000');
    expect(normalizeRecoveryCode('123456')).toBeNull();
    expect(normalizeRecoveryCode('UUUU-UUUU-UUUU-UUUU')).toBeNull();
  });

  it('re-seals TOTP secrets when the master key rotates, before the old key is retired', async () => {
    const o = await sqliteBackend.fresh();
    try {
      const audit = openAuditLog(o.store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir });
      const ring = await openKeyRing(o.dataDir, {});
      const s = newTotpSecret();
      const sealed = await sealTotpSecret(ring, 'kanri', s);
      await audit.append({ actor: 'x', action: 'user-changed', object: 'kanri', details: {} }, { users: [user('kanri', { role: 'admin' })] });
      await audit.append(
        { actor: 'x', action: 'second-factor-enrolled', object: 'kanri', details: {} },
        { totpEnrolled: [{ name: 'kanri', ...sealed, at: '2026-11-26T01:00:00.000Z', recoveryCodeHashes: [] }] },
      );
      const report = await rotateMasterKey({ dataDir: o.dataDir, env: {}, store: o.store, audit, actor: 'cli:ops' });
      expect(report.secondFactors).toBe(1);
      const row = (await o.store.getUser('kanri'))!;
      expect(row.totp?.keyId).toBe(report.to);
      // A process that starts now holds only the new key, and opens it.
      expect(openTotpSecret(await openKeyRing(o.dataDir, {}), 'kanri', row.totp!)).toBe(s);
      await audit.close();
      expect((await o.store.searchAudit({ actions: ['key-rotated'] }))[0]?.details).toContain('"secondFactors":1');
    } finally {
      await o.close();
    }
  });
});
