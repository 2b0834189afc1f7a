// The gateway's web listeners as configured: HTTPS for the console with a
// certificate (Secure cookies, HSTS), and /metrics and /healthz on a listener
// of their own (web.opsListen), absent from the console's.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCertificates } from '../helpers/certificates.js';
import { tempDir } from '../helpers/run.js';
import { cleanup, HOST, startGateway } from '../relay/harness.js';

afterAll(cleanup);

function get(port: number, path: string, ca: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: HOST, port, path, ca, servername: undefined }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('mugaika serve: web listeners', () => {
  it('serves the console over HTTPS with Secure cookies and HSTS, and /metrics and /healthz only on web.opsListen', async () => {
    const certs = makeCertificates(tempDir('mugaika-web-tls-'), 'console');
    const gw = await startGateway({ config: { web: { tlsKeyFile: certs.keyFile, tlsCertFile: certs.certFile, opsListen: `${HOST}:0` } } });
    const started = gw.logs.find((l) => l.msg === 'mugaika gateway started')!;
    expect(started.tls).toBe(true);
    const opsPort = Number(/:(\d+)$/.exec(String(started.ops))![1]);
    expect(opsPort).not.toBe(gw.webPort);
    const ca = readFileSync(certs.caFile);

    const login = await get(gw.webPort, '/login', ca);
    expect(login.status).toBe(200);
    expect(login.headers['strict-transport-security']).toBe('max-age=31536000');
    const cookies = login.headers['set-cookie'] as string[];
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) expect(c).toMatch(/; Secure/);
    // Plain HTTP on the console's port gets nothing.
    await expect(fetch(`http://${HOST}:${gw.webPort}/login`)).rejects.toThrow();

    // The ops endpoints are on their own listener (plain HTTP, for the monitoring network), and not on the console's.
    const health = await fetch(`http://${HOST}:${opsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await fetch(`http://${HOST}:${opsPort}/metrics`)).status).toBe(200);
    expect((await fetch(`http://${HOST}:${opsPort}/login`)).status).toBe(404);
    expect((await get(gw.webPort, '/metrics', ca)).status).toBe(404);
    expect((await get(gw.webPort, '/healthz', ca)).status).toBe(404);
    const exit = await gw.stop();
    expect(exit.code, `${JSON.stringify(exit)} ${gw.stderr()} ${JSON.stringify(gw.logs.slice(-4))}`).toBe(0);
  });
});
