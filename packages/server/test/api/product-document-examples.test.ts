/**
 * Every example of the product document (Ductape's "Managing Secrets" guide, see
 * docs/product.md), run as written by plain node against a real server: only the
 * credentials and the url are ours. The results the examples print and hold are then
 * checked field by field.
 */
import type Ductape from '@ductape/sdk';
import type { Secret, SecretWithValue } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import * as doc from './document-examples.js';
import { runExample } from './examples.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY = 24 * 60 * 60;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const SECRET_FIELDS = [
  '_id',
  'workspace_id',
  'key',
  'description',
  'token_type',
  'scope',
  'envs',
  'expires_at',
  'status',
  'revoked_at',
  'version',
  'createdAt',
  'updatedAt',
].sort();

function assertIso(value: unknown, from: number, to: number): void {
  assert.equal(typeof value, 'string');
  assert.match(value as string, ISO);
  const ms = Date.parse(value as string);
  assert.ok(ms >= from - 1 && ms <= to + 1, `${String(value)} not within the run`);
}

async function assertStatus(call: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(call, (error: { response?: { status?: number }; code?: string }) => {
    assert.equal(error.response?.status, status);
    assert.equal(error.code, code);
    return true;
  });
}

describeEachBackend('the product document, example by example', (backend) => {
  let server: TestServer;
  let owner: Credentials;
  let sdk: Ductape;
  let created: Secret;
  const run = (example: string, capture: string[] = [], who?: Credentials) =>
    runExample(who ?? owner, server.url, example, capture);

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.owner;
    sdk = server.client(owner);
    await sdk.init();
  });
  after(() => server.stop());

  it('Create a Secret: answers the documented shape, with status and without the value', async () => {
    const from = Date.now();
    const { lines, captured } = await run(doc.CREATE, ['secret']);
    const to = Date.now();
    assert.deepEqual(lines, ['Secret created: STRIPE_API_KEY']);
    const secret = captured.secret as Secret;
    assert.deepEqual(Object.keys(secret).sort(), SECRET_FIELDS);
    assert.equal('value' in secret, false);
    assert.match(secret._id, /^[0-9a-f]{24}$/);
    assert.equal(secret.workspace_id, owner.workspace_id);
    assert.equal(secret.key, 'STRIPE_API_KEY');
    assert.equal(secret.description, 'Production Stripe API key for payment processing');
    assert.equal(secret.token_type, 'api');
    assert.deepEqual(secret.scope, ['stripe_payments', 'checkout_service']);
    assert.deepEqual(secret.envs, ['prd', 'staging']);
    assert.ok(Number.isInteger(secret.expires_at));
    const expires = secret.expires_at as number;
    assert.ok(expires >= Math.floor(from / 1000) + 365 * DAY && expires <= Math.floor(to / 1000) + 365 * DAY);
    assertIso(secret.createdAt, from, to);
    assert.equal(secret.updatedAt, secret.createdAt);
    assert.equal(secret.status, 'active');
    assert.equal(secret.revoked_at, null);
    assert.equal(secret.version, 1);
    created = secret;
  });

  it('List All Secrets: prints every secret and returns metadata only', async () => {
    await sdk.secrets.create({
      key: 'SENDGRID_KEY',
      value: 'SG.sendgrid-value',
      description: 'SendGrid API key for emails',
      token_type: 'api',
      scope: ['email_service'],
      envs: ['dev', 'staging', 'prd'],
    });
    await sdk.secrets.create({ key: 'BARE_KEY', value: 'bare-value' });
    const { lines, captured } = await run(doc.LIST, ['secrets']);
    assert.deepEqual(lines, [
      'BARE_KEY: No description',
      ' Type: Not specified',
      ' Scope: All apps',
      ' Environments: All environments',
      'SENDGRID_KEY: SendGrid API key for emails',
      ' Type: api',
      ' Scope: email_service',
      ' Environments: dev, staging, prd',
      'STRIPE_API_KEY: Production Stripe API key for payment processing',
      ' Type: api',
      ' Scope: stripe_payments, checkout_service',
      ' Environments: prd, staging',
    ]);
    const secrets = captured.secrets as Secret[];
    assert.equal(secrets.length, 3);
    for (const s of secrets) {
      assert.deepEqual(Object.keys(s).sort(), SECRET_FIELDS, `${s.key} has other fields`);
      assert.equal(s.workspace_id, owner.workspace_id);
    }
    assert.deepEqual(
      secrets.find((s) => s.key === 'STRIPE_API_KEY'),
      created,
    );
    const sendgrid = secrets.find((s) => s.key === 'SENDGRID_KEY');
    assert.equal(sendgrid?.expires_at, null);
    // The SDK's list() is the same call.
    assert.deepEqual(await sdk.secrets.list(), secrets);
  });

  it('Fetch a Single Secret: returns the decrypted value with the metadata', async () => {
    const { lines, captured } = await run(doc.FETCH, ['secret']);
    assert.deepEqual(lines, [
      'Key: STRIPE_API_KEY',
      'Value: sk_live_51ABC123...',
      'Description: Production Stripe API key for payment processing',
    ]);
    const secret = captured.secret as SecretWithValue;
    assert.deepEqual(Object.keys(secret).sort(), [...SECRET_FIELDS, 'value'].sort());
    const { value, ...meta } = secret;
    assert.equal(value, 'sk_live_51ABC123...');
    assert.deepEqual(meta, created);
  });

  it('Update a Secret: new value and expiry; updatedAt moves, createdAt stays', async () => {
    const from = Date.now();
    const { lines, captured } = await run(doc.UPDATE, ['updated']);
    const to = Date.now();
    const updated = captured.updated as Secret;
    assert.equal('value' in updated, false);
    const expires = updated.expires_at as number;
    assert.ok(Number.isInteger(expires));
    assert.ok(expires >= Math.floor(from / 1000) + 180 * DAY && expires <= Math.floor(to / 1000) + 180 * DAY);
    const expiration = new Date(expires * 1000);
    assert.ok(!Number.isNaN(expiration.getTime()));
    assert.deepEqual(lines, [
      'Secret updated: STRIPE_API_KEY',
      `New expiration: ${expiration.toISOString()}`,
    ]);
    assert.equal(updated._id, created._id);
    assert.equal(updated.description, 'Rotated Stripe API key - January 2025');
    assert.deepEqual(updated.scope, created.scope);
    assert.equal(updated.createdAt, created.createdAt);
    assertIso(updated.updatedAt, from, to);
    assert.ok(Date.parse(updated.updatedAt) > Date.parse(created.updatedAt));
    assert.equal(updated.version, 2);
    const fetched = await sdk.secrets.fetch('STRIPE_API_KEY');
    assert.equal(fetched.value, 'sk_live_51NEW_KEY...');
    assert.equal(fetched.updatedAt, updated.updatedAt);
  });

  it('Update Metadata Only: scope and envs change, the value is kept', async () => {
    const before = await sdk.secrets.fetch('STRIPE_API_KEY');
    const { captured } = await run(doc.UPDATE_METADATA, ['updated']);
    const updated = captured.updated as Secret;
    assert.deepEqual(updated.scope, ['stripe_payments', 'subscription_service', 'invoice_service']);
    assert.deepEqual(updated.envs, ['dev', 'staging', 'prd']);
    assert.equal(updated.description, before.description);
    assert.equal(updated.expires_at, before.expires_at);
    assert.equal(
      updated.version,
      before.version + 1,
      'a metadata change is a new version too (for check-and-set)',
    );
    assert.ok(Date.parse(updated.updatedAt) > Date.parse(before.updatedAt));
    const after = await sdk.secrets.fetch('STRIPE_API_KEY');
    assert.equal(after.value, 'sk_live_51NEW_KEY...');
    assert.deepEqual(after.envs, ['dev', 'staging', 'prd']);
  });

  it('Delete a Secret: returns true, then the key is gone (404 for fetch and delete)', async () => {
    await sdk.secrets.create({ key: 'OLD_API_KEY', value: 'old-value' });
    const { lines, captured } = await run(doc.DELETE, ['deleted']);
    assert.equal(captured.deleted, true);
    assert.deepEqual(lines, ['Secret successfully deleted']);
    await assertStatus(sdk.secrets.fetch('OLD_API_KEY'), 404, 'SECRET_NOT_FOUND');
    await assertStatus(sdk.secrets.delete('OLD_API_KEY'), 404, 'SECRET_NOT_FOUND');
    assert.equal(await sdk.secrets.exists('OLD_API_KEY'), false);
    assert.equal(
      (await sdk.secrets.list()).some((s) => s.key === 'OLD_API_KEY'),
      false,
    );
  });

  it('Revoke a Secret: listed as revoked, fetch is 410, restore() re-enables it', async () => {
    await sdk.secrets.create({ key: 'COMPROMISED_KEY', value: 'compromised-value' });
    const from = Date.now();
    const { lines, captured } = await run(doc.REVOKE, ['revoked']);
    const to = Date.now();
    assert.equal(captured.revoked, true);
    assert.deepEqual(lines, ['Secret has been revoked']);
    const listed = (await sdk.secrets.fetchAll()).find((s) => s.key === 'COMPROMISED_KEY');
    assert.equal(listed?.status, 'revoked');
    assertIso(listed?.revoked_at, from, to);
    await assertStatus(sdk.secrets.fetch('COMPROMISED_KEY'), 410, 'SECRET_REVOKED');
    assert.equal(await sdk.secrets.exists('COMPROMISED_KEY'), true);
    assert.equal(await sdk.secrets.restore('COMPROMISED_KEY'), true);
    const restored = await sdk.secrets.fetch('COMPROMISED_KEY');
    assert.equal(restored.value, 'compromised-value');
    assert.equal(restored.status, 'active');
    assert.equal(restored.revoked_at, null);
  });

  it('Best practices: token rotation, scope restriction and environment separation', async () => {
    const from = nowSeconds();
    const rotation = (await run(doc.TOKEN_ROTATION, ['secret'])).captured.secret as Secret;
    const expires = rotation.expires_at as number;
    assert.ok(expires >= from + 90 * DAY && expires <= nowSeconds() + 90 * DAY);
    assert.equal((await sdk.secrets.fetch('PCI_COMPLIANT_KEY')).value, 'sensitive_value');

    const scoped = (await run(doc.SCOPE_RESTRICTION, ['secret'])).captured.secret as Secret;
    assert.deepEqual(scoped.scope, ['payment_processor', 'subscription_handler']);
    assert.deepEqual(scoped.envs, ['prd']);
    assert.equal((await sdk.secrets.fetch('STRIPE_SECRET')).value, 'sk_live_xxx');

    await run(doc.ENVIRONMENT_SEPARATION);
    const dev = await sdk.secrets.fetch('STRIPE_KEY_DEV');
    const prod = await sdk.secrets.fetch('STRIPE_KEY_PROD');
    assert.deepEqual([dev.value, dev.envs], ['sk_test_xxx', ['dev']]);
    assert.deepEqual([prod.value, prod.envs], ['sk_live_xxx', ['prd']]);
  });

  it('Error Handling: first run creates, a second takes the 409 branch', async () => {
    const first = await run(doc.ERROR_HANDLING);
    assert.equal(first.stderr, '');
    assert.equal((await sdk.secrets.fetch('MY_SECRET')).value, 'secret_value');
    const second = await run(doc.ERROR_HANDLING);
    assert.equal(second.stderr, 'Secret with this key already exists\n');
  });

  it('Error Handling: a viewer takes the 403 branch and nothing is created', async () => {
    const viewer = await server.newUser('viewer');
    await sdk.secrets.delete('MY_SECRET');
    const run403 = await run(doc.ERROR_HANDLING, [], viewer);
    assert.equal(run403.stderr, 'You do not have permission to create secrets\n');
    assert.equal(await sdk.secrets.exists('MY_SECRET'), false);
  });
});
