// The docker-compose example without Docker: docker/postfix/entrypoint.sh
// writes the configuration of both Postfix roles (the Internet-side MTA with
// examples/postfix/, and the LGWAN-side stand-in), mugaika runs with
// docker/mugaika/config.yaml, and a sample goes through all three on
// 127.0.0.1 into the LGWAN side's Maildir, where the compose setup stores it.
// Only the container-specific parts are replaced: directories, 127.0.0.1 and
// high ports instead of the compose network, and the mail user (nobody).
//
// Needs the Debian postfix package and root, like postfix.test.ts.
import { execFile as execFileCb } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { createPostfix, freePort, postfixUnavailable, waitForPort, type PostfixInstance } from '../helpers/postfix.js';

const execFile = promisify(execFileCb);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRYPOINT = path.join(ROOT, 'docker', 'postfix', 'entrypoint.sh');

/** Runs the container entrypoint in check-only mode: it writes main.cf and master.cf into configDir. */
async function entrypoint(configDir: string, env: Record<string, string>): Promise<void> {
  await execFile('sh', [ENTRYPOINT], {
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      POSTFIX_CONFIG_DIR: configDir,
      POSTFIX_CHECK_ONLY: '1',
      MUGAIKA_POSTFIX_TEMPLATES: path.join(ROOT, 'examples', 'postfix'),
      ...env,
    },
  });
}

/** The container listens on port 25 (and 10026) of every interface; here on 127.0.0.1 high ports. */
function relisten(configDir: string, ports: Record<string, number>): void {
  const file = path.join(configDir, 'master.cf');
  let text = readFileSync(file, 'utf8');
  for (const [service, port] of Object.entries(ports)) {
    const re = new RegExp(`^${service}(\\s+inet\\b)`, 'm');
    if (!re.test(text)) throw new Error(`master.cf written by the entrypoint has no "${service} inet" listener`);
    text = text.replace(re, `127.0.0.1:${port}$1`);
  }
  writeFileSync(file, text);
}

describe('docker-compose roles, run without Docker', () => {
  let lgwan: PostfixInstance | undefined;
  let internet: PostfixInstance | undefined;
  let gateway: GatewayProcess | undefined;
  let maildir = '';
  let inboundPort = 0;

  beforeAll(async () => {
    const why = postfixUnavailable();
    if (why) throw new Error(`Postfix integration test cannot run: ${why}`);
    const [lgwanPort, reinjectPort, mugaikaPort] = [await freePort(), await freePort(), await freePort()];
    inboundPort = await freePort();

    // The three start side by side: Postfix retries until mugaika listens, mugaika until the LGWAN side does.
    const startLgwan = async (): Promise<void> => {
      lgwan = await createPostfix({
        prefix: 'mugaika-compose-lgwan-',
        async generate(configDir, root) {
          maildir = path.join(root, 'mail');
          mkdirSync(maildir);
          await entrypoint(configDir, { POSTFIX_ROLE: 'lgwan', POSTFIX_HOSTNAME: 'lgwan-mta.test.invalid', LGWAN_MAIL_DIR: maildir, LGWAN_MAIL_USER: 'nobody', TRUSTED_CLIENTS: '127.0.0.1/32' });
          relisten(configDir, { smtp: lgwanPort });
        },
      });
      await lgwan.start();
      await waitForPort(lgwanPort);
    };
    const startInternet = async (): Promise<void> => {
      internet = await createPostfix({
        prefix: 'mugaika-compose-in-',
        async generate(configDir) {
          await entrypoint(configDir, {
            POSTFIX_ROLE: 'internet',
            POSTFIX_HOSTNAME: 'mx.test.invalid',
            MUGAIKA_FILTER: `[127.0.0.1]:${mugaikaPort}`,
            MUGAIKA_CLIENT: '127.0.0.1',
            LGWAN_MTA: `[127.0.0.1]:${lgwanPort}`,
          });
          relisten(configDir, { smtp: inboundPort, '10026': reinjectPort });
        },
      });
      await internet.start();
      await waitForPort(inboundPort);
    };
    const startMugaika = async (): Promise<void> => {
      // docker-compose.yml: MUGAIKA_NEXT_HOP=lgwan-mta:25 and docker/mugaika/config.yaml.
      gateway = await startGatewayProcess({ smtpListen: `127.0.0.1:${mugaikaPort}`, nextHop: `127.0.0.1:${lgwanPort}`, configFile: path.join(ROOT, 'docker', 'mugaika', 'config.yaml') });
    };
    await Promise.all([startLgwan(), startInternet(), startMugaika()]);
  });

  afterAll(async () => {
    await internet?.destroy();
    await gateway?.destroy();
    await lgwan?.destroy();
  });

  it('takes a sample from the Internet side to the LGWAN Maildir, sanitized', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: inboundPort, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({ envelope: { from: 'a@example.jp', to: ['soumu@city.example.lg.jp'] }, raw: readFileSync(path.join(ROOT, 'samples', '02-html-newsletter.eml')) });
    } finally {
      transport.close();
    }
    const inbox = path.join(maildir, 'inbox', 'new');
    const deadline = Date.now() + 30_000;
    const files = (): string[] => {
      try {
        return readdirSync(inbox);
      } catch {
        return [];
      }
    };
    while (files().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(files(), `nothing in ${inbox}\n--- internet ---\n${internet!.log()}\n--- lgwan ---\n${lgwan!.log()}`).toHaveLength(1);
    const stored = readFileSync(path.join(inbox, files()[0]!), 'latin1');
    expect(stored).toMatch(/^X-Mugaika-Verdict: sanitized$/m);
    expect(stored).toMatch(/^Delivered-To: soumu@city\.example\.lg\.jp$/m);
    expect(stored).not.toMatch(/^Content-Type:\s*text\/html/im);
    await internet!.waitForEmptyQueue();
    await lgwan!.waitForEmptyQueue();
    expect(internet!.log()).toMatch(/postfix\/mugaika\/smtp\[\d+\]: \w+: to=<soumu@city\.example\.lg\.jp>.* status=sent \(250 2\.0\.0 Ok: queued as/);
    expect(lgwan!.log()).toMatch(/postfix\/virtual\[\d+\]: \w+: to=<soumu@city\.example\.lg\.jp>, relay=virtual,.* status=sent \(delivered to maildir\)/);
  });
});
