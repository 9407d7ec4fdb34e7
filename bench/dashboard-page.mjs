// Holds the dashboard's page open in headless chromium (Debian's /usr/bin/chromium) until killed; prints a line
// once the page has had three messages (its first picture and two updates, about a second): the page as it is
// during a long run. Timed from the first message, W1 (a third of a second) overlapped chromium's own work of
// loading the page, and read 0.77-0.79 of no dashboard where, a second later, it read 0.85.
// For BENCH_DASHBOARD=page in pools.mjs.
import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(process.argv[2]);
await page.waitForFunction(() => Number(document.body.dataset.messages) > 2);
console.log('open');
const end = () => browser.close().finally(() => process.exit(0));
process.on('SIGTERM', end);
process.on('SIGINT', end);
