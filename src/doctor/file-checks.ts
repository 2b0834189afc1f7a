// What `mugaika doctor` checks on disk: the data dir's owner and mode, the
// key files (present, 0600, the right size), free space, and the TLS
// certificates named in the configuration (readable, not expired, matching
// their key).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { SIGNING_KEY_FILE } from '../audit/signer.js';
import { ENV_KEY, keyFilesOf } from '../keys/key-ring.js';
import { finding, type Finding } from './finding.js';

const DAY_MS = 86_400_000;

const statOf = (f: string): Promise<Stats | NodeJS.ErrnoException> => fs.stat(f).catch((err: NodeJS.ErrnoException) => err);
const isStats = (s: Stats | NodeJS.ErrnoException): s is Stats => !(s instanceof Error);
const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

export async function checkDataDir(dataDir: string, owner: { uid: number; name: string }): Promise<Finding[]> {
  const s = await statOf(dataDir);
  if (!isStats(s)) {
    return [
      finding('warn', 'data-dir-missing', `データフォルダー ${dataDir} がありません（初回の起動で作成されます）。`, `the data dir ${dataDir} does not exist (the first start creates it)`, {
        ja: '設定の dataDir が正しいか確認してください。',
        en: "check the configuration's dataDir",
      }),
    ];
  }
  const out: Finding[] = [];
  if (s.uid !== owner.uid) {
    out.push(
      finding(
        'error',
        'data-dir-owner',
        `データフォルダー ${dataDir} の所有者が ${owner.name} ではありません（uid ${s.uid}）。`,
        `the data dir ${dataDir} is owned by uid ${s.uid}, not ${owner.name}`,
        {
          ja: `chown -R ${owner.name}: ${dataDir} を実行してください。`,
          en: `run chown -R ${owner.name}: ${dataDir}`,
        },
      ),
    );
  }
  if ((s.mode & 0o077) !== 0) {
    out.push(
      finding(
        'warn',
        'data-dir-mode',
        `データフォルダー ${dataDir} の権限が ${octal(s.mode)} です。ほかの利用者が中を見られます。`,
        `the data dir ${dataDir} has mode ${octal(s.mode)}: others can look inside`,
        {
          ja: `chmod 700 ${dataDir} を実行してください。`,
          en: `run chmod 700 ${dataDir}`,
        },
      ),
    );
  }
  if (out.length === 0) out.push(finding('ok', 'data-dir', `データフォルダー ${dataDir} の所有者と権限は正常です。`, `data dir ${dataDir}: owner and mode fine`));
  return out;
}

/** `used`: the data dir has a database or originals, so a missing key is an error (a new one would not open them). */
export async function checkKeys(dataDir: string, env: NodeJS.ProcessEnv, used: boolean): Promise<Finding[]> {
  const files = keyFilesOf(dataDir);
  const out: Finding[] = [];
  const keys = [
    { file: files.current, name: 'マスター鍵', en: 'master key', size: 32, fromEnv: Boolean(env[ENV_KEY]), id: 'master-key' },
    { file: path.join(files.dir, SIGNING_KEY_FILE), name: '監査ログ署名鍵', en: 'audit signing key', size: null, fromEnv: false, id: 'signing-key' },
  ];
  for (const k of keys) {
    if (k.fromEnv) {
      out.push(finding('info', `${k.id}-env`, `${k.name}は環境変数 ${ENV_KEY} で与えられています。`, `the ${k.en} comes from ${ENV_KEY}`));
      continue;
    }
    const s = await statOf(k.file);
    if (!isStats(s)) {
      out.push(
        used
          ? finding(
              'error',
              `${k.id}-missing`,
              `${k.name} ${k.file} がありません。このまま起動すると新しい鍵が作られ、これまでの記録が使えなくなります。`,
              `the ${k.en} ${k.file} is missing: a start would make a new one`,
              {
                ja: 'ゲートウェイを起動する前に、バックアップから鍵を戻してください（mugaika restore）。',
                en: 'restore the key from backup before starting the gateway',
              },
            )
          : finding('info', `${k.id}-missing`, `${k.name}はまだありません（初回の起動で作成されます）。`, `no ${k.en} yet (the first start creates it)`),
      );
      continue;
    }
    if ((s.mode & 0o077) !== 0) {
      out.push(
        finding('error', `${k.id}-mode`, `${k.name} ${k.file} の権限が ${octal(s.mode)} です。ほかの利用者が読めます。`, `the ${k.en} ${k.file} has mode ${octal(s.mode)}: others can read it`, {
          ja: `chmod 600 ${k.file} を実行してください。`,
          en: `run chmod 600 ${k.file}`,
        }),
      );
    } else if (k.size !== null && s.size !== k.size) {
      out.push(
        finding('error', `${k.id}-size`, `${k.name} ${k.file} が ${s.size} バイトです（${k.size} バイトのはずです）。`, `the ${k.en} ${k.file} has ${s.size} bytes, not ${k.size}`, {
          ja: 'バックアップから正しい鍵を戻してください。',
          en: 'restore the right key from backup',
        }),
      );
    } else {
      out.push(finding('ok', k.id, `${k.name} ${k.file} は正常です（権限 ${octal(s.mode)}）。`, `${k.en} ${k.file}: present, mode ${octal(s.mode)}`));
    }
  }
  if (isStats(await statOf(files.next))) {
    out.push(
      finding('warn', 'key-rotation-unfinished', '中断したマスター鍵の更新があります（master.key.next）。', 'an interrupted master key rotation left master.key.next', {
        ja: 'mugaika key rotate を実行して更新を終えてください。',
        en: 'run mugaika key rotate to finish it',
      }),
    );
  }
  return out;
}

export async function checkDisk(dataDir: string, minFreeBytes: number): Promise<Finding[]> {
  let at = dataDir;
  while (!isStats(await statOf(at)) && path.dirname(at) !== at) at = path.dirname(at);
  const s = await fs.statfs(at);
  const free = s.bavail * s.bsize;
  const ratio = free / (s.blocks * s.bsize);
  const gib = (free / 1024 ** 3).toFixed(1);
  if (free < minFreeBytes) {
    return [
      finding(
        'error',
        'disk-free',
        `${at} の空き容量が ${gib} GiB しかありません（${(minFreeBytes / 1024 ** 3).toFixed(1)} GiB 以上必要です）。メールを受け取れなくなります。`,
        `only ${gib} GiB free under ${at} (need ${(minFreeBytes / 1024 ** 3).toFixed(1)} GiB): mail will be refused`,
        { ja: '不要なファイルを削除するか、ディスクを増やしてください。', en: 'free space or add disk' },
      ),
    ];
  }
  if (ratio < 0.1) {
    return [
      finding('warn', 'disk-free', `${at} の空き容量が残り ${(ratio * 100).toFixed(0)}%（${gib} GiB）です。`, `${(ratio * 100).toFixed(0)}% (${gib} GiB) free under ${at}`, {
        ja: '早めに空き容量を増やしてください。',
        en: 'free space soon',
      }),
    ];
  }
  return [finding('ok', 'disk-free', `空き容量は ${gib} GiB です。`, `${gib} GiB free`)];
}

export async function checkCertificate(label: string, certFile: string, keyFile: string | undefined, now: Date): Promise<Finding[]> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(await fs.readFile(certFile));
  } catch (err) {
    return [
      finding('error', 'certificate-unreadable', `${label}の証明書 ${certFile} を読めません。`, `cannot read the ${label} certificate ${certFile}: ${(err as Error).message}`, {
        ja: 'ファイルの場所と権限、PEM 形式かを確認してください。',
        en: 'check the path, its permissions and that it is PEM',
      }),
    ];
  }
  const out: Finding[] = [];
  const until = new Date(cert.validTo);
  const days = Math.floor((until.getTime() - now.getTime()) / DAY_MS);
  const when = until.toISOString().slice(0, 10);
  if (until <= now) {
    out.push(
      finding('error', 'certificate-expired', `${label}の証明書 ${certFile} は ${when} に期限が切れています。`, `the ${label} certificate ${certFile} expired on ${when}`, {
        ja: '証明書を更新し、ゲートウェイを再起動してください。',
        en: 'renew it and restart the gateway',
      }),
    );
  } else if (days < 30) {
    out.push(
      finding('warn', 'certificate-expiring', `${label}の証明書 ${certFile} はあと ${days} 日（${when}）で期限が切れます。`, `the ${label} certificate ${certFile} expires in ${days} days (${when})`, {
        ja: '期限までに証明書を更新してください。',
        en: 'renew it before then',
      }),
    );
  } else {
    out.push(finding('ok', 'certificate', `${label}の証明書は ${when} まで有効です。`, `${label} certificate valid until ${when}`));
  }
  if (keyFile) {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(await fs.readFile(keyFile)))) {
        out.push(
          finding('error', 'certificate-key-mismatch', `${label}の秘密鍵 ${keyFile} が証明書と対になっていません。`, `the ${label} key ${keyFile} does not match its certificate`, {
            ja: '証明書と同時に作成した秘密鍵を指定してください。',
            en: 'give the key the certificate was made for',
          }),
        );
      }
    } catch (err) {
      out.push(
        finding('error', 'certificate-key-unreadable', `${label}の秘密鍵 ${keyFile} を読めません。`, `cannot read the ${label} key ${keyFile}: ${(err as Error).message}`, {
          ja: 'ファイルの場所と権限を確認してください。',
          en: 'check the path and its permissions',
        }),
      );
    }
  }
  return out;
}
