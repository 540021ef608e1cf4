/**
 * Who may do what, over a real port: each role through the SDK, and requests that are not
 * signed in (or signed by someone else) through raw HTTP.
 */
import type Ductape from '@ductape/sdk';
import type { Role, UserWhoAmI } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';

/** Expects a 403 whose message names the role the action needs. */
async function forbidden(call: Promise<unknown>, needed: Role): Promise<void> {
  await assert.rejects(call, (error: { response?: { status?: number }; code?: string; message: string }) => {
    assert.equal(error.response?.status, 403, error.message);
    assert.equal(error.code, 'FORBIDDEN');
    assert.match(error.message, new RegExp(`\\b${needed}\\b`));
    return true;
  });
}

describeEachBackend('roles', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  const as: Partial<Record<Role, Ductape>> = {};
  const client = (role: Role): Ductape => as[role] as Ductape;

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
    for (const role of ['viewer', 'developer', 'admin'] as const) {
      as[role] = server.client(await server.newUser(role));
    }
    await owner.secrets.create({ key: 'SHARED_KEY', value: 'shared-value', description: 'shared' });
  });
  after(() => server.stop());

  it('a viewer lists metadata and checks exists(), and nothing else', async () => {
    const viewer = client('viewer');
    const listed = await viewer.secrets.list();
    assert.deepEqual(
      listed.map((s) => s.key),
      ['SHARED_KEY'],
    );
    assert.equal('value' in (listed[0] as object), false);
    assert.equal(await viewer.secrets.exists('SHARED_KEY'), true);
    assert.equal(await viewer.secrets.exists('NOPE'), false);
    await forbidden(viewer.secrets.fetch('SHARED_KEY'), 'developer');
    await forbidden(viewer.secrets.create({ key: 'VIEWER_KEY', value: 'v' }), 'developer');
    await forbidden(viewer.secrets.update('SHARED_KEY', { value: 'viewer-was-here' }), 'developer');
    await forbidden(viewer.secrets.update('SHARED_KEY', { description: 'viewer' }), 'developer');
    await forbidden(viewer.secrets.delete('SHARED_KEY'), 'admin');
    await forbidden(viewer.secrets.revoke('SHARED_KEY'), 'admin');
    await forbidden(viewer.secrets.restore('SHARED_KEY'), 'admin');
    const after = await owner.secrets.fetch('SHARED_KEY');
    assert.equal(after.value, 'shared-value');
    assert.equal(after.description, 'shared');
    assert.equal(await owner.secrets.exists('VIEWER_KEY'), false);
  });

  it('a developer also fetches, creates and updates, but cannot delete, revoke or restore', async () => {
    const developer = client('developer');
    assert.equal((await developer.secrets.fetch('SHARED_KEY')).value, 'shared-value');
    await developer.secrets.create({ key: 'DEV_KEY', value: 'dev-value' });
    const updated = await developer.secrets.update('DEV_KEY', { value: 'dev-value-2', description: 'd' });
    assert.equal(updated.version, 2);
    assert.equal((await developer.secrets.fetch('DEV_KEY')).value, 'dev-value-2');
    await forbidden(developer.secrets.delete('DEV_KEY'), 'admin');
    await forbidden(developer.secrets.revoke('DEV_KEY'), 'admin');
    await owner.secrets.revoke('DEV_KEY');
    await forbidden(developer.secrets.restore('DEV_KEY'), 'admin');
    const listed = (await owner.secrets.list()).find((s) => s.key === 'DEV_KEY');
    assert.equal(listed?.status, 'revoked', 'the refused restore changed nothing');
    await owner.secrets.restore('DEV_KEY');
    assert.equal(await developer.secrets.exists('DEV_KEY'), true);
  });

  it('an admin also deletes, revokes and restores', async () => {
    const admin = client('admin');
    await admin.secrets.create({ key: 'ADMIN_KEY', value: 'admin-value' });
    assert.equal(await admin.secrets.revoke('ADMIN_KEY'), true);
    await assert.rejects(admin.secrets.fetch('ADMIN_KEY'), { code: 'SECRET_REVOKED' });
    assert.equal(await admin.secrets.restore('ADMIN_KEY'), true);
    assert.equal((await admin.secrets.fetch('ADMIN_KEY')).value, 'admin-value');
    assert.equal(await admin.secrets.delete('ADMIN_KEY'), true);
    assert.equal(await admin.secrets.delete('DEV_KEY'), true);
    assert.deepEqual(
      (await owner.secrets.list()).map((s) => s.key),
      ['SHARED_KEY'],
    );
  });

  it('whoami() reports each role', async () => {
    for (const role of ['viewer', 'developer', 'admin'] as const) {
      assert.equal(((await client(role).whoami()) as UserWhoAmI).role, role);
    }
    assert.equal(((await owner.whoami()) as UserWhoAmI).role, 'owner');
  });
});

describeEachBackend('requests that are not signed in', (backend) => {
  let server: TestServer;
  let other: TestServer;

  before(async () => {
    server = await startTestServer({}, backend);
    other = await startTestServer({}, backend);
    await server.client(server.owner).secrets.create({ key: 'GUARDED', value: 'guarded-value' });
  });
  after(async () => {
    await server.stop();
    await other.stop();
  });

  const routes: [string, string, unknown?][] = [
    ['GET', '/v1/secrets'],
    ['POST', '/v1/secrets', { key: 'NEW_ONE', value: 'v' }],
    ['GET', '/v1/secrets/GUARDED'],
    ['GET', '/v1/secrets/GUARDED/metadata'],
    ['PATCH', '/v1/secrets/GUARDED', { value: 'changed' }],
    ['DELETE', '/v1/secrets/GUARDED'],
    ['POST', '/v1/secrets/GUARDED/revoke'],
    ['POST', '/v1/secrets/GUARDED/restore'],
    ['GET', '/v1/me'],
  ];

  it('no Authorization header is 401 UNAUTHENTICATED on every route', async () => {
    for (const [method, path, body] of routes) {
      const answer = await rawRequest(server.url, method, path, { body });
      const error = assertErrorBody(answer, 401, 'UNAUTHENTICATED');
      assert.match(error.message, /Authorization/);
    }
  });

  it('a garbage bearer token is 401', async () => {
    for (const header of ['Bearer garbage', 'Bearer dat_abc.def', 'Basic dXNlcjpwYXNz', 'Bearer ', 'dat_x']) {
      for (const [method, path, body] of routes) {
        const answer = await rawRequest(server.url, method, path, {
          body,
          headers: { authorization: header },
        });
        assertErrorBody(answer, 401);
      }
    }
  });

  it('a token from another server (another master key) is 401 here, though valid there', async () => {
    const foreign = await accessToken(other.url, other.owner);
    assert.equal((await rawRequest(other.url, 'GET', '/v1/secrets', { token: foreign })).status, 200);
    for (const [method, path, body] of routes) {
      const answer = await rawRequest(server.url, method, path, { body, token: foreign });
      assertErrorBody(answer, 401, 'TOKEN_INVALID');
    }
  });

  it('a valid token works, and nothing above changed the guarded secret', async () => {
    const token = await accessToken(server.url, server.owner);
    const answer = await rawRequest(server.url, 'GET', '/v1/secrets/GUARDED', { token });
    assert.equal(answer.status, 200);
    const secret = answer.json as { value: string; version: number; status: string };
    assert.equal(secret.value, 'guarded-value');
    assert.equal(secret.version, 1);
    assert.equal(secret.status, 'active');
    const list = await rawRequest(server.url, 'GET', '/v1/secrets', { token });
    assert.deepEqual(
      (list.json as { secrets: { key: string }[] }).secrets.map((s) => s.key),
      ['GUARDED'],
    );
  });
});
