// Certificates for the tests' TLS servers (the console over HTTPS, slapd's
// LDAPS and StartTLS): a CA made with openssl, and a certificate for
// 127.0.0.1 (and localhost) signed by it. Valid two days; nothing leaves the
// temporary folder.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** A CA and a certificate for 127.0.0.1 signed by it, made with openssl in `dir`. */
export function makeCertificates(dir: string, name = 'server'): { caFile: string; certFile: string; keyFile: string } {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mugaika test CA');
  ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1');
  writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'san.cnf');
  return { caFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
}
