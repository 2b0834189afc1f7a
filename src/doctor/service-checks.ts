// What `mugaika doctor` checks beyond the disk: the converters' Debian
// packages and a bubblewrap sandbox that starts, the next hop and bounce
// relay (a TCP connection), the database (reachable, read-only), and the
// clock.
//
// Clock skew: with no time server reachable from here (LGWAN-side machines
// often have none but an internal one), the doctor uses what it can see:
// systemd's NTPSynchronized flag (timedatectl), the PostgreSQL server's clock
// when there is one, and the newest audit record, which must not be in the
// future (a clock that went back makes the log's times run backwards). What
// cannot be determined is reported as information, not as an error.
import { execFile as execFileCb } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseHostPort } from '../config/schema.js';
import { probeBwrap } from '../converters/bwrap.js';
import { SQLITE_FILE } from '../store/sqlite.js';
import { finding, type Finding } from './finding.js';

const execFile = promisify(execFileCb);

/** What the converters need (scripts/system-deps.sh installs them). */
export const CONVERTER_PACKAGES = [
  'libreoffice-core-nogui',
  'libreoffice-writer-nogui',
  'libreoffice-calc-nogui',
  'libreoffice-impress-nogui',
  'python3-uno',
  'fonts-noto-cjk',
  'fonts-ipaexfont',
  'bubblewrap',
] as const;

export async function checkPackages(packages: readonly string[]): Promise<Finding[]> {
  const missing: string[] = [];
  for (const p of packages) {
    const status = await execFile('dpkg-query', ['-W', '-f=${Status}', p]).then(
      (r) => r.stdout,
      (err: NodeJS.ErrnoException & { stdout?: string }) => (err.code === 'ENOENT' ? null : (err.stdout ?? '')),
    );
    if (status === null) return [finding('info', 'packages', 'dpkg-query がないため、パッケージを確認できません。', 'no dpkg-query here: packages not checked')];
    if (status !== 'install ok installed') missing.push(p);
  }
  if (missing.length === 0) return [finding('ok', 'packages', '変換に使うパッケージはそろっています。', 'converter packages installed')];
  return [
    finding(
      'error',
      'packages-missing',
      `変換に使うパッケージがありません: ${missing.join(' ')}。PDF や Office の添付ファイルは削除され、原本は隔離されます。`,
      `converter packages missing: ${missing.join(' ')} (documents are removed and kept in quarantine)`,
      { ja: `sudo apt-get install ${missing.join(' ')} を実行してください。`, en: `run sudo apt-get install ${missing.join(' ')}` },
    ),
  ];
}

export async function checkSandbox(bwrap: string): Promise<Finding[]> {
  const why = await probeBwrap(bwrap);
  if (why === null) return [finding('ok', 'sandbox', 'bubblewrap のサンドボックスは動きます。', 'bubblewrap starts a sandbox')];
  return [
    finding('error', 'sandbox', `bubblewrap のサンドボックスを作れません。文書の変換ができません。`, why, {
      ja: 'bubblewrap を入れ、systemd のユニットで名前空間の作成を禁止していないか（RestrictNamespaces など）確認してください。',
      en: 'install bubblewrap, and check that the unit does not forbid namespaces (RestrictNamespaces)',
    }),
  ];
}

function connect(hostPort: string, timeoutMs: number): Promise<string | null> {
  const { host, port } = parseHostPort(hostPort);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (why: string | null): void => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.message));
  });
}

export async function checkNextHops(delivery: { nextHop?: string | undefined; bounceRelay?: string | undefined }, timeoutMs: number): Promise<Finding[]> {
  const out: Finding[] = [];
  const hops = [
    { at: delivery.nextHop, id: 'next-hop', ja: '配送先（LGWAN 側の MTA）', en: 'next hop', level: 'error' as const },
    { at: delivery.bounceRelay, id: 'bounce-relay', ja: '返送用のリレー', en: 'bounce relay', level: 'warn' as const },
  ];
  for (const h of hops) {
    if (!h.at) {
      if (h.id === 'next-hop')
        out.push(finding('info', h.id, '配送先が設定されていないため、メールはデータフォルダーの Maildir に届きます。', 'no next hop: mail goes to the Maildir in the data dir'));
      continue;
    }
    const why = await connect(h.at, timeoutMs);
    out.push(
      why === null
        ? finding('ok', h.id, `${h.ja} ${h.at} に接続できます。`, `${h.en} ${h.at} reachable`)
        : finding(h.level, `${h.id}-unreachable`, `${h.ja} ${h.at} に接続できません。メールは配送待ちのままになります。`, `cannot connect to the ${h.en} ${h.at}: ${why}`, {
            ja: '相手の MTA が動いているか、ファイアウォールと設定の delivery を確認してください。',
            en: "check that the MTA runs, the firewall, and the configuration's delivery section",
          }),
    );
  }
  return out;
}

export interface DatabaseFacts {
  findings: Finding[];
  /** The database has records (the data dir is in use). */
  used: boolean;
}

const SKEW_WARN_MS = 5_000;
const SKEW_ERROR_MS = 60_000;

function newestRecordCheck(newest: string | null, now: Date): Finding[] {
  if (!newest) return [];
  const ahead = new Date(newest).getTime() - now.getTime();
  if (ahead <= SKEW_ERROR_MS) return [];
  return [
    finding(
      'error',
      'clock-behind-log',
      `時計が監査ログの最新の記録（${newest}）より ${Math.round(ahead / 1000)} 秒遅れています。時計が戻された可能性があります。`,
      `the clock is ${Math.round(ahead / 1000)} s behind the newest audit record (${newest}): it was set back`,
      { ja: '時刻同期（chrony や systemd-timesyncd）を確認してください。', en: 'check time synchronisation (chrony, systemd-timesyncd)' },
    ),
  ];
}

export async function checkDatabase(dataDir: string, databaseUrl: string | undefined, now: () => Date, timeoutMs: number): Promise<DatabaseFacts> {
  if (databaseUrl) {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: timeoutMs });
    try {
      await client.connect();
      const sent = now().getTime();
      const row = (await client.query<{ now: Date; newest: Date | null; n: string }>('SELECT now() AS now, (SELECT max(time) FROM audit_records) AS newest, (SELECT count(*) FROM audit_records) AS n'))
        .rows[0]!;
      const local = (sent + now().getTime()) / 2;
      const skew = row.now.getTime() - local;
      const out = [finding('ok', 'database', 'データベース（PostgreSQL）に接続できます。', 'PostgreSQL reachable')];
      const level = Math.abs(skew) > SKEW_ERROR_MS ? 'error' : Math.abs(skew) > SKEW_WARN_MS ? 'warn' : null;
      if (level) {
        out.push(
          finding(level, 'clock-skew', `この機器の時計がデータベースと ${Math.round(skew / 1000)} 秒ずれています。`, `the clock differs from the database server's by ${Math.round(skew / 1000)} s`, {
            ja: '両方の機器の時刻同期を確認してください。',
            en: 'check time synchronisation on both machines',
          }),
        );
      } else out.push(finding('ok', 'clock-skew', 'この機器とデータベースの時計は合っています。', "clock agrees with the database server's"));
      out.push(...newestRecordCheck(row.newest ? new Date(row.newest).toISOString() : null, now()));
      return { findings: out, used: Number(row.n) > 0 };
    } catch (err) {
      return {
        findings: [
          finding('error', 'database-unreachable', 'データベース（PostgreSQL）に接続できません。', `cannot reach PostgreSQL: ${(err as Error).message}`, {
            ja: 'データベースが動いているか、database.url（MUGAIKA_DATABASE_URL）の接続先と認証情報を確認してください。',
            en: 'check that it runs, and database.url (MUGAIKA_DATABASE_URL)',
          }),
        ],
        used: true,
      };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const file = path.join(dataDir, SQLITE_FILE);
  if (!existsSync(file)) return { findings: [finding('info', 'database', 'データベースはまだありません（初回の起動で作成されます）。', 'no database yet (the first start creates it)')], used: false };
  const Database = (await import('better-sqlite3')).default;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: timeoutMs });
    try {
      const row = db.prepare<[], { n: number; newest: string | null }>('SELECT count(*) AS n, max(time) AS newest FROM audit_records').get()!;
      return { findings: [finding('ok', 'database', `データベース ${file} を読めます。`, `database ${file} readable`), ...newestRecordCheck(row.newest, now())], used: true };
    } finally {
      db.close();
    }
  } catch (err) {
    return {
      findings: [
        finding('error', 'database-unreadable', `データベース ${file} を読めません。`, `cannot read the database ${file}: ${(err as Error).message}`, {
          ja: 'ファイルの所有者と権限、空き容量を確認してください。',
          en: 'check its owner, mode and free space',
        }),
      ],
      used: true,
    };
  }
}

export async function checkTimeSync(): Promise<Finding[]> {
  const value = await execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 5000 }).then(
    (r) => r.stdout.trim(),
    () => null,
  );
  if (value === 'yes') return [finding('ok', 'time-sync', '時刻は同期されています（NTP）。', 'clock synchronised (NTP)')];
  if (value === 'no') {
    return [
      finding('warn', 'time-sync', '時刻が同期されていません（NTP）。監査ログの時刻が不正確になります。', 'clock not synchronised (NTP): audit times drift', {
        ja: 'chrony か systemd-timesyncd で庁内の時刻サーバーと同期してください。',
        en: 'synchronise with chrony or systemd-timesyncd',
      }),
    ];
  }
  return [
    finding('info', 'time-sync', '時刻同期の状態を確認できませんでした（timedatectl が使えません）。', 'could not determine time synchronisation (no timedatectl)', {
      ja: '時刻同期（chrony など）が動いているか、手で確認してください。',
      en: 'check time synchronisation by hand',
    }),
  ];
}
