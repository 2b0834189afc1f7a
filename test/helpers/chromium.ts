// Debian's Chromium driven by playwright-core, for the console's browser
// tests: no browser download, the flags this machine needs (no sandbox as
// root, no GPU, and nothing that reaches for the network, which is closed
// here), a fresh profile per launch. Screenshots go to test-output/screenshots/
// (not committed) unless a test names another folder, one file per screen.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-output/screenshots');

export interface Chromium {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged as errors (a CSP violation among them). */
  errors: string[];
  /** Saves the page as NAME.png in the screenshot folder (test-output/screenshots/ unless another was given), hiding what `mask` finds. */
  screenshot(name: string, mask?: Locator[]): Promise<string>;
  close(): Promise<void>;
}

export interface ChromiumOptions {
  lang?: string;
  /** Where screenshots go (e.g. docs/screens/ for the README's); test-output/screenshots/ by default. */
  screenshots?: string;
}

export async function launchChromium(o: ChromiumOptions = {}): Promise<Chromium> {
  const screenshots = o.screenshots ?? SCREENSHOTS;
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
  mkdirSync(screenshots, { recursive: true });
  return {
    context,
    page,
    errors,
    async screenshot(name, mask) {
      const file = path.join(screenshots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide', ...(mask ? { mask, maskColor: '#c8c8c8' } : {}) });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
