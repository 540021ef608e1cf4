/**
 * Owners manage members over a real port (`ductape.users`): listing without keys, adding,
 * changing roles with effect at the member's next request, who may do it, the last owner's
 * protection (also when two owners demote each other at once), other workspaces and bad
 * input. Removal and key rotation locking people out are in users-lockout.test.ts.
 */
import type Ductape from '@ductape/sdk';
import type { User, UserWhoAmI } from '@ductape/sdk';
import { DuctapeError } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, sleep } from '../helpers/http.js';
import { expectError, serverSql, tag } from '../helpers/usage.js';

const USER_FIELDS = ['created_at', 'removed_at', 'role', 'status', 'user_id', 'workspace_id'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const needsOwner = (role: string) => ({
  status: 403,
  code: 'FORBIDDEN',
  message: new RegExp(`\\bowner\\b.*\\b${role}\\b`),
});
const lastOwner = (userId: string) => ({
  status: 409,
  code: 'LAST_OWNER',
  message: new RegExp(`'${userId}'.*last owner`),
  field: 'user_id',
});

describeEachBackend('managing users', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  const roleOf = async (client: Ductape): Promise<string> => ((await client.whoami()) as UserWhoAmI).role;

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
    await owner.secrets.create({ key: 'TEAM_SECRET', value: 'team-value' });
  });
  after(() => server.stop());

  it('an owner lists the members, oldest first, with exactly the public fields', async () => {
    await sleep(5); // distinct creation times, so "oldest first" has one answer
    const admin = await server.newUser('admin');
    await sleep(5);
    const viewer = await server.newUser('viewer');
    const users: User[] = await owner.users.list();
    const ids = users.map((u) => u.user_id);
    assert.deepEqual(ids.slice(0, 3), [server.owner.user_id, admin.user_id, viewer.user_id]);
    for (const u of users) {
      assert.deepEqual(Object.keys(u).sort(), USER_FIELDS);
      assert.equal(u.workspace_id, server.owner.workspace_id);
      assert.match(u.created_at, ISO);
    }
    assert.deepEqual(
      users.slice(0, 3).map((u) => [u.role, u.status, u.removed_at]),
      [
        ['owner', 'active', null],
        ['admin', 'active', null],
        ['viewer', 'active', null],
      ],
    );

    // Neither a key nor its hash, in any form, is anywhere in the raw answer.
    const raw = await rawRequest(server.url, 'GET', '/v1/users', {
      token: await accessToken(server.url, server.owner),
    });
    const hashes = (await serverSql(server, 'SELECT key_hash FROM users')) as { key_hash: Buffer }[];
    const forbidden = [server.owner, admin, viewer].map((c) => c.private_key);
    for (const { key_hash } of hashes) {
      const hash = Buffer.from(key_hash);
      forbidden.push(hash.toString('hex'), hash.toString('base64'), hash.toString('base64url'));
    }
    for (const text of forbidden) assert.equal(raw.text.includes(text), false, 'a key or key hash leaked');
  });

  it('an owner adds a member whose private key works at once', async () => {
    const created = await owner.users.create({ role: 'developer' });
    assert.deepEqual(Object.keys(created).sort(), ['private_key', 'user_id', 'workspace_id']);
    assert.equal(created.workspace_id, server.owner.workspace_id);
    assert.match(created.private_key, /^dtk_/);
    const member = server.client(created);
    assert.equal(await roleOf(member), 'developer');
    assert.equal((await member.secrets.fetch('TEAM_SECRET')).value, 'team-value');
    const listed = (await owner.users.list()).find((u) => u.user_id === created.user_id);
    assert.equal(listed?.role, 'developer');
    assert.equal(listed?.status, 'active');
  });

  it("a new role applies at the member's very next request", async () => {
    const credentials = await server.newUser('developer');
    const member = server.client(credentials);
    assert.equal((await member.secrets.fetch('TEAM_SECRET')).value, 'team-value');

    const demoted = await owner.users.setRole(credentials.user_id, 'viewer');
    assert.deepEqual(Object.keys(demoted).sort(), USER_FIELDS);
    assert.equal(demoted.role, 'viewer');
    await expectError(member.secrets.fetch('TEAM_SECRET'), {
      status: 403,
      code: 'FORBIDDEN',
      message: /\bdeveloper\b.*\bviewer\b/,
      absent: ['team-value'],
    });
    assert.equal((await member.secrets.list()).length, 1, 'the same access token still signs the viewer in');
    assert.equal(await roleOf(member), 'viewer');

    await owner.users.setRole(credentials.user_id, 'admin');
    const key = `ADMIN_NOW_${tag()}`;
    await member.secrets.create({ key, value: 'v' });
    assert.equal(await member.secrets.delete(key), true, 'the promotion applies at once');
  });

  it('nobody but an owner manages others; everyone else gets 403 naming owner', async () => {
    const target = await server.newUser('developer');
    for (const role of ['viewer', 'developer', 'admin'] as const) {
      const user = server.client(await server.newUser(role));
      const refused = needsOwner(role);
      await expectError(user.users.list(), refused);
      await expectError(user.users.create({ role: 'owner' }), refused);
      await expectError(user.users.setRole(target.user_id, 'owner'), refused);
      await expectError(user.users.remove(target.user_id), refused);
      await expectError(user.users.rotateKey(target.user_id), refused);
    }
    const { token } = await owner.tokens.create({ app: 'web', env: 'dev' });
    for (const [method, path, body] of [
      ['GET', '/v1/users'],
      ['POST', '/v1/users', { role: 'owner' }],
      ['PATCH', `/v1/users/${target.user_id}`, { role: 'owner' }],
      ['DELETE', `/v1/users/${target.user_id}`],
      ['POST', `/v1/users/${target.user_id}/rotate-key`],
    ] as const) {
      const answer = await rawRequest(server.url, method, path, { token, body });
      assert.match(assertErrorBody(answer, 403, 'FORBIDDEN').message, /\bowner\b.*service token/);
    }
    const still = (await owner.users.list()).find((u) => u.user_id === target.user_id);
    assert.deepEqual([still?.role, still?.status], ['developer', 'active']);
    assert.equal(await roleOf(server.client(target)), 'developer', 'its key still works');
  });

  it('the only owner can neither demote nor remove themselves', async () => {
    const solo = await server.newWorkspace('solo');
    const client = server.client(solo);
    await expectError(client.users.setRole(solo.user_id, 'admin'), lastOwner(solo.user_id));
    await expectError(client.users.remove(solo.user_id), lastOwner(solo.user_id));
    assert.equal(await roleOf(client), 'owner');
    // A removed owner does not count as one.
    const second = await client.users.create({ role: 'owner' });
    assert.equal(await client.users.remove(second.user_id), true);
    await expectError(client.users.setRole(solo.user_id, 'developer'), lastOwner(solo.user_id));
  });

  it('with two owners, either may be demoted or removed, down to the last one', async () => {
    const first = await server.newWorkspace('pair');
    const firstClient = server.client(first);
    const second = await firstClient.users.create({ role: 'owner' });
    const secondClient = server.client(second);
    assert.equal((await secondClient.users.setRole(first.user_id, 'admin')).role, 'admin');
    assert.equal(await roleOf(firstClient), 'admin');
    await expectError(firstClient.users.setRole(second.user_id, 'admin'), needsOwner('admin'));
    await expectError(secondClient.users.setRole(second.user_id, 'admin'), lastOwner(second.user_id));
    await secondClient.users.setRole(first.user_id, 'owner');
    assert.equal(
      await secondClient.users.remove(second.user_id),
      true,
      'an owner may leave when another remains',
    );
    await expectError(firstClient.users.remove(first.user_id), lastOwner(first.user_id));
  });

  async function mutualRace(change: (by: Ductape, target: Credentials) => Promise<unknown>): Promise<void> {
    const a = await server.newWorkspace(`race ${tag()}`);
    const aClient = server.client(a);
    const b = await aClient.users.create({ role: 'owner' });
    const bClient = server.client(b);
    await Promise.all([aClient.whoami(), bClient.whoami()]);
    const outcomes = await Promise.allSettled([change(aClient, b), change(bClient, a)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(won.length, 1, `exactly one succeeds: ${JSON.stringify(outcomes)}`);
    for (const o of outcomes) {
      if (o.status === 'fulfilled') continue;
      const error = o.reason as DuctapeError;
      assert.ok(error instanceof DuctapeError, String(error));
      // Refused by the store (409), or already demoted when the request arrived (403/401).
      assert.ok(['LAST_OWNER', 'FORBIDDEN', 'INVALID_CREDENTIALS'].includes(error.code), error.message);
    }
    const owners = (await serverSql(
      server,
      "SELECT id FROM users WHERE workspace_id = $1 AND role = 'owner' AND removed_at IS NULL",
      [a.workspace_id],
    )) as { id: string }[];
    assert.equal(owners.length, 1, 'the workspace keeps exactly one active owner');
  }

  it('two owners demoting each other at once: exactly one succeeds', async () => {
    for (let round = 0; round < 8; round++) {
      await mutualRace((by, target) => by.users.setRole(target.user_id, 'developer'));
    }
  });

  it('two owners removing each other (or themselves) at once: exactly one succeeds', async () => {
    for (let round = 0; round < 4; round++) {
      await mutualRace((by, target) => by.users.remove(target.user_id));
    }
    for (let round = 0; round < 4; round++) {
      await mutualRace(async (by) => by.users.remove(((await by.whoami()) as UserWhoAmI).user_id));
    }
  });

  it("another workspace's user is not found, and is left alone", async () => {
    const stranger = await server.newWorkspace('elsewhere');
    const notFound = {
      status: 404,
      code: 'USER_NOT_FOUND',
      message: new RegExp(`'${stranger.user_id}'`),
    };
    await expectError(owner.users.setRole(stranger.user_id, 'viewer'), notFound);
    await expectError(owner.users.remove(stranger.user_id), notFound);
    await expectError(owner.users.rotateKey(stranger.user_id), notFound);
    await expectError(owner.users.setRole('0123456789abcdef01234567', 'viewer'), {
      ...notFound,
      message: /'0123456789abcdef01234567'/,
    });
    assert.equal(
      (await owner.users.list()).some((u) => u.user_id === stranger.user_id),
      false,
    );
    assert.equal(await roleOf(server.client(stranger)), 'owner', 'their key still works');
  });

  it('refuses a bad role or user id, naming the field', async () => {
    const token = await accessToken(server.url, server.owner);
    const member = await server.newUser('viewer');
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/users', { role: 'boss' }, 'role'],
      ['POST', '/v1/users', {}, 'role'],
      ['POST', '/v1/users', { role: 'admin', user_id: member.user_id }, 'user_id'],
      ['PATCH', `/v1/users/${member.user_id}`, { role: 'superuser' }, 'role'],
      ['PATCH', `/v1/users/${member.user_id}`, { role: 7 }, 'role'],
      ['PATCH', '/v1/users/not-an-id', { role: 'admin' }, 'id'],
      ['PATCH', `/v1/users/${member.user_id.toUpperCase()}`, { role: 'admin' }, 'id'],
      ['DELETE', '/v1/users/12345', undefined, 'id'],
      ['POST', `/v1/users/${member.user_id}0/rotate-key`, undefined, 'id'],
    ];
    for (const [method, path, body, field] of cases) {
      const answer = await rawRequest(server.url, method, path, { token, body });
      const error = assertErrorBody(answer, 400, 'VALIDATION_ERROR');
      assert.equal(error.field, field, `${method} ${path}: ${error.message}`);
      assert.match(error.message, new RegExp(field));
    }
    const listed = (await owner.users.list()).find((u) => u.user_id === member.user_id);
    assert.deepEqual([listed?.role, listed?.status], ['viewer', 'active'], 'nothing changed');
  });
});
