/**
 * `ductape.secrets.metadata(key)`: one secret without its value, for any role, and not
 * recorded as a read of the value (the console loads a secret's page with it; only Reveal
 * is a read). Another workspace's secret is simply not found.
 */
import type { Secret } from '@ductape/sdk';
import { isDuctapeError } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';

const VALUE = 'metadata-must-not-carry-this-3f9a';
const FIELDS = [
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

describeEachBackend('secrets.metadata(key) in the SDK', (backend) => {
  let server: TestServer;
  let created: Secret;

  before(async () => {
    server = await startTestServer({}, backend);
    created = await server.client(server.owner).secrets.create({
      key: 'META_KEY',
      value: VALUE,
      description: 'for the console',
      scope: ['web'],
      envs: ['prd'],
    });
  });
  after(() => server.stop());

  it('returns the metadata, never the value, to any role', async () => {
    const viewer = server.client(await server.newUser('viewer'));
    const meta = await viewer.secrets.metadata('META_KEY');
    assert.deepEqual(Object.keys(meta).sort(), FIELDS);
    assert.equal(JSON.stringify(meta).includes(VALUE), false);
    assert.deepEqual(meta, created);
  });

  it('is not recorded as a read of the value', async () => {
    const owner = server.client(server.owner);
    await owner.secrets.metadata('META_KEY');
    await owner.secrets.metadata('META_KEY');
    const reads = await owner.audit.list({ key: 'META_KEY', action: 'secret.read' });
    assert.equal(reads.entries.length, 0);
    await owner.secrets.fetch('META_KEY');
    assert.equal((await owner.audit.list({ key: 'META_KEY', action: 'secret.read' })).entries.length, 1);
  });

  it("answers 404 for a missing key and for another workspace's secret", async () => {
    const stranger = server.client(await server.newWorkspace());
    for (const [client, key] of [
      [server.client(server.owner), 'NO_SUCH_KEY'],
      [stranger, 'META_KEY'],
    ] as const) {
      await assert.rejects(client.secrets.metadata(key), (error: unknown) => {
        assert.ok(isDuctapeError(error));
        assert.equal(error.status, 404);
        assert.equal(error.code, 'SECRET_NOT_FOUND');
        assert.equal(error.message, `Secret '${key}' not found`);
        return true;
      });
    }
  });
});
