/**
 * Secret versions over a real port: the history every change leaves (a metadata-only change
 * carries the value over), reading old versions, rollback, who may see what, revocation, deletion and other
 * workspaces. Pruning and storage are in versions-pruning.test.ts; check-and-set and its
 * races in versions-check-and-set.test.ts.
 */
import Ductape from '@ductape/sdk';
import type { SecretVersion } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';
import { expectError, serverSql, tag } from '../helpers/usage.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const versionNotFound = (key: string, version: number) => ({
  status: 404,
  code: 'VERSION_NOT_FOUND',
  message: new RegExp(`'${key}'.*\\bversion ${version}\\b`),
  field: 'version',
});

describeEachBackend('secret versions', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  let developerCredentials: Credentials;
  let developer: Ductape;
  let viewer: Ductape;

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
    developerCredentials = await server.newUser('developer');
    developer = server.client(developerCredentials);
    viewer = server.client(await server.newUser('viewer'));
  });
  after(() => server.stop());

  it('records one version per change, newest first, with its writer and time', async () => {
    const key = `HISTORY_${tag()}`;
    const values = [1, 2, 3, 4].map((n) => `history-value-${n}-${tag()}`);
    const started = Date.now();
    const created = await owner.secrets.create({ key, value: values[0] as string });
    assert.equal(created.version, 1);
    assert.equal((await developer.secrets.update(key, { value: values[1] as string })).version, 2);
    // A metadata-only change is a version too, holding the value it found.
    const described = await owner.secrets.update(key, { description: 'a new version' });
    assert.equal(described.version, 3);
    assert.equal((await owner.secrets.fetch(key, { version: 3 })).value, values[1]);
    assert.equal((await owner.secrets.update(key, { value: values[2] as string })).version, 4);
    const scoped = await developer.secrets.update(key, { scope: ['web'], envs: ['dev'], expires_at: null });
    assert.equal(scoped.version, 5);
    const both = await developer.secrets.update(key, { value: values[3] as string, description: 'both' });
    assert.equal(both.version, 6);
    const finished = Date.now();

    const history = await owner.secrets.versions(key);
    assert.deepEqual(
      history.map((v) => v.version),
      [6, 5, 4, 3, 2, 1],
    );
    for (const v of history) {
      assert.deepEqual(Object.keys(v).sort(), ['actor', 'createdAt', 'version'], 'metadata only');
    }
    assert.deepEqual(
      history.map((v) => v.actor),
      [
        developerCredentials.user_id,
        developerCredentials.user_id,
        server.owner.user_id,
        server.owner.user_id,
        developerCredentials.user_id,
        server.owner.user_id,
      ],
    );
    const times = [...history].reverse().map((v) => v.createdAt);
    for (const t of times) {
      assert.match(t, ISO);
      assert.ok(Date.parse(t) >= started - 1 && Date.parse(t) <= finished + 1, t);
    }
    assert.deepEqual(times, [...times].sort(), 'createdAt ascends with the version');
    assert.equal(times[0], created.createdAt, 'version 1 was written when the secret was created');

    // The current version shows everywhere a secret does.
    assert.equal((await owner.secrets.fetch(key)).version, 6);
    assert.equal((await owner.secrets.list()).find((s) => s.key === key)?.version, 6);
    const token = await accessToken(server.url, server.owner);
    const meta = await rawRequest(server.url, 'GET', `/v1/secrets/${key}/metadata`, { token });
    assert.equal((meta.json as { version: number }).version, 6);

    const raw = await rawRequest(server.url, 'GET', `/v1/secrets/${key}/versions`, { token });
    assert.equal(raw.status, 200);
    assert.deepEqual(Object.keys(raw.json as object), ['versions']);
    for (const value of values) assert.equal(raw.text.includes(value), false, 'a value in the version list');
  });

  it('reads every old version exactly as it was written, and names the version', async () => {
    const key = `OLD_READS_${tag()}`;
    const values = [1, 2, 3].map((n) => `old-read-${n}-${tag()}`);
    await developer.secrets.create({ key, value: values[0] as string, description: 'd1' });
    await developer.secrets.update(key, { value: values[1] as string });
    await developer.secrets.update(key, { value: values[2] as string, description: 'd3' });
    for (const [index, value] of values.entries()) {
      const old = await developer.secrets.fetch(key, { version: index + 1 });
      assert.equal(old.value, value);
      assert.equal(old.version, index + 1);
      assert.equal(old.key, key);
    }
    const current = await developer.secrets.fetch(key);
    assert.equal(current.value, values[2]);
    assert.equal(current.version, 3);
    assert.deepEqual(await developer.secrets.fetch(key, { version: 3 }), current);

    await expectError(developer.secrets.fetch(key, { version: 4 }), versionNotFound(key, 4));
    await expectError(developer.secrets.fetch(key, { version: 1000 }), versionNotFound(key, 1000));
    await expectError(developer.secrets.fetch(`NO_SUCH_${tag()}`, { version: 1 }), {
      status: 404,
      code: 'SECRET_NOT_FOUND',
    });
  });

  it('refuses a version that is not a version number, naming the field', async () => {
    const key = `BAD_VERSION_${tag()}`;
    await developer.secrets.create({ key, value: 'bad-version-value' });
    const token = await accessToken(server.url, developerCredentials);
    for (const query of ['0', '-1', 'abc', '1.5', '', '99999999999']) {
      const answer = await rawRequest(server.url, 'GET', `/v1/secrets/${key}?version=${query}`, { token });
      const body = assertErrorBody(answer, 400, 'VALIDATION_ERROR');
      assert.equal(body.field, 'version', `?version=${query}`);
    }
    for (const version of [0, -3, 1.5, '2', null, 3_000_000_000]) {
      const answer = await rawRequest(server.url, 'POST', `/v1/secrets/${key}/rollback`, {
        token,
        body: { version },
      });
      const body = assertErrorBody(answer, 400, 'VALIDATION_ERROR');
      assert.equal(body.field, 'version', `rollback to ${JSON.stringify(version)}`);
    }
    assert.equal((await developer.secrets.versions(key)).length, 1, 'nothing was written');
  });

  it('rollback writes the old value as a new version; the newer one stays readable', async () => {
    const key = `ROLLBACK_${tag()}`;
    const values = [1, 2, 3].map((n) => `rollback-${n}-${tag()}`);
    await owner.secrets.create({ key, value: values[0] as string, description: 'kept' });
    await owner.secrets.update(key, { value: values[1] as string });
    await owner.secrets.update(key, { value: values[2] as string });

    const restored = await developer.secrets.rollback(key, 1);
    assert.equal(restored.version, 4);
    assert.equal(restored.key, key);
    assert.equal(restored.description, 'kept', 'metadata is not rolled back');
    assert.equal('value' in restored, false);
    const current = await developer.secrets.fetch(key);
    assert.equal(current.value, values[0]);
    assert.equal(current.version, 4);

    const history = await owner.secrets.versions(key);
    assert.deepEqual(
      history.map((v) => v.version),
      [4, 3, 2, 1],
    );
    assert.equal(history[0]?.actor, developerCredentials.user_id, 'the rollback is written by its caller');
    assert.equal((await owner.secrets.fetch(key, { version: 3 })).value, values[2]);
    assert.equal((await owner.secrets.fetch(key, { version: 1 })).value, values[0]);

    // Rolling back to the rolled-back-from value is just another new version.
    assert.equal((await owner.secrets.rollback(key, 3)).version, 5);
    assert.equal((await owner.secrets.fetch(key)).value, values[2]);

    await expectError(owner.secrets.rollback(key, 9), versionNotFound(key, 9));
    await expectError(owner.secrets.rollback(`NO_SUCH_${tag()}`, 1), {
      status: 404,
      code: 'SECRET_NOT_FOUND',
    });
    assert.equal((await owner.secrets.versions(key)).length, 5, 'a refused rollback writes nothing');
    assert.equal((await owner.secrets.fetch(key)).version, 5);
  });

  it('a viewer lists versions but reads no old value and cannot roll back', async () => {
    const key = `VIEWER_${tag()}`;
    await owner.secrets.create({ key, value: 'viewer-1' });
    await owner.secrets.update(key, { value: 'viewer-2' });
    const listed: SecretVersion[] = await viewer.secrets.versions(key);
    // The same versions; the writer's id is an admin's to see (see security/actor-ids-hidden-by-role.test.ts).
    const asOwner = await owner.secrets.versions(key);
    assert.deepEqual(
      listed.map((v) => ({ ...v, actor: '' })),
      asOwner.map((v) => ({ ...v, actor: '' })),
    );
    for (const v of listed) assert.match(v.actor, /^hidden:[0-9a-f]{8}$/);
    const forbidden = { status: 403, code: 'FORBIDDEN', message: /\bdeveloper\b.*\bviewer\b/ };
    await expectError(viewer.secrets.fetch(key, { version: 1 }), { ...forbidden, absent: ['viewer-1'] });
    await expectError(viewer.secrets.rollback(key, 1), forbidden);
    const current = await owner.secrets.fetch(key);
    assert.equal(current.value, 'viewer-2');
    assert.equal(current.version, 2);
  });

  it('a service token can neither list versions nor roll back', async () => {
    const key = `SERVICE_${tag()}`;
    await owner.secrets.create({ key, value: 'service-1' });
    await owner.secrets.update(key, { value: 'service-2' });
    const { token } = await owner.tokens.create({ app: 'web', env: 'dev' });
    const service = new Ductape({ token, url: server.url });
    assert.equal((await service.secrets.fetch(key)).value, 'service-2', 'the token can use the secret');
    const forbidden = { status: 403, code: 'FORBIDDEN', message: /service token/ };
    await expectError(service.secrets.versions(key), forbidden);
    await expectError(service.secrets.rollback(key, 1), forbidden);
    assert.equal((await owner.secrets.fetch(key)).version, 2);
  });

  it('a revoked secret has no readable versions until it is restored', async () => {
    const key = `REVOKED_${tag()}`;
    await owner.secrets.create({ key, value: 'revoked-1' });
    await owner.secrets.update(key, { value: 'revoked-2' });
    await owner.secrets.revoke(key);
    for (const version of [1, 2]) {
      await expectError(owner.secrets.fetch(key, { version }), {
        status: 410,
        code: 'SECRET_REVOKED',
        absent: ['revoked-1', 'revoked-2'],
      });
    }
    assert.equal((await owner.secrets.versions(key)).length, 2, 'the history is kept');
    await owner.secrets.restore(key);
    assert.equal((await owner.secrets.fetch(key, { version: 1 })).value, 'revoked-1');
  });

  it('deleting a secret destroys its versions; a new secret of that key starts at 1', async () => {
    const key = `DELETED_${tag()}`;
    const first = await owner.secrets.create({ key, value: 'deleted-1' });
    await owner.secrets.update(key, { value: 'deleted-2' });
    await owner.secrets.delete(key);
    const left = await serverSql(server, 'SELECT version FROM secret_versions WHERE secret_id = $1', [
      first._id,
    ]);
    assert.deepEqual(left, [], 'the old ciphertexts went with the secret');
    await owner.secrets.create({ key, value: 'reborn' });
    assert.deepEqual(
      (await owner.secrets.versions(key)).map((v) => v.version),
      [1],
    );
    await expectError(owner.secrets.fetch(key, { version: 2 }), versionNotFound(key, 2));
  });

  it("another workspace's versions are simply not found", async () => {
    const key = `FOREIGN_${tag()}`;
    await owner.secrets.create({ key, value: 'ours-1' });
    await owner.secrets.update(key, { value: 'ours-2' });
    const stranger = server.client(await server.newWorkspace());
    const notFound = { status: 404, code: 'SECRET_NOT_FOUND', absent: ['ours-1', 'ours-2'] };
    await expectError(stranger.secrets.versions(key), notFound);
    await expectError(stranger.secrets.fetch(key, { version: 1 }), notFound);
    await expectError(stranger.secrets.rollback(key, 1), notFound);
    // The same key in their workspace has a history of its own.
    await stranger.secrets.create({ key, value: 'theirs-1' });
    assert.deepEqual(
      (await stranger.secrets.versions(key)).map((v) => v.version),
      [1],
    );
    assert.equal((await stranger.secrets.fetch(key, { version: 1 })).value, 'theirs-1');
    await expectError(stranger.secrets.fetch(key, { version: 2 }), versionNotFound(key, 2));
    assert.equal((await owner.secrets.fetch(key)).value, 'ours-2');
    assert.equal((await owner.secrets.versions(key)).length, 2);
  });
});
