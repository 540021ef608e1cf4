/**
 * A workspace of 10,000 secrets in the browser: the page draws only the rows in view (the
 * table still says it has 10,001 rows), the search finds one key among them, and scrolling
 * to the end shows the last key. Timings are the budget script's job (npm run bench:console).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';
import { BROWSER_SKIP, launch, openPage, signInAs, type Watched } from './helpers/browser.js';
import { seededKey, seedSecrets } from './helpers/seed.js';

const COUNT = 10_000;

describe('the secrets page with 10,000 secrets [sqlite]', { skip: BROWSER_SKIP }, () => {
  let server: TestServer;
  let browser: Browser;
  let tab: Watched;

  before(async () => {
    server = await startTestServer();
    await seedSecrets(server.client(server.owner), COUNT);
    browser = await launch();
    tab = await openPage(browser);
  });
  after(async () => {
    await tab?.close();
    await browser?.close();
    await server?.stop();
  });

  it('draws only the visible rows, finds one key and reaches the last', async () => {
    const { page } = tab;
    await signInAs(page, server.url, server.owner);
    await page.getByText('Showing 10,000 of 10,000 secrets').waitFor();
    const table = page.getByRole('table', { name: 'Secrets' });
    assert.equal(await table.getAttribute('aria-rowcount'), String(COUNT + 1));
    const drawn = await table.getByRole('row').count();
    assert.ok(drawn > 5 && drawn < 80, `${drawn} rows in the DOM`);

    await page.getByLabel('Search').fill(seededKey(7777));
    await page.getByText('Showing 1 of 10,000 secrets').waitFor();
    await table.getByRole('link', { name: seededKey(7777) }).waitFor();

    await page.getByLabel('Search').fill('');
    await page.getByText('Showing 10,000 of 10,000 secrets').waitFor();
    await page.locator('.grid-body').evaluate((body) => body.scrollTo(0, body.scrollHeight));
    await table.getByRole('link', { name: seededKey(COUNT - 1) }).waitFor();
    assert.ok((await table.getByRole('row').count()) < 80);

    // The status filter: every seeded key whose expiry is 3 days away.
    await page.getByLabel('Status').selectOption('expiring');
    await page.getByText(`Showing ${COUNT / 100} of 10,000 secrets`).waitFor();
    assert.deepEqual(tab.problems, []);
  });
});
