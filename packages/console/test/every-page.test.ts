/**
 * Every page of the console, at a desktop and at a phone's width: axe-core finds no serious
 * or critical violation, no Content-Security-Policy violation or page error happens, and a
 * screenshot of each goes to packages/console/screenshots/ (git-ignored) to be looked at.
 * Along the way: a validation message next to its field, the import preview and progress,
 * the availability view with a bulk "add an environment", a member's key and a service
 * token shown once, and the last-owner guard's message.
 */
import type Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';
import {
  assertAccessible,
  BROWSER_SKIP,
  DESKTOP,
  launch,
  openPage,
  PHONE,
  screenshot,
  signInAs,
  type Watched,
} from './helpers/browser.js';

const DAY = 86_400;

describe('every console page, checked and photographed [sqlite]', { skip: BROWSER_SKIP }, () => {
  let server: TestServer;
  let browser: Browser;
  let sdk: Ductape;

  before(async () => {
    server = await startTestServer();
    browser = await launch();
    sdk = server.client(server.owner);
    const now = Math.floor(Date.now() / 1000);
    await sdk.secrets.create({
      key: 'STRIPE_API_KEY',
      value: 'sk_live_pages',
      token_type: 'api',
      description: 'Stripe live key',
      scope: ['checkout', 'billing'],
      envs: ['prd'],
    });
    await sdk.secrets.create({ key: 'DATABASE_URL', value: 'postgres://x', envs: ['dev', 'staging', 'prd'] });
    await sdk.secrets.create({ key: 'SENDGRID_KEY', value: 'sg', envs: ['dev'], expires_at: now + 3 * DAY });
    await sdk.secrets.create({ key: 'OLD_TOKEN', value: 'old', token_type: 'bearer', envs: ['staging'] });
    await sdk.secrets.revoke('OLD_TOKEN');
    await sdk.secrets.create({ key: 'SHARED_FLAG', value: 'on' });
    await sdk.secrets.update('STRIPE_API_KEY', { value: 'sk_live_pages_2' });
    await sdk.tokens.create({ app: 'checkout', env: 'prd', description: 'checkout service' });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`passes axe on every page at ${size} width`, async () => {
      const tab: Watched = await openPage(browser, viewport);
      const { page } = tab;
      const check = async (name: string): Promise<void> => {
        await tab.settle();
        await assertAccessible(page, `${name} (${size})`);
        await screenshot(page, `${name}-${size}`);
      };
      try {
        await page.goto(`${server.url}/`);
        await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
        await check('signin');

        await signInAs(page, server.url, server.owner);
        await page.getByRole('link', { name: 'SENDGRID_KEY' }).waitFor();
        await check('secrets');
        const sendgrid = page.getByRole('row').filter({ hasText: 'SENDGRID_KEY' });
        assert.match((await sendgrid.textContent()) ?? '', /expires in 3 days/);
        assert.match(
          (await page.getByRole('row').filter({ hasText: 'OLD_TOKEN' }).textContent()) ?? '',
          /revoked/,
        );

        await page.getByRole('button', { name: 'By environment' }).click();
        await page.getByRole('table', { name: 'Availability by environment' }).waitFor();
        await page.getByLabel('Select DATABASE_URL').check();
        await page.getByLabel('Select STRIPE_API_KEY').check();
        await page.getByLabel('Select SHARED_FLAG').check();
        await page.getByLabel('Environment to add').fill('qa');
        await page.getByRole('button', { name: 'Add to 3 selected' }).click();
        await page.getByRole('status').filter({ hasText: 'Added to 2 keys' }).waitFor();
        assert.deepEqual((await sdk.secrets.metadata('DATABASE_URL')).envs, ['dev', 'staging', 'prd', 'qa']);
        // No environment list means every environment: adding one would narrow it, so it is left alone.
        assert.deepEqual((await sdk.secrets.metadata('SHARED_FLAG')).envs, []);
        await page.getByRole('columnheader', { name: 'qa' }).waitFor();
        await check('secrets-by-environment');
        await sdk.secrets.update('DATABASE_URL', { envs: ['dev', 'staging', 'prd'] });
        await sdk.secrets.update('STRIPE_API_KEY', { envs: ['prd'] });

        await page.getByRole('button', { name: 'List' }).click();
        await page.getByRole('button', { name: 'New secret' }).click();
        await page.getByLabel('Key').fill('bad key!');
        await page.getByLabel('Value').fill('v');
        await page.getByRole('button', { name: 'Create' }).click();
        const keyError = page.locator('#error-key');
        await keyError.waitFor();
        assert.match((await keyError.textContent()) ?? '', /key/);
        assert.equal(await page.getByLabel('Key').getAttribute('aria-invalid'), 'true');
        await check('secret-new-invalid');

        await page.getByRole('link', { name: 'Secrets', exact: true }).click();
        await page.getByRole('link', { name: 'STRIPE_API_KEY' }).click();
        await page.getByRole('button', { name: 'Reveal' }).waitFor();
        await check('secret');
        await page.getByRole('button', { name: 'Revoke' }).click();
        const dialog = page.getByRole('dialog');
        await dialog.getByText('checkout in prd').waitFor();
        await check('secret-revoke-dialog');
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await page.getByRole('button', { name: 'Edit' }).click();
        await page.getByRole('heading', { name: 'Edit STRIPE_API_KEY' }).waitFor();
        await page.getByLabel('Description').waitFor();
        await check('secret-edit');

        await page.getByRole('link', { name: 'Import' }).click();
        await page
          .getByLabel('File contents')
          .fill(
            `# pasted\nIMPORTED_ONE=1\nexport IMPORTED_TWO="two words"\nSTRIPE_API_KEY=dup\nbad key=x\nEMPTY=\n`,
          );
        await page.getByRole('heading', { name: /Preview: 2 to import, 2 failing/ }).waitFor();
        await page.getByRole('alert').filter({ hasText: 'line 5: not KEY=value' }).waitFor();
        await check('import-preview');
        await page.getByRole('button', { name: 'Import 2 secrets' }).click();
        await page.getByRole('status').filter({ hasText: 'Imported: 2 created' }).waitFor();
        assert.equal((await sdk.secrets.fetch('IMPORTED_TWO')).value, 'two words');
        await sdk.secrets.delete('IMPORTED_ONE');
        await sdk.secrets.delete('IMPORTED_TWO');

        await page.getByRole('link', { name: 'Audit log' }).click();
        await page.getByRole('cell', { name: 'secret.create' }).first().waitFor();
        await check('audit');

        await page.getByRole('link', { name: 'Members' }).click();
        await page.getByLabel('Role', { exact: true }).selectOption('viewer');
        await page.getByRole('button', { name: 'Add member' }).click();
        const key = page.getByLabel('Private key');
        await key.waitFor();
        assert.match(await key.inputValue(), /^dtk_/);
        await page.getByRole('button', { name: 'Copy private key' }).waitFor();
        await check('members-new-key');
        await page.getByRole('button', { name: 'Done, I have copied it' }).click();
        assert.equal(await page.getByLabel('Private key').count(), 0);
        // The last owner cannot step down: the server's message is shown.
        await page.getByLabel(`Role of ${server.owner.user_id}`, { exact: true }).selectOption('admin');
        await page.getByRole('button', { name: `Change role of ${server.owner.user_id}` }).click();
        await page.getByRole('alert').filter({ hasText: /owner/ }).waitFor();
        await check('members');

        await page.getByRole('link', { name: 'Service tokens' }).click();
        await page.getByLabel('App').fill('web');
        await page.getByLabel('Environment').fill('dev');
        await page.getByLabel('Lifetime').selectOption({ label: '7 days' });
        await page.getByRole('button', { name: 'Create token' }).click();
        const token = page.getByLabel('Service token', { exact: true });
        await token.waitFor();
        assert.match(await token.inputValue(), /^dst_/);
        await check('tokens-new-token');
        await page.getByRole('button', { name: 'Done, I have copied it' }).click();
        await check('tokens');

        await page.evaluate(() => {
          history.pushState(null, '', '/no/such/page');
          dispatchEvent(new PopStateEvent('popstate'));
        });
        await page.getByRole('heading', { name: 'Page not found' }).waitFor();
        await check('not-found');
        assert.deepEqual(tab.problems, []);
        // Works offline: no font, script or request goes anywhere but the server itself.
        assert.deepEqual(
          tab.requests.filter((url) => !url.startsWith(`${server.url}/`)),
          [],
        );
      } finally {
        await tab.close();
      }
    });
  }
});

export type { Page };
