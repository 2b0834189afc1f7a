// Debian's Chromium driven by playwright-core, for the console's browser
// tests: no browser download, the flags this machine needs (no sandbox as
// root, no GPU, and nothing that reaches for the network, which is closed
// here), a fresh profile per launch. Screenshots go to test-output/screenshots/
// (not committed), one file per screen.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-output/screenshots');

export interface Chromium {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged as errors (a CSP violation among them). */
  errors: string[];
  /** Saves the page as test-output/screenshots/NAME.png. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchChromium(o: { lang?: string } = {}): Promise<Chromium> {
  const profile = mkdtempSync(path.join(tmpdir(), 'mugaika-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    locale: o.lang ?? 'ja-JP',
    viewport: { width: 1100, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    errors,
    async screenshot(name) {
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
