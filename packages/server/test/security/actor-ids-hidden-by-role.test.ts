/**
 * Viewers and developers do not learn other users' ids (issue 13, item 7): a user id is what
 * a sign-in attack starts from, and the `actor` of a secret's versions handed every viewer
 * the id of whoever wrote it (the owner's, typically). Every route a viewer or developer can
 * read is searched for other users' ids; the versions show them as `hidden:` + 8 hex, stable
 * per writer. Admins and owners, who read the audit log that names everyone, see the ids.
 */
import type Ductape from '@ductape/sdk';
import type { SecretVersion } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

describeEachBackend('who wrote a version, as each role sees it', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  let viewer: Credentials;
  let developer: Credentials;
  let admin: Credentials;
  let serviceToken: string;

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
    viewer = await server.newUser('viewer');
    developer = await server.newUser('developer');
    admin = await server.newUser('admin');
    await owner.secrets.create({ key: 'SHARED', value: 'shared-1' });
    await server.client(developer).secrets.update('SHARED', { value: 'shared-2' });
    await owner.secrets.update('SHARED', { value: 'shared-3' });
    serviceToken = (await owner.tokens.create({ app: 'web', env: 'prd' })).token;
    await rawRequest(server.url, 'GET', '/v1/secrets/SHARED', { token: serviceToken });
  });
  after(() => server.stop());

  /** The bodies of every GET a user of this role may read (and a few that refuse them). */
  async function everythingReadable(credentials: Credentials): Promise<string> {
    const token = await accessToken(server.url, credentials);
    const paths = [
      '/v1/me',
      '/v1/secrets',
      '/v1/secrets/SHARED',
      '/v1/secrets/SHARED/metadata',
      '/v1/secrets/SHARED/versions',
      '/v1/secrets/SHARED?version=1',
      '/v1/export',
      '/v1/users',
      '/v1/tokens',
      '/v1/audit',
    ];
    const texts = await Promise.all(
      paths.map(async (path) => (await rawRequest(server.url, 'GET', path, { token })).text),
    );
    for (const path of ['/v1/resolve', '/v1/validate']) {
      const body = { input: '$Secret{SHARED} $Secret{NOPE}' };
      texts.push((await rawRequest(server.url, 'POST', path, { token, body })).text);
    }
    return texts.join('\n');
  }

  it("a viewer or developer finds no other user's id anywhere they can read", async () => {
    const tokenId = (await owner.tokens.list())[0]?.token_id as string;
    for (const [who, credentials] of [
      ['viewer', viewer],
      ['developer', developer],
    ] as const) {
      const seen = await everythingReadable(credentials);
      for (const [whose, id] of [
        ['the owner', server.owner.user_id],
        ['the admin', admin.user_id],
        ['the service token', tokenId],
        ...(who === 'viewer' ? [['the developer', developer.user_id]] : []),
      ]) {
        assert.equal(seen.includes(id as string), false, `a ${who} learns ${whose}'s id`);
      }
    }
  });

  it('the versions name writers by a stable label, and show callers their own id', async () => {
    const asViewer = await server.client(viewer).secrets.versions('SHARED');
    const asDeveloper = await server.client(developer).secrets.versions('SHARED');
    const byVersion = (list: SecretVersion[]): string[] => list.map((v) => v.actor);
    const [third, second, first] = byVersion(asViewer) as [string, string, string];
    for (const label of [first, second, third]) assert.match(label, /^hidden:[0-9a-f]{8}$/);
    assert.equal(first, third, "the owner's two versions carry one label");
    assert.notEqual(first, second, 'two writers carry two labels');
    assert.deepEqual(
      byVersion(asDeveloper),
      [third, developer.user_id, first],
      'the developer sees their own id',
    );
  });

  it('admins and owners, who read the audit log, see every id', async () => {
    const expected = [server.owner.user_id, developer.user_id, server.owner.user_id];
    for (const credentials of [admin, server.owner]) {
      const versions = await server.client(credentials).secrets.versions('SHARED');
      assert.deepEqual(
        versions.map((v) => v.actor),
        expected,
      );
    }
  });
});
