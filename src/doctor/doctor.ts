// `mugaika doctor`: every check in order, each a finding. A configuration
// that does not load is itself a finding (the other checks then use the
// defaults, so that the rest is still reported).
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { loadPolicy } from '../policy/load.js';
import { checkCertificate, checkDataDir, checkDisk, checkKeys } from './file-checks.js';
import { finding, type Finding } from './finding.js';
import { checkDatabase, checkNextHops, checkPackages, checkSandbox, checkTimeSync, CONVERTER_PACKAGES } from './service-checks.js';

export interface DoctorOptions {
  configFile?: string | undefined;
  dataDir?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Who should own the data dir; default the user running the doctor. */
  owner?: string | undefined;
  minFreeBytes?: number;
  packages?: readonly string[];
  bwrap?: string;
  timeoutMs?: number;
  now?: () => Date;
}

async function uidOf(name: string): Promise<number | null> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => execFile('id', ['-u', name], (err, stdout) => resolve(err ? null : Number(stdout.trim()))));
}

export async function runDoctor(o: DoctorOptions): Promise<Finding[]> {
  const now = o.now ?? (() => new Date());
  const timeoutMs = o.timeoutMs ?? 3000;
  const out: Finding[] = [];
  let config: Config;
  try {
    config = await loadConfig(o.configFile, o.env);
    if (o.configFile) out.push(finding('ok', 'config', `設定ファイル ${o.configFile} を読み込めました。`, `configuration ${o.configFile} loads`));
  } catch (err) {
    out.push(
      finding('error', 'config', '設定ファイルを読み込めません。', (err as Error).message, {
        ja: 'メッセージの箇所を直してください。',
        en: 'fix what the message names',
      }),
    );
    config = await loadConfig(undefined, {});
  }
  try {
    await loadPolicy(config.policyFile);
    if (config.policyFile) out.push(finding('ok', 'policy', `ポリシー ${config.policyFile} を読み込めました。`, `policy ${config.policyFile} loads`));
  } catch (err) {
    out.push(
      finding('error', 'policy', `ポリシー ${config.policyFile ?? ''} を読み込めません。`, (err as Error).message, { ja: 'メッセージの箇所を直してください。', en: 'fix what the message names' }),
    );
  }
  const dataDir = path.resolve(o.dataDir ?? config.dataDir);
  const me = os.userInfo();
  const ownerName = o.owner ?? me.username;
  const uid = o.owner ? await uidOf(o.owner) : me.uid;
  if (uid === null)
    out.push(
      finding('error', 'owner-unknown', `利用者 ${ownerName} がいません。`, `no user ${ownerName}`, { ja: '--owner に正しい利用者名を指定してください。', en: 'give an existing user with --owner' }),
    );
  else out.push(...(await checkDataDir(dataDir, { uid, name: ownerName })));
  const db = await checkDatabase(dataDir, config.database.url, now, timeoutMs);
  out.push(...(await checkKeys(dataDir, o.env, db.used)));
  out.push(...db.findings);
  out.push(...(await checkDisk(dataDir, o.minFreeBytes ?? 1024 ** 3)));
  out.push(...(await checkPackages(o.packages ?? CONVERTER_PACKAGES)));
  out.push(...(await checkSandbox(o.bwrap ?? 'bwrap')));
  out.push(...(await checkNextHops(config.delivery, timeoutMs)));
  out.push(...(await checkTimeSync()));
  const certs = [
    { label: 'SMTP（STARTTLS）', cert: config.smtp.tlsCertFile, key: config.smtp.tlsKeyFile },
    { label: 'コンソール（HTTPS）', cert: config.web.tlsCertFile, key: config.web.tlsKeyFile },
  ];
  for (const c of certs) if (c.cert) out.push(...(await checkCertificate(c.label, c.cert, c.key, now())));
  return out;
}
