/**
 * The console's budgets, measured and printed (never asserted by a test):
 *   - JavaScript shipped for the first page, gzipped (budget 150 KB);
 *   - first page usable in headless Chromium: from navigation to an enabled "Sign in" (1 s);
 *   - the secrets page with 10,000 secrets: from "Sign in" (and from a click on "Secrets")
 *     to its first rows on screen (1.5 s);
 *   - one keystroke in the search box until the filtered rows are painted (100 ms).
 * Runs a real server (SQLite, fresh data dir) on a free port. `npm run bench:console`.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { consoleDistDir } from '../../server/src/http/console.js';
import { startTestServer } from '../../server/test/helpers/harness.js';
import { launch, openPage } from '../test/helpers/browser.js';
import { seedSecrets } from '../test/helpers/seed.js';

const COUNT = 10_000;
const RUNS = 5;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const ms = (n: number): string => `${n.toFixed(0)} ms`;

const dist = consoleDistDir() as string;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const scripts = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map(
  (m) => m[1] as string,
);
const jsGzip = scripts.reduce(
  (sum, src) => sum + gzipSync(readFileSync(join(dist, src)), { level: 9 }).length,
  0,
);
const cssGzip = [...html.matchAll(/href="(\/assets\/[^"]+\.css)"/g)].reduce(
  (sum, m) => sum + gzipSync(readFileSync(join(dist, m[1] as string)), { level: 9 }).length,
  0,
);

const server = await startTestServer();
const browser = await launch();
try {
  process.stdout.write(`seeding ${COUNT.toLocaleString()} secrets...\n`);
  await seedSecrets(server.client(server.owner), COUNT);

  const firstPage: number[] = [];
  const signInToRows: number[] = [];
  const navToRows: number[] = [];
  const keystroke: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const tab = await openPage(browser);
    const { page } = tab;
    let started = Date.now();
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    firstPage.push(Date.now() - started);

    await page.getByLabel('Workspace ID').fill(server.owner.workspace_id);
    await page.getByLabel('User ID').fill(server.owner.user_id);
    await page.getByLabel('Private key').fill(server.owner.private_key);
    started = Date.now();
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('table', { name: 'Secrets' }).getByRole('link').first().waitFor();
    signInToRows.push(Date.now() - started);

    await page.getByRole('link', { name: 'Import' }).click();
    await page.getByRole('heading', { name: 'Import' }).waitFor();
    started = Date.now();
    await page.getByRole('link', { name: 'Secrets', exact: true }).click();
    await page.getByRole('table', { name: 'Secrets' }).getByRole('link').first().waitFor();
    navToRows.push(Date.now() - started);

    // Typed one character at a time; each timed in the page until the next frame is painted.
    for (const text of ['K', 'KE', 'KEY', 'KEY_', 'KEY_0', 'KEY_01', 'KEY_012', 'KEY_0123']) {
      keystroke.push(
        await page.evaluate(async (value) => {
          const input = document.getElementById('search') as HTMLInputElement;
          const t0 = performance.now();
          input.value = value;
          input.dispatchEvent(new Event('input', { bubbles: true }));
          await new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
          return performance.now() - t0;
        }, text),
      );
    }
    await tab.close();
  }
  const lines = [
    [
      'JS for the first page (gzipped)',
      `${(jsGzip / 1024).toFixed(1)} KB (+ ${(cssGzip / 1024).toFixed(1)} KB CSS)`,
      '150 KB',
    ],
    ['first page usable (navigation to an enabled Sign in)', ms(median(firstPage)), '1 s'],
    [`Sign in to first rows, ${COUNT.toLocaleString()} secrets`, ms(median(signInToRows)), '1.5 s'],
    [`"Secrets" click to first rows, ${COUNT.toLocaleString()} secrets`, ms(median(navToRows)), '1.5 s'],
    ['one keystroke in Search to painted rows (median)', ms(median(keystroke)), '100 ms'],
    ['one keystroke, slowest of ' + keystroke.length, ms(Math.max(...keystroke)), '100 ms'],
  ];
  const load = loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');
  process.stdout.write(
    `\nconsole budgets (median of ${RUNS} runs, headless Chromium, SQLite; load average ${load}):\n`,
  );
  for (const [what, figure, budget] of lines) {
    process.stdout.write(`  ${String(what).padEnd(58)} ${String(figure).padStart(22)}   budget ${budget}\n`);
  }
} finally {
  await browser.close();
  await server.stop();
}
