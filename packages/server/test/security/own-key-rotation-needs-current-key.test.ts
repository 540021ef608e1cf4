/**
 * Rotating your own key needs your current private key (issue 13, item 4). The attack: with
 * nothing but a stolen 15-minute access token, `POST /v1/users/<self>/rotate-key` handed out
 * a new private key (a permanent credential) and locked the real user out. Now the request
 * must carry `{ private_key }`, the current key: without it a 400 naming the field, with a
 * wrong one a 403 counted as a failed sign-in (so the limits end it with a 429). The audit
 * entry records how each rotation was allowed; the SDK sends the key by itself.
 */
import Ductape from '@ductape/sdk';
import type { AuditEntry, UserWhoAmI } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';
import { expectError } from '../helpers/usage.js';

describeEachBackend('rotating your own key needs your current key', (backend) => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer(
      // Few failures allowed, to reach the limit (set per test server: counted per address and user).
      { DUCTAPE_SIGNIN_FAILURES_PER_USER: '3', DUCTAPE_SIGNIN_FAILURES_PER_IP: '1000' },
      backend,
    );
  });
  after(() => server.stop());

  const rotate = (token: string, userId: string, body?: object) =>
    rawRequest(server.url, 'POST', `/v1/users/${userId}/rotate-key`, { token, body });
  const signIn = (credentials: Credentials) =>
    rawRequest(server.url, 'POST', '/v1/auth/token', { body: credentials });

  /** The newest audit entries of an action, as the owner reads them. */
  async function entries(action: string, userId: string): Promise<AuditEntry[]> {
    const token = await accessToken(server.url, server.owner);
    const page = await rawRequest(server.url, 'GET', `/v1/audit?action=${action}&limit=1000`, { token });
    assert.equal(page.status, 200, page.text);
    return (page.json as { entries: AuditEntry[] }).entries.filter((e) => e.detail?.user_id === userId);
  }

  it('a stolen access token alone cannot turn itself into a new private key', async () => {
    const victim = await server.newUser('developer');
    const stolen = await accessToken(server.url, victim);

    const bare = assertErrorBody(await rotate(stolen, victim.user_id), 400, 'VALIDATION_ERROR');
    assert.equal(bare.field, 'private_key');
    assert.match(bare.message, /^private_key: is required to rotate your own key/);
    const guessed = assertErrorBody(
      await rotate(stolen, victim.user_id, { private_key: 'dtk_' + 'A'.repeat(43) }),
      403,
      'FORBIDDEN',
    );
    assert.equal(guessed.field, 'private_key');
    assert.equal(guessed.message, 'private_key: is not your current private key; your key was not rotated');
    assert.equal((await signIn(victim)).status, 200, "the real user's key still works");
    assert.equal(
      (await rawRequest(server.url, 'GET', '/v1/me', { token: stolen })).status,
      200,
      'nothing rotated',
    );
  });

  it('wrong keys count as failed sign-ins: past the limit even the right key gets 429', async () => {
    const victim = await server.newUser('viewer');
    const stolen = await accessToken(server.url, victim);
    for (let i = 0; i < 3; i++) {
      assertErrorBody(
        await rotate(stolen, victim.user_id, { private_key: `dtk_guess_${i}` }),
        403,
        'FORBIDDEN',
      );
    }
    const limited = await rotate(stolen, victim.user_id, { private_key: victim.private_key });
    assertErrorBody(limited, 429, 'TOO_MANY_REQUESTS');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // The sign-in from this address is limited alike: the guesses were failed sign-ins.
    assertErrorBody(await signIn(victim), 429, 'TOO_MANY_REQUESTS');
  });

  it('with the current key a user rotates their own; the audit entry says how it was proven', async () => {
    const user = await server.newUser('admin');
    const token = await accessToken(server.url, user);
    const answer = await rotate(token, user.user_id, { private_key: user.private_key });
    assert.equal(answer.status, 200, answer.text);
    const rotated = answer.json as Credentials;
    assert.notEqual(rotated.private_key, user.private_key);
    assertErrorBody(await signIn(user), 401, 'INVALID_CREDENTIALS');
    assert.equal((await signIn(rotated)).status, 200);

    const member = await server.newUser('viewer');
    const ownerToken = await accessToken(server.url, server.owner);
    const byOwner = await rotate(ownerToken, member.user_id);
    assert.equal(byOwner.status, 200, byOwner.text);

    const [own] = await entries('user.rotate_key', user.user_id);
    assert.deepEqual(
      { outcome: own?.outcome, proof: own?.detail?.proof, actor: own?.actor.id },
      { outcome: 'success', proof: 'current_private_key', actor: user.user_id },
    );
    const [other] = await entries('user.rotate_key', member.user_id);
    assert.deepEqual(
      { outcome: other?.outcome, proof: other?.detail?.proof, actor: other?.actor.id },
      { outcome: 'success', proof: 'owner_role', actor: server.owner.user_id },
    );
    const text = JSON.stringify([own, other]);
    for (const key of [user.private_key, rotated.private_key]) assert.equal(text.includes(key), false);
  });

  it('refused attempts are on record, without the key that was sent', async () => {
    const victim = await server.newUser('developer');
    const stolen = await accessToken(server.url, victim);
    const guess = 'dtk_' + 'Z'.repeat(43);
    await rotate(stolen, victim.user_id, { private_key: guess });
    await rotate(stolen, victim.user_id);
    const refused = await entries('user.rotate_key', victim.user_id);
    assert.deepEqual(
      refused.map((e) => [e.outcome, e.code, e.detail?.proof]),
      [
        ['refused', 'VALIDATION_ERROR', 'current_private_key'],
        ['refused', 'FORBIDDEN', 'current_private_key'],
      ],
    );
    assert.equal(JSON.stringify(refused).includes(guess), false);
  });

  it('an owner sends no key for another user; a key sent for another user, or an unknown field, is refused', async () => {
    const member = await server.newUser('developer');
    const ownerToken = await accessToken(server.url, server.owner);
    const withKey = assertErrorBody(
      await rotate(ownerToken, member.user_id, { private_key: member.private_key }),
      400,
      'VALIDATION_ERROR',
    );
    assert.equal(withKey.field, 'private_key');
    const unknown = assertErrorBody(
      await rotate(ownerToken, member.user_id, { key: 'x' }),
      400,
      'VALIDATION_ERROR',
    );
    assert.equal(unknown.field, 'key');
    const notString = assertErrorBody(
      await rotate(ownerToken, server.owner.user_id, { private_key: 42 }),
      400,
      'VALIDATION_ERROR',
    );
    assert.equal(notString.field, 'private_key');
    assert.equal((await signIn(member)).status, 200, 'nothing rotated');
  });

  it('the SDK proves its own key by itself and goes on with the new one; a token alone cannot', async () => {
    const credentials = await server.newUser('developer');
    const client = server.client(credentials);
    const rotated = await client.users.rotateKey(credentials.user_id);
    assert.notEqual(rotated.private_key, credentials.private_key);
    assert.equal(((await client.whoami()) as UserWhoAmI).user_id, credentials.user_id, 'still signed in');
    assertErrorBody(await signIn(credentials), 401, 'INVALID_CREDENTIALS');

    const tokenOnly = new Ductape({ token: await accessToken(server.url, rotated), url: server.url });
    await expectError(tokenOnly.users.rotateKey(credentials.user_id), {
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'private_key',
    });
    assert.equal((await signIn(rotated)).status, 200, 'the key was not rotated');
  });
});
