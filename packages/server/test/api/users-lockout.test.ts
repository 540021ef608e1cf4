/**
 * Locking people out at once, over a real port: a removed member's access tokens, SDK client
 * and private key stop working at their very next use, not at the token's expiry; so do a
 * replaced key and every access token issued with it, whether an owner rotated the key or
 * the user rotated their own.
 */
import type Ductape from '@ductape/sdk';
import type { DuctapeError, UserWhoAmI } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, sleep } from '../helpers/http.js';
import { expectError } from '../helpers/usage.js';

const signedOut = { status: 401, code: 'INVALID_CREDENTIALS' };

describeEachBackend('locking users out', (backend) => {
  let server: TestServer;
  let owner: Ductape;

  before(async () => {
    server = await startTestServer({ DUCTAPE_ACCESS_TOKEN_TTL: '3600' }, backend);
    owner = server.client(server.owner);
    await owner.secrets.create({ key: 'TEAM_SECRET', value: 'team-value' });
  });
  after(() => server.stop());

  /** What someone holding `token` gets from a request that needs no more than being signed in. */
  const whoamiWith = (token: string) => rawRequest(server.url, 'GET', '/v1/me', { token });
  const signIn = (credentials: Credentials) =>
    rawRequest(server.url, 'POST', '/v1/auth/token', { body: credentials });

  /** Asserts that `token` and `credentials` no longer get anyone in, and leak nothing. */
  async function assertLockedOut(token: string, credentials: Credentials, client: Ductape): Promise<void> {
    const stale = await whoamiWith(token);
    assertErrorBody(stale, 401, 'TOKEN_INVALID');
    const read = await rawRequest(server.url, 'GET', '/v1/secrets/TEAM_SECRET', { token });
    assertErrorBody(read, 401, 'TOKEN_INVALID');
    assert.equal(read.text.includes('team-value'), false);
    assertErrorBody(await signIn(credentials), 401, 'INVALID_CREDENTIALS');
    // The SDK signs in again once when its token is refused; that fails too.
    await expectError(client.secrets.fetch('TEAM_SECRET'), { ...signedOut, absent: ['team-value'] });
    await expectError(client.whoami(), signedOut);
  }

  it('a removed member is locked out at their very next request', async () => {
    const credentials = await server.newUser('developer');
    const member = server.client(credentials);
    assert.equal((await member.secrets.fetch('TEAM_SECRET')).value, 'team-value');
    const token = await accessToken(server.url, credentials);
    assert.equal((await whoamiWith(token)).status, 200);

    const before = Date.now();
    assert.equal(await owner.users.remove(credentials.user_id), true);
    await assertLockedOut(token, credentials, member);

    const listed = (await owner.users.list()).find((u) => u.user_id === credentials.user_id);
    assert.equal(listed?.status, 'removed', 'removed members stay listed');
    assert.ok(listed?.removed_at && Date.parse(listed.removed_at) >= before - 1, listed?.removed_at ?? '');
    await expectError(owner.users.rotateKey(credentials.user_id), { status: 404, code: 'USER_NOT_FOUND' });

    // Removing again keeps the first removal time (refused or not), as a second revoke does.
    await sleep(5);
    await owner.users.remove(credentials.user_id).catch((error: DuctapeError) => {
      assert.equal(error.code, 'USER_NOT_FOUND', error.message);
    });
    const again = (await owner.users.list()).find((u) => u.user_id === credentials.user_id);
    assert.equal(again?.removed_at, listed.removed_at, 'the removal time is kept');
    assertErrorBody(await signIn(credentials), 401, 'INVALID_CREDENTIALS');
  });

  it('an owner who removes themselves (another owner remaining) is locked out too', async () => {
    const first = await server.newWorkspace('leaving');
    const firstClient = server.client(first);
    const second = await firstClient.users.create({ role: 'owner' });
    const token = await accessToken(server.url, first);
    assert.equal(await firstClient.users.remove(first.user_id), true);
    assertErrorBody(await whoamiWith(token), 401, 'TOKEN_INVALID');
    assertErrorBody(await signIn(first), 401, 'INVALID_CREDENTIALS');
    assert.equal(((await server.client(second).whoami()) as UserWhoAmI).role, 'owner');
  });

  it("an owner rotating a member's key: the old key and its tokens stop at once, the new one works", async () => {
    const credentials = await server.newUser('admin');
    const member = server.client(credentials);
    await member.whoami();
    const token = await accessToken(server.url, credentials);

    const rotated = await owner.users.rotateKey(credentials.user_id);
    assert.deepEqual(Object.keys(rotated).sort(), ['private_key', 'user_id', 'workspace_id']);
    assert.equal(rotated.user_id, credentials.user_id);
    assert.equal(rotated.workspace_id, credentials.workspace_id);
    assert.notEqual(rotated.private_key, credentials.private_key);
    assert.match(rotated.private_key, /^dtk_/);
    await assertLockedOut(token, credentials, member);

    const renewed = server.client(rotated);
    assert.equal(((await renewed.whoami()) as UserWhoAmI).role, 'admin', 'the role is kept');
    assert.equal((await renewed.secrets.fetch('TEAM_SECRET')).value, 'team-value');
    const listed = (await owner.users.list()).find((u) => u.user_id === credentials.user_id);
    assert.equal(listed?.status, 'active');
  });

  it('anyone may rotate their own key, and only their own', async () => {
    for (const role of ['viewer', 'developer', 'admin'] as const) {
      const credentials = await server.newUser(role);
      const self = server.client(credentials);
      const token = await accessToken(server.url, credentials);
      const bystander = await server.newUser('viewer');
      await expectError(self.users.rotateKey(bystander.user_id), {
        status: 403,
        code: 'FORBIDDEN',
        message: new RegExp(`\\bowner\\b.*\\b${role}\\b`),
      });
      assert.equal((await signIn(bystander)).status, 200, "the bystander's key still works");

      // The SDK proves the current key by itself (see security/own-key-rotation-needs-current-key.test.ts).
      const rotated = await self.users.rotateKey(credentials.user_id);
      assert.equal(rotated.user_id, credentials.user_id);
      await assertLockedOut(token, credentials, server.client(credentials));
      assert.equal(((await server.client(rotated).whoami()) as UserWhoAmI).role, role);
      assert.equal(((await self.whoami()) as UserWhoAmI).role, role, 'the SDK signs in with its new key');
    }
  });

  it('an owner may rotate their own key; every replaced key stays dead', async () => {
    const first = await server.newWorkspace('rotating');
    const keys: Credentials[] = [first];
    const tokens = [await accessToken(server.url, first)];
    for (let i = 0; i < 3; i++) {
      const current = keys[keys.length - 1] as Credentials;
      keys.push(await server.client(current).users.rotateKey(first.user_id));
      tokens.push(await accessToken(server.url, keys[keys.length - 1] as Credentials));
    }
    const live = keys.pop() as Credentials;
    const liveToken = tokens.pop() as string;
    for (const old of keys) assertErrorBody(await signIn(old), 401, 'INVALID_CREDENTIALS');
    for (const old of tokens) assertErrorBody(await whoamiWith(old), 401, 'TOKEN_INVALID');
    assert.equal((await whoamiWith(liveToken)).status, 200);
    assert.equal((await signIn(live)).status, 200);
  });

  it('of concurrent rotations one key survives, and no token of a replaced key works', async () => {
    let checked = 0;
    for (let round = 0; round < 8; round++) {
      const member = await server.newUser('developer');
      const issued: { key: string; token: string | undefined }[] = [];
      // Each caller signs in with its new key as soon as it has it, while others still rotate.
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          const rotated = await owner.users.rotateKey(member.user_id);
          const answer = await signIn(rotated);
          const token =
            answer.status === 200 ? (answer.json as { access_token: string }).access_token : undefined;
          issued.push({ key: rotated.private_key, token });
        }),
      );
      const live: string[] = [];
      for (const { key } of issued) {
        if ((await signIn({ ...member, private_key: key })).status === 200) live.push(key);
      }
      assert.equal(live.length, 1, 'exactly the last key written signs in');
      for (const { key, token } of issued) {
        if (key === live[0] || token === undefined) continue;
        checked++;
        assertErrorBody(await whoamiWith(token), 401, 'TOKEN_INVALID');
      }
    }
    // Without tokens of replaced keys, the round proved nothing: there must have been some.
    if (backend === 'postgres') assert.ok(checked > 0, 'no sign-in landed between two rotations');
  });

  it('a rotation or removal on one node takes effect on another at once', async () => {
    const other = await startTestServer(server.env, backend);
    try {
      if (backend === 'sqlite') {
        // Two SQLite servers on one data dir is the single-machine case; PostgreSQL is the real one.
        assert.equal(other.dataDir, server.dataDir);
      }
      const credentials = await server.newUser('developer');
      const tokenThere = await accessToken(other.url, credentials);
      assert.equal((await rawRequest(other.url, 'GET', '/v1/me', { token: tokenThere })).status, 200);
      await owner.users.rotateKey(credentials.user_id);
      assertErrorBody(
        await rawRequest(other.url, 'GET', '/v1/me', { token: tokenThere }),
        401,
        'TOKEN_INVALID',
      );
    } finally {
      await other.server.close();
    }
  });
});
