// What a backup folder holds, and how it is read back. Two files describe it:
//
//   backup.json   always plain: the format, whether the rest is sealed to a
//                 passphrase (and the scrypt parameters), the manifest's name
//                 and SHA-256. Written last: a folder without it is incomplete.
//   manifest.json (manifest.json.enc when sealed) every other file with its
//                 size and SHA-256 as stored, the versions, the audit head,
//                 and whether the master key is in it.
//
// Everything read from a backup is untrusted until checked: paths are
// allow-listed (no way out of the folder), checksums compared before any byte
// is restored.
import { z } from 'zod';

export const BACKUP_FORMAT = 'mugaika-backup';
export const HEADER_FILE = 'backup.json';

/** Paths a backup may hold (as stored, without a .enc suffix). */
const ALLOWED = [
  /^database\/mugaika\.(db|dump)$/,
  /^keys\/(master\.key|master\.key\.next|audit-signing\.key|audit-signing\.pub)$/,
  /^keys\/trusted\/[A-Za-z0-9._-]{1,100}\.pub$/,
  /^audit\/head\.json$/,
  /^quarantine\/Q-\d{8}-[0-9A-Z]{10}\.mgq$/,
  /^settings\/(config|policy)\/[A-Za-z0-9._-]{1,100}$/,
];
export const isAllowedPath = (p: string): boolean => ALLOWED.some((re) => re.test(p));

const safePath = z.string().refine(isAllowedPath, 'a path a mugaika backup does not have');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const fileRoles = ['database', 'master-key', 'signing-key', 'public-key', 'audit-head', 'original', 'config', 'policy'] as const;
export type FileRole = (typeof fileRoles)[number];

const fileEntry = z.object({ path: safePath, stored: z.string(), role: z.enum(fileRoles), size: z.number().int().nonnegative(), sha256 }).strict();
export type FileEntry = z.infer<typeof fileEntry>;

const kdf = z.object({ kdf: z.literal('scrypt'), N: z.number().int(), r: z.number().int(), p: z.number().int(), salt: z.string().min(16), cipher: z.literal('aes-256-gcm') }).strict();

export const headerSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    formatVersion: z.literal(1),
    encryption: kdf.nullable(),
    manifest: z.enum(['manifest.json', 'manifest.json.enc']),
    manifestSha256: sha256,
  })
  .strict();
export type BackupHeader = z.infer<typeof headerSchema>;

/** Why the master key is not in a backup. */
export const missingKeyReasons = ['excluded', 'unreadable', 'absent', 'environment'] as const;

export const manifestSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    formatVersion: z.literal(1),
    mugaikaVersion: z.string(),
    nodeVersion: z.string(),
    createdAt: z.string(),
    host: z.string(),
    database: z.object({ kind: z.enum(['sqlite', 'postgresql']), tool: z.string(), auditHead: z.object({ seq: z.number().int().nonnegative(), hash: z.string() }).strict() }).strict(),
    masterKey: z.discriminatedUnion('included', [
      z.object({ included: z.literal(true), keyIds: z.array(z.string()) }).strict(),
      z.object({ included: z.literal(false), reason: z.enum(missingKeyReasons), keyIds: z.array(z.string()) }).strict(),
    ]),
    /** Originals the database holds (not purged); `missing` are those whose file was gone (being purged) when copied. */
    originals: z.object({ count: z.number().int().nonnegative(), missing: z.array(z.string()) }).strict(),
    files: z.array(fileEntry),
  })
  .strict();
export type BackupManifest = z.infer<typeof manifestSchema>;
