/**
 * The console as an owner uses it, in Debian's Chromium against a real server on a real
 * port (SQLite): sign in (a wrong key first), create a secret, find it with the search,
 * reveal it (absent from the page and from every response until then), edit it while
 * someone else changes it (the conflict is shown, nothing overwritten), roll back, revoke
 * and restore, delete, find the read in the audit log, sign out.
 */
import Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';
import {
  BROWSER_SKIP,
  launch,
  openPage,
  pageText,
  screenshot,
  signInAs,
  type Watched,
} from './helpers/browser.js';

const VALUE = 'sk_live_console_9f8e7d6c5b4a';
const NEW_VALUE = 'sk_live_console_rotated_1a2b3c';

describe('the console, end to end as an owner [sqlite]', { skip: BROWSER_SKIP }, () => {
  let server: TestServer;
  let browser: Browser;
  let tab: Watched;
  let sdk: Ductape;

  before(async () => {
    server = await startTestServer();
    browser = await launch();
    tab = await openPage(browser);
    sdk = server.client(server.owner);
    await sdk.secrets.create({ key: 'OTHER_KEY', value: 'other-value', envs: ['dev'] });
  });
  after(async () => {
    await tab?.close();
    await browser?.close();
    await server?.stop();
  });

  it('refuses a wrong private key with the server message; the key field is a password field', async () => {
    const { page } = tab;
    await page.goto(`${server.url}/`);
    assert.equal(await page.getByLabel('Private key').getAttribute('type'), 'password');
    await page.getByLabel('Workspace ID').fill(server.owner.workspace_id);
    await page.getByLabel('User ID').fill(server.owner.user_id);
    await page.getByLabel('Private key').fill('dtk_wrong_wrong_wrong');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const expected = await new Ductape({ ...server.owner, private_key: 'dtk_wrong', url: server.url })
      .init()
      .then(
        () => '',
        (error: Error) => error.message,
      );
    assert.equal((await alert.textContent())?.trim(), expected);
  });

  it('signs in, creates a secret and finds it with the search', async () => {
    const { page } = tab;
    await signInAs(page, server.url, server.owner);
    await page.getByRole('button', { name: 'New secret' }).click();
    await page.getByLabel('Key').fill('STRIPE_API_KEY');
    await page.getByLabel('Value').fill(VALUE);
    await page.getByLabel('Description').fill('Payments');
    await page.getByLabel('Type').selectOption('api');
    await page.getByLabel('Apps').fill('stripe_payments, billing');
    await page.getByLabel('Environments').fill('prd');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'STRIPE_API_KEY', level: 1 }).waitFor();
    assert.equal((await sdk.secrets.fetch('STRIPE_API_KEY')).value, VALUE);

    await page.getByRole('link', { name: 'Secrets', exact: true }).click();
    await page.getByLabel('Search').fill('stripe');
    const table = page.getByRole('table', { name: 'Secrets' });
    await table.getByRole('link', { name: 'STRIPE_API_KEY' }).waitFor();
    assert.equal(await table.getByRole('link', { name: 'OTHER_KEY' }).count(), 0);
  });

  it('keeps the value out of the page and out of every response until Reveal is clicked', async () => {
    const { page } = tab;
    await page.getByRole('table', { name: 'Secrets' }).getByRole('link', { name: 'STRIPE_API_KEY' }).click();
    await page.getByRole('heading', { name: 'STRIPE_API_KEY', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Reveal' }).waitFor();
    await tab.settle();
    assert.equal((await pageText(page)).includes(VALUE), false, 'the value is in the page before Reveal');
    assert.equal(
      tab.bodies.some((body) => body.includes(VALUE)),
      false,
      'a response carried the value before Reveal',
    );
    await page.getByRole('button', { name: 'Reveal' }).click();
    const shown = page.getByLabel('Value of STRIPE_API_KEY');
    await shown.waitFor();
    assert.equal(await shown.inputValue(), VALUE);
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await screenshot(page, 'flow-revealed-desktop');
    await page.getByRole('button', { name: 'Hide' }).click();
    assert.equal((await pageText(page)).includes(VALUE), false, 'Hide left the value in the page');
  });

  it('shows a concurrent change instead of overwriting it, then saves on request', async () => {
    const { page } = tab;
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit STRIPE_API_KEY' }).waitFor();
    // The form appears once the secret (and the version the edit starts from) has loaded;
    // it never holds the value.
    await page.getByLabel('Description').waitFor();
    assert.equal(await page.getByLabel('Value').inputValue(), '');
    const loaded = await sdk.secrets.metadata('STRIPE_API_KEY');
    // Someone else changes it while the form is open.
    await sdk.secrets.update('STRIPE_API_KEY', { description: 'Changed by a teammate' });
    await page.getByLabel('Description').fill('My description');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const conflict = page.getByRole('alert').filter({ hasText: 'Someone else changed' });
    await conflict.waitFor();
    const text = (await conflict.textContent()) ?? '';
    assert.match(text, /Changed by a teammate/);
    assert.match(text, /Payments/);
    assert.match(text, new RegExp(`version ${loaded.version} to version ${loaded.version + 1}`));
    await screenshot(page, 'flow-conflict-desktop');
    assert.equal((await sdk.secrets.metadata('STRIPE_API_KEY')).description, 'Changed by a teammate');

    await page.getByLabel('Value').fill(NEW_VALUE);
    await page.getByRole('button', { name: 'Save mine over theirs' }).click();
    await page.getByRole('heading', { name: 'STRIPE_API_KEY', level: 1 }).waitFor();
    const saved = await sdk.secrets.fetch('STRIPE_API_KEY');
    assert.equal(saved.description, 'My description');
    assert.equal(saved.value, NEW_VALUE);
  });

  it('rolls back to the first version', async () => {
    const { page } = tab;
    await page.getByRole('button', { name: 'Roll back to version 1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, roll back' }).click();
    await page.getByRole('status').filter({ hasText: 'Rolled back' }).waitFor();
    assert.equal((await sdk.secrets.fetch('STRIPE_API_KEY')).value, VALUE);
  });

  it('revokes naming what stops working, then restores', async () => {
    const { page } = tab;
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog');
    const said = (await dialog.textContent()) ?? '';
    assert.match(said, /stripe_payments, billing/);
    assert.match(said, /prd/);
    await dialog.getByRole('button', { name: 'Yes, revoke' }).click();
    await page.getByRole('button', { name: 'Restore' }).waitFor();
    assert.equal((await sdk.secrets.metadata('STRIPE_API_KEY')).status, 'revoked');
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, restore' }).click();
    await page.getByRole('button', { name: 'Revoke' }).waitFor();
    assert.equal((await sdk.secrets.metadata('STRIPE_API_KEY')).status, 'active');
  });

  it('shows the read in the audit log', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Key').fill('STRIPE_API_KEY');
    await page.getByLabel('Action').selectOption('secret.read');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByRole('table').getByRole('row').filter({ hasText: 'secret.read' });
    await rows.first().waitFor();
    assert.ok((await rows.count()) >= 1);
    assert.match((await rows.first().textContent()) ?? '', new RegExp(server.owner.user_id));
  });

  it('deletes after a confirmation, then signs out and forgets the session', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Secrets', exact: true }).click();
    await page.getByRole('table', { name: 'Secrets' }).getByRole('link', { name: 'STRIPE_API_KEY' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('heading', { name: 'Secrets', level: 1 }).waitFor();
    assert.equal(await sdk.secrets.exists('STRIPE_API_KEY'), false);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]);
    assert.deepEqual(stored, [0, 0, '']);
    assert.deepEqual(tab.problems, []);
  });
});
