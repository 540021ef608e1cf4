/**
 * Role-aware pages, on both stores (the PostgreSQL run is the console's smoke test there):
 * a viewer is offered no Reveal, no writes and none of the admin pages (and the value never
 * reaches the page); an admin gets the audit log and service tokens but not members; a
 * service token signs in to read-only views and may reveal only what its binding allows.
 */
import type { TokenType } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { describeEachBackend } from '../../server/test/helpers/backends.js';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';
import { BROWSER_SKIP, launch, openPage, pageText, signInAs, type Watched } from './helpers/browser.js';

const VALUE = 'viewer-must-never-see-this-7c1d';
const SCOPED = 'scoped-value-for-checkout-prd-5e2a';

const navLinks = async (page: Page): Promise<string[]> =>
  (await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).map((t) =>
    t.trim(),
  );

/** Client-side navigation, as a link would do (a reload would sign out: the session is in memory). */
const goTo = (page: Page, path: string) =>
  page.evaluate((to) => {
    history.pushState(null, '', to);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);

describe('the console by role', { skip: BROWSER_SKIP }, () => {
  describeEachBackend('role-aware pages', (backend) => {
    let server: TestServer;
    let browser: Browser;
    let tab: Watched;

    before(async () => {
      server = await startTestServer({}, backend);
      browser = await launch();
      const sdk = server.client(server.owner);
      await sdk.secrets.create({ key: 'VIEWED_KEY', value: VALUE, token_type: 'password' as TokenType });
      await sdk.secrets.create({ key: 'CHECKOUT_KEY', value: SCOPED, scope: ['checkout'], envs: ['prd'] });
      await sdk.secrets.create({ key: 'BILLING_ONLY', value: 'billing-value', scope: ['billing'] });
    });
    after(async () => {
      await tab?.close();
      await browser?.close();
      await server?.stop();
    });

    it('offers a viewer no Reveal, no change and no admin page; the value never reaches the page', async () => {
      tab = await openPage(browser);
      const { page } = tab;
      await signInAs(page, server.url, await server.newUser('viewer'));
      assert.deepEqual(await navLinks(page), ['Secrets']);
      assert.equal(await page.getByRole('button', { name: 'New secret' }).count(), 0);
      await page.getByRole('link', { name: 'VIEWED_KEY' }).click();
      await page.getByRole('heading', { name: 'VIEWED_KEY', level: 1 }).waitFor();
      await page.getByRole('heading', { name: 'Versions' }).waitFor();
      for (const name of ['Reveal', 'Edit', 'Revoke', 'Delete', 'Restore']) {
        assert.equal(await page.getByRole('button', { name }).count(), 0, `a viewer is offered ${name}`);
      }
      assert.equal(await page.getByRole('button', { name: /Roll back/ }).count(), 0);
      await page.getByText('Your role (viewer) cannot read values').waitFor();
      await goTo(page, '/audit');
      await page.getByRole('alert').filter({ hasText: 'admin or owner' }).waitFor();
      await tab.settle();
      assert.equal((await pageText(page)).includes(VALUE), false);
      assert.equal(
        tab.bodies.some((body) => body.includes(VALUE)),
        false,
      );
      assert.deepEqual(tab.problems, []);
      await tab.close();
    });

    it('gives an admin the audit log and service tokens, not the members', async () => {
      tab = await openPage(browser);
      await signInAs(tab.page, server.url, await server.newUser('admin'));
      assert.deepEqual(await navLinks(tab.page), ['Secrets', 'Import', 'Audit log', 'Service tokens']);
      await tab.close();
    });

    it('signs a service token in to read-only views; it reveals only what its app and environment may use', async () => {
      const token = (await server.client(server.owner).tokens.create({ app: 'checkout', env: 'prd' })).token;
      tab = await openPage(browser);
      const { page } = tab;
      await page.goto(`${server.url}/`);
      await page.getByLabel('A program (read-only)').check();
      await page.getByLabel('Service token', { exact: true }).fill(token);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { name: 'Secrets', level: 1 }).waitFor();
      assert.deepEqual(await navLinks(page), ['Secrets']);
      assert.equal(await page.getByRole('button', { name: 'New secret' }).count(), 0);
      await page.getByText('read-only').first().waitFor();

      await page.getByRole('link', { name: 'CHECKOUT_KEY' }).click();
      await page.getByRole('heading', { name: 'CHECKOUT_KEY', level: 1 }).waitFor();
      for (const name of ['Edit', 'Revoke', 'Delete']) {
        assert.equal(await page.getByRole('button', { name }).count(), 0, `a token is offered ${name}`);
      }
      await page.getByRole('button', { name: 'Reveal' }).click();
      assert.equal(await page.getByLabel('Value of CHECKOUT_KEY').inputValue(), SCOPED);

      await page.getByRole('link', { name: '← All secrets' }).click();
      await page.getByRole('link', { name: 'VIEWED_KEY' }).click();
      // VIEWED_KEY is for every app and environment: the token may read it too.
      await page.getByRole('heading', { name: 'VIEWED_KEY', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Reveal' }).waitFor();

      // Out of its app's scope: not listed, and even its metadata is refused; nothing is offered.
      await page.getByRole('link', { name: '← All secrets' }).click();
      await page.getByRole('link', { name: 'CHECKOUT_KEY' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'BILLING_ONLY' }).count(), 0);
      await goTo(page, '/secrets/BILLING_ONLY');
      await page.getByRole('alert').filter({ hasText: 'BILLING_ONLY' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Reveal' }).count(), 0);
      assert.deepEqual(tab.problems, []);
      await tab.close();
    });
  });
});
