// Renders media/icon.svg to the 128x128 media/icon.png the marketplace shows (headless Chromium via playwright-core).
// Usage: node media/render-icon.mjs   (needs /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const svg = readFileSync(fileURLToPath(new URL('icon.svg', import.meta.url)), 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 128, height: 128 } });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  await page.locator('svg').screenshot({ path: fileURLToPath(new URL('icon.png', import.meta.url)), omitBackground: true });
} finally {
  await browser.close();
}
