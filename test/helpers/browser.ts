// Headless Chromium for the console's browser tests (issue 12): Debian's `chromium`, installed by the
// program when missing (like the stack's other Debian parts), driven by playwright-core through the
// system browser — no browser download from npm.
import { type Browser, chromium } from 'playwright-core';
import { commandNeed, ensureDebianPackages } from '../../stack/debian.ts';

export const CHROMIUM = '/usr/bin/chromium';

export async function ensureChromium(log: (s: string) => void = (s) => console.log(`[debian] ${s}`)) {
  await ensureDebianPackages(
    [commandNeed('chromium', 'chromium', 'headless browser for the console tests')],
    log,
  );
}

export async function launchBrowser(): Promise<Browser> {
  await ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces it may not have here.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
