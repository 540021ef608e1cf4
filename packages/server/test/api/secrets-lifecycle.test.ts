/**
 * The states of a secret beyond the document's examples, through the SDK: exists(),
 * expiry (and un-expiring by moving expires_at), and workspaces that cannot see each other.
 */
import type Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

async function assertStatus(call: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(call, (error: { response?: { status?: number }; code?: string; message?: string }) => {
    assert.equal(error.response?.status, status, error.message);
    assert.equal(error.code, code);
    return true;
  });
}

describeEachBackend('secret lifecycle', (backend) => {
  let server: TestServer;
  let sdk: Ductape;

  before(async () => {
    server = await startTestServer({}, backend);
    sdk = server.client(server.owner);
  });
  after(() => server.stop());

  it('exists() is true for a secret and false for an unknown key', async () => {
    await sdk.secrets.create({ key: 'EXISTING_KEY', value: 'v' });
    assert.equal(await sdk.secrets.exists('EXISTING_KEY'), true);
    assert.equal(await sdk.secrets.exists('MISSING_KEY'), false);
    assert.equal(await sdk.secrets.exists('existing_key'), false, 'keys are case-sensitive');
  });

  it('an expires_at in the past makes a secret expired: listed so, fetch is 410', async () => {
    const created = await sdk.secrets.create({
      key: 'EXPIRED_KEY',
      value: 'expired-value',
      expires_at: nowSeconds() - 60,
    });
    assert.equal(created.status, 'expired');
    const listed = (await sdk.secrets.list()).find((s) => s.key === 'EXPIRED_KEY');
    assert.equal(listed?.status, 'expired');
    assert.equal(listed?.revoked_at, null);
    await assertStatus(sdk.secrets.fetch('EXPIRED_KEY'), 410, 'SECRET_EXPIRED');
    assert.equal(await sdk.secrets.exists('EXPIRED_KEY'), true);
  });

  it('moving expires_at into the future makes an expired secret usable again', async () => {
    const future = nowSeconds() + 3600;
    const updated = await sdk.secrets.update('EXPIRED_KEY', { expires_at: future });
    assert.equal(updated.status, 'active');
    assert.equal(updated.expires_at, future);
    const fetched = await sdk.secrets.fetch('EXPIRED_KEY');
    assert.equal(fetched.value, 'expired-value');
    assert.equal(fetched.status, 'active');
  });

  it('a secret becomes expired when its expires_at passes, and null means no expiry', async () => {
    // At least one whole second of life, so the first fetch cannot race the expiry.
    const expiresAt = nowSeconds() + 2;
    await sdk.secrets.create({ key: 'SHORT_LIVED', value: 'short', expires_at: expiresAt });
    assert.equal((await sdk.secrets.fetch('SHORT_LIVED')).value, 'short');
    await new Promise((r) => setTimeout(r, expiresAt * 1000 - Date.now() + 50));
    await assertStatus(sdk.secrets.fetch('SHORT_LIVED'), 410, 'SECRET_EXPIRED');
    const cleared = await sdk.secrets.update('SHORT_LIVED', { expires_at: null });
    assert.equal(cleared.expires_at, null);
    assert.equal(cleared.status, 'active');
    assert.equal((await sdk.secrets.fetch('SHORT_LIVED')).value, 'short');
  });

  it('a revoked secret that also expired stays revoked until restored, then reports expired', async () => {
    await sdk.secrets.create({ key: 'BOTH_KEY', value: 'both', expires_at: nowSeconds() - 10 });
    assert.equal(await sdk.secrets.revoke('BOTH_KEY'), true);
    await assertStatus(sdk.secrets.fetch('BOTH_KEY'), 410, 'SECRET_REVOKED');
    assert.equal(await sdk.secrets.restore('BOTH_KEY'), true);
    await assertStatus(sdk.secrets.fetch('BOTH_KEY'), 410, 'SECRET_EXPIRED');
  });
});

describeEachBackend('workspace isolation', (backend) => {
  let server: TestServer;
  let mine: Ductape;
  let theirs: Ductape;

  before(async () => {
    server = await startTestServer({}, backend);
    mine = server.client(server.owner);
    theirs = server.client(await server.newWorkspace('someone else'));
    await mine.secrets.create({ key: 'PRIVATE_KEY_A', value: 'only-for-a', description: 'A' });
  });
  after(() => server.stop());

  it("another workspace's secret is 404 for every operation and exists() is false", async () => {
    await assertStatus(theirs.secrets.fetch('PRIVATE_KEY_A'), 404, 'SECRET_NOT_FOUND');
    await assertStatus(theirs.secrets.update('PRIVATE_KEY_A', { value: 'x' }), 404, 'SECRET_NOT_FOUND');
    await assertStatus(theirs.secrets.update('PRIVATE_KEY_A', { description: 'x' }), 404, 'SECRET_NOT_FOUND');
    await assertStatus(theirs.secrets.revoke('PRIVATE_KEY_A'), 404, 'SECRET_NOT_FOUND');
    await assertStatus(theirs.secrets.restore('PRIVATE_KEY_A'), 404, 'SECRET_NOT_FOUND');
    await assertStatus(theirs.secrets.delete('PRIVATE_KEY_A'), 404, 'SECRET_NOT_FOUND');
    assert.equal(await theirs.secrets.exists('PRIVATE_KEY_A'), false);
    assert.deepEqual(await theirs.secrets.list(), []);
  });

  it('the attempts changed nothing in the owning workspace', async () => {
    const secret = await mine.secrets.fetch('PRIVATE_KEY_A');
    assert.equal(secret.value, 'only-for-a');
    assert.equal(secret.description, 'A');
    assert.equal(secret.status, 'active');
    assert.equal(secret.version, 1);
    assert.equal(secret.createdAt, secret.updatedAt);
  });

  it('the same key in two workspaces is two secrets, each listed only in its own', async () => {
    const other = await theirs.secrets.create({ key: 'PRIVATE_KEY_A', value: 'only-for-b' });
    const own = await mine.secrets.fetch('PRIVATE_KEY_A');
    assert.notEqual(other._id, own._id);
    assert.notEqual(other.workspace_id, own.workspace_id);
    assert.equal((await theirs.secrets.fetch('PRIVATE_KEY_A')).value, 'only-for-b');
    assert.equal((await mine.secrets.fetch('PRIVATE_KEY_A')).value, 'only-for-a');
    const mineListed = await mine.secrets.list();
    const theirsListed = await theirs.secrets.list();
    assert.deepEqual(
      mineListed.map((s) => s._id),
      [own._id],
    );
    assert.deepEqual(
      theirsListed.map((s) => s._id),
      [other._id],
    );
    assert.equal(await theirs.secrets.delete('PRIVATE_KEY_A'), true);
    assert.equal((await mine.secrets.fetch('PRIVATE_KEY_A')).value, 'only-for-a');
  });
});
