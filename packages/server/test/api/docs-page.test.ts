/**
 * The API reference at /docs, opened in Debian's Chromium (through playwright-core): it
 * renders the routes of /v1/openapi.json, every request it makes stays on the server's own
 * origin (any other is recorded and aborted), and its Content-Security-Policy is never
 * violated. Without /usr/bin/chromium the suite is skipped with a loud reason; in CI
 * (CI=true) that is a failure.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { IN_CI } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';

const CHROMIUM = '/usr/bin/chromium';

function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const line = `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (IN_CI) throw new Error(`${line}: in CI the browser suites must not be skipped`);
  process.stderr.write(`\n*** SKIPPING the API reference's browser suite: ${line}. ***\n\n`);
  return line;
}

describe('the API reference page at /docs', { skip: chromiumMissing() }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    server = await startTestServer({}, 'sqlite');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('renders every route from this origin alone, within its Content-Security-Policy', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(90_000);
    const page = await context.newPage();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    const ownOrigin = new URL(server.url).origin;
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || new URL(url).origin === ownOrigin) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => void problems.push(error.message));

    const response = await page.goto(`${server.url}/docs`);
    assert.equal(response?.status(), 200);
    const csp = (await response?.allHeaders())?.['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);

    // A route's path and summary, as the document gives them.
    await page.getByText('/v1/secrets/{key}/rollback').first().waitFor();
    await page.getByText('A new version holding the value of an older one').first().waitFor();
    // Open one operation: its error codes are listed.
    await page.getByText('/v1/secrets/{key}/rollback').first().click();
    await page.getByText('VERSION_NOT_FOUND').first().waitFor();
    await page.waitForLoadState('networkidle');

    // The page shows this server's document only: a `?url=` elsewhere is not followed.
    await page.goto(`${server.url}/docs?url=https://elsewhere.example/spec.json`);
    await page.getByText('/v1/secrets/{key}/rollback').first().waitFor();
    await page.waitForLoadState('networkidle');

    assert.deepEqual(elsewhere, []);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
