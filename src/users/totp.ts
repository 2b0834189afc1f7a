// The second factor: TOTP (RFC 6238, 30-second steps, 6 digits; otplib), its
// secret sealed under the quarantine's master key, and ten single-use
// recovery codes kept only as hashes.
//
// A secret is sealed with AES-256-GCM under the master key the ring wraps new
// keys with, bound to the user name and that key's id: a copy of the database
// alone does not give it, and a sealed secret moved to another user does not
// open. Key rotation re-seals them (src/keys/rotate.ts).
import { createHash, randomBytes } from 'node:crypto';
import { generate, generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { open, OpenError, seal } from '../keys/aead.js';
import type { KeyRing } from '../keys/key-ring.js';
import { KeyError } from '../keys/master-key.js';
import type { SealedTotp } from '../model/users.js';

export const TOTP_PERIOD_SECONDS = 30;
/** A code is accepted one step early or late (a phone's clock a little off). */
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;
export const RECOVERY_CODE_COUNT = 10;

const aadOf = (user: string, keyId: string): Buffer => Buffer.from(`mugaika/totp/v1\0${user}\0${keyId}`, 'utf8');

/** A fresh secret: 20 random bytes (160 bits, as RFC 4226 recommends), in base32. */
export const newTotpSecret = (): string => generateSecret({ length: 20 });

export async function sealTotpSecret(ring: KeyRing, user: string, secret: string): Promise<{ keyId: string; sealed: Buffer }> {
  await ring.refresh();
  const key = ring.wrapping();
  return { keyId: key.id, sealed: seal(key.bytes, Buffer.from(secret, 'utf8'), aadOf(user, key.id)) };
}

export function openTotpSecret(ring: KeyRing, user: string, totp: Pick<SealedTotp, 'keyId' | 'sealed'>): string {
  const key = ring.find(totp.keyId);
  if (!key) {
    throw new KeyError(
      `${user} の二要素認証の秘密はマスター鍵 ${totp.keyId} で暗号化されていますが、この環境の鍵は ${ring.ids().join(', ')} です / ` +
        `the TOTP secret of ${user} is sealed under master key ${totp.keyId}, but the keys here are ${ring.ids().join(', ')}: restore keys/master.key or MUGAIKA_MASTER_KEY`,
    );
  }
  try {
    return open(key.bytes, totp.sealed, aadOf(user, totp.keyId)).toString('utf8');
  } catch (err) {
    if (!(err instanceof OpenError)) throw err;
    throw new KeyError(`${user} の二要素認証の秘密を復号できません (データベースの行が改変されています) / the TOTP secret of ${user} does not open: its row was altered`);
  }
}

/** Re-seals a secret under `to` (key rotation). */
export function resealTotpSecret(ring: KeyRing, user: string, totp: Pick<SealedTotp, 'keyId' | 'sealed'>, to: { id: string; bytes: Buffer }): Buffer {
  return seal(to.bytes, Buffer.from(openTotpSecret(ring, user, totp), 'utf8'), aadOf(user, to.id));
}

export type CodeCheck = { ok: true; step: number } | { ok: false; replayed: boolean };

/**
 * Checks a six-digit code at `at`, one step either side; a code whose step is
 * not later than `lastStep` is a replay (the store's compare-and-set makes the
 * final decision when two requests race).
 */
export async function checkTotpCode(secret: string, code: string, at: Date, lastStep: number | null): Promise<CodeCheck> {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return { ok: false, replayed: false };
  const epoch = Math.floor(at.getTime() / 1000);
  const base = { secret, token, epoch, epochTolerance: TOLERANCE_SECONDS, period: TOTP_PERIOD_SECONDS };
  const r = await verify(lastStep === null ? base : { ...base, afterTimeStep: lastStep });
  if (r.valid && 'timeStep' in r) return { ok: true, step: r.timeStep };
  if (lastStep === null) return { ok: false, replayed: false };
  return { ok: false, replayed: (await verify(base)).valid };
}

/** The code an authenticator shows at `at` (tests, and nothing else, need it). */
export const totpCodeAt = (secret: string, at: Date): Promise<string> => generate({ secret, epoch: Math.floor(at.getTime() / 1000), period: TOTP_PERIOD_SECONDS });

/** The otpauth:// URI an authenticator app reads from the QR code. */
export const otpauthUri = (issuer: string, user: string, secret: string): string => generateURI({ issuer, label: user, secret });

/** The QR code as an SVG drawn here, no external service; it carries the secret, so it is shown once and not cached. */
export async function qrSvg(uri: string): Promise<string> {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return svg.replace('<svg ', '<svg role="img" aria-label="QR" width="220" height="220" ');
}

// --- recovery codes ----------------------------------------------------------

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A code: 16 Crockford base32 characters (80 random bits) in four groups, e.g. 7K2M-9QXD-4HTR-B1ZE. */
function recoveryCode(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

export const newRecoveryCodes = (): string[] => Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);

/** What the user typed, as a code: upper case, no separators, the letters people confuse with digits read as digits. */
export function normalizeRecoveryCode(input: string): string | null {
  const c = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(c) ? c : null;
}

/** How a code is kept: SHA-256 over the user and the code. 80 random bits need no slow hash. */
export const recoveryCodeHash = (user: string, normalized: string): string => createHash('sha256').update(`mugaika/recovery/v1\0${user}\0${normalized}`, 'utf8').digest('hex');
