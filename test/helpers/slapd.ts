// A private OpenLDAP server for the directory tests: Debian's slapd (installed
// by scripts/system-deps.sh), started from a temporary slapd.conf as an
// unprivileged process (the `openldap` user when the tests run as root) on
// 127.0.0.1 high ports, with LDAP (for StartTLS) and LDAPS, a certificate
// from a CA made here with openssl, and a test tree loaded with ldapadd.
// `-d stats` logs every operation, with its filter, to the test (log()). It
// refuses password binds without TLS, so a test that binds has used TLS.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeCertificates } from './certificates.js';
import { tempDir } from './run.js';

export const SUFFIX = 'dc=city,dc=example,dc=lg,dc=jp';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
const ROOT_PW = 'root-secret-for-tests';
export const SERVICE_DN = `cn=mugaika,ou=services,${SUFFIX}`;
export const SERVICE_PW = 'service secret for tests';
/** Every directory user's password in the test tree. */
export const LDAP_PASSWORD = 'directory password 1';
export const GROUPS = { admin: `cn=mugaika-admins,ou=groups,${SUFFIX}`, staff: `cn=mugaika-staff,ou=groups,${SUFFIX}`, auditor: `cn=mugaika-auditors,ou=groups,${SUFFIX}` };
export const userDn = (uid: string): string => `uid=${uid},ou=people,${SUFFIX}`;

export interface Slapd {
  ldapUrl: string;
  ldapsUrl: string;
  caFile: string;
  dir: string;
  /** What slapd has logged so far (-d stats: connections, binds, search filters). */
  log(): string;
  /** Runs ldapmodify as the directory's administrator with this LDIF. */
  modify(ldif: string): void;
  /** SIGSTOP, and waits until every thread has stopped: connections are accepted by the kernel and never answered (a directory that hangs). */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
}

const person = (uid: string, cn: string, mail?: string): string => `dn: ${userDn(uid)}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${cn}
sn: ${cn.split(' ')[0] ?? cn}
displayName: ${cn}
${mail ? `mail: ${mail}\n` : ''}userPassword: ${LDAP_PASSWORD}
`;

const group = (dn: string, members: string[]): string => `dn: ${dn}
objectClass: groupOfNames
cn: ${/^cn=([^,]+)/.exec(dn)![1]}
${members.map((m) => `member: ${userDn(m)}`).join('\n')}
`;

export const TREE = [
  `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: city\ndc: city\n`,
  `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n`,
  `dn: ou=services,${SUFFIX}\nobjectClass: organizationalUnit\nou: services\n`,
  `dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: mugaika\nuserPassword: ${SERVICE_PW}\n`,
  person('yamada', 'Yamada Hanako', 'yamada@city.example.lg.jp'),
  person('suzuki', 'Suzuki Jiro', 'Suzuki@City.Example.LG.JP'),
  person('alice', 'Alice Sato', 'alice@city.example.lg.jp'),
  person('kansa', 'Kansa Taro'),
  person('taro', 'Taro Nogroup', 'taro@city.example.lg.jp'),
  person('both', 'Both Roles'),
  group(GROUPS.admin, ['yamada', 'both']),
  group(GROUPS.staff, ['suzuki', 'alice']),
  group(GROUPS.auditor, ['kansa', 'both']),
].join('\n');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function listening(port: number, until: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`slapd is not listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startSlapd(): Promise<Slapd> {
  const dir = tempDir('mugaika-slapd-');
  mkdirSync(path.join(dir, 'db'));
  const { caFile, certFile, keyFile } = makeCertificates(dir);
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${dir}/slapd.pid
TLSCACertificateFile ${caFile}
TLSCertificateFile ${certFile}
TLSCertificateKeyFile ${keyFile}
security simple_bind=128
database mdb
maxsize 10485760
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PW}
directory ${dir}/db
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by * none
`,
  );
  // Unprivileged: as root, the files go to the openldap user and slapd runs as it.
  let ids: { uid: number; gid: number } | null = null;
  if (process.getuid?.() === 0) {
    ids = { uid: Number(execFileSync('id', ['-u', 'openldap']).toString()), gid: Number(execFileSync('id', ['-g', 'openldap']).toString()) };
    const own = (p: string): void => {
      chownSync(p, ids!.uid, ids!.gid);
      for (const e of readdirSync(p, { withFileTypes: true })) (e.isDirectory() ? own : (f: string) => chownSync(f, ids!.uid, ids!.gid))(path.join(p, e.name));
    };
    own(dir);
  }
  const [plain, secure] = [await freePort(), await freePort()];
  const ldapUrl = `ldap://127.0.0.1:${plain}`;
  const ldapsUrl = `ldaps://127.0.0.1:${secure}`;
  const child: ChildProcess = spawn('/usr/sbin/slapd', ['-d', 'stats', '-h', `${ldapUrl}/ ${ldapsUrl}/`, '-f', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(ids ?? {}),
  });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (log += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  try {
    await listening(plain, Date.now() + 15_000);
    await listening(secure, Date.now() + 15_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  // slapd refuses a password bind without TLS (security simple_bind=128): ldapadd and ldapmodify use StartTLS too.
  const ldap = (tool: string, ldif: string): void =>
    void execFileSync(tool, ['-x', '-ZZ', '-H', ldapUrl, '-D', ROOT_DN, '-w', ROOT_PW], {
      input: ldif,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LDAPTLS_CACERT: caFile },
    });
  ldap('ldapadd', TREE);
  return {
    ldapUrl,
    ldapsUrl,
    caFile,
    dir,
    log: () => log,
    modify: (ldif) => ldap('ldapmodify', ldif),
    async pause() {
      child.kill('SIGSTOP');
      // A loaded machine may run some of slapd's threads a while longer: wait until the kernel says every one has stopped.
      const until = Date.now() + 5000;
      const stopped = (): boolean => readdirSync(`/proc/${child.pid}/task`).every((t) => /^State:\s+T/m.test(readFileSync(`/proc/${child.pid}/task/${t}/status`, 'utf8')));
      while (!stopped()) {
        if (Date.now() > until) throw new Error('slapd did not stop');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    resume: () => void child.kill('SIGCONT'),
    async stop() {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
