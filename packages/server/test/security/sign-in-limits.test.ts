/**
 * Sign-in limits over a real port: failed sign-ins per client address and per (address,
 * user id), and token exchanges per address, each answered 429 with Retry-After, before the
 * key is even checked. Requests come from 127.0.0.1 unless a test sends from 127.0.0.2 (see
 * from-address.ts), so each test sets its own limits.
 */
import type { ErrorBody } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { assertErrorBody, rawRequest, sleep, type RawResponse } from '../helpers/http.js';
import { ELSEWHERE, HOME, requestFrom } from './from-address.js';

const signIn = (server: TestServer, credentials: Credentials): Promise<RawResponse> =>
  rawRequest(server.url, 'POST', '/v1/auth/token', { body: credentials });

const wrongKey = (c: Credentials): Credentials => ({
  ...c,
  private_key: 'dtk_wrong-key-wrong-key-wrong-key',
});

async function failSignIn(server: TestServer, credentials: Credentials): Promise<void> {
  assertErrorBody(await signIn(server, credentials), 401, 'INVALID_CREDENTIALS');
}

/** A 429 with a Retry-After of 1..window seconds that the message repeats; returns it. */
function assertLimited(response: RawResponse, windowSeconds: number, message: RegExp): number {
  const body = assertErrorBody(response, 429, 'TOO_MANY_REQUESTS');
  assert.match(body.message, message);
  const retryAfter = Number(response.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `${retryAfter}`);
  assert.match(body.message, new RegExp(`try again in ${retryAfter} seconds?`));
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal('stack' in body, false);
  return retryAfter;
}

describeEachBackend('sign-in limits', (backend) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  const start = async (env: Record<string, string>): Promise<TestServer> =>
    (server = await startTestServer(env, backend));

  it('failures from one address end in 429 with Retry-After, even for the right key', async () => {
    const s = await start({ DUCTAPE_SIGNIN_FAILURES_PER_IP: '3', DUCTAPE_SIGNIN_FAILURES_PER_USER: '100' });
    for (let i = 0; i < 3; i++) await failSignIn(s, wrongKey(s.owner));
    assertLimited(await signIn(s, s.owner), 300, /failed sign-ins from this address/);
    assertLimited(await signIn(s, wrongKey(s.owner)), 300, /from this address/);
  });

  it('failures spread over many user ids still trip the per-address limit', async () => {
    const s = await start({ DUCTAPE_SIGNIN_FAILURES_PER_IP: '5', DUCTAPE_SIGNIN_FAILURES_PER_USER: '100' });
    const other = await s.newUser('developer');
    for (let i = 0; i < 5; i++) {
      await failSignIn(s, { ...s.owner, user_id: randomUUID(), private_key: 'dtk_guess' });
    }
    assertLimited(await signIn(s, other), 300, /from this address/);
  });

  it('ten wrong sign-ins for a user id from one address do not lock that user out elsewhere', async () => {
    // The defaults: 10 failures per (address, user id), 20 per address.
    const s = await start({ DUCTAPE_SIGNIN_FAILURES_PER_IP: '20', DUCTAPE_SIGNIN_FAILURES_PER_USER: '10' });
    const wrong = wrongKey(s.owner);
    for (let i = 0; i < 10; i++) {
      const failed = await requestFrom(ELSEWHERE, s.url, 'POST', '/v1/auth/token', { body: wrong });
      assert.equal(failed.status, 401, failed.text);
    }
    const user = await requestFrom(HOME, s.url, 'POST', '/v1/auth/token', { body: s.owner });
    assert.equal(user.status, 200, `the user signing in from elsewhere is locked out: ${user.text}`);
    const attacker = await requestFrom(ELSEWHERE, s.url, 'POST', '/v1/auth/token', { body: s.owner });
    assert.equal(attacker.status, 429, 'the address that failed is still limited, even with the right key');
    assert.match((attacker.json as ErrorBody).message, /for this user_id from this address/);
    // And failures from the attacker's address still add up to its per-address limit.
    const other = await s.newUser('viewer');
    for (let i = 0; i < 10; i++) {
      const failed = await requestFrom(ELSEWHERE, s.url, 'POST', '/v1/auth/token', { body: wrongKey(other) });
      assert.equal(failed.status, 401, failed.text);
    }
    const spent = await requestFrom(ELSEWHERE, s.url, 'POST', '/v1/auth/token', { body: other });
    assert.equal(spent.status, 429);
    assert.match((spent.json as ErrorBody).message, /from this address/);
    assert.equal((await requestFrom(HOME, s.url, 'POST', '/v1/auth/token', { body: other })).status, 200);
  });

  it('failures for one user id from one address lock that id there, existing or not, with the same answer', async () => {
    const s = await start({ DUCTAPE_SIGNIN_FAILURES_PER_IP: '100', DUCTAPE_SIGNIN_FAILURES_PER_USER: '3' });
    const other = await s.newUser('viewer');
    const ghost = { ...s.owner, user_id: randomUUID() };
    for (let i = 0; i < 3; i++) {
      await failSignIn(s, wrongKey(s.owner));
      await failSignIn(s, wrongKey(ghost));
    }
    const real = await signIn(s, s.owner);
    const missing = await signIn(s, ghost);
    assertLimited(real, 300, /failed sign-ins for this user_id/);
    assertLimited(missing, 300, /failed sign-ins for this user_id/);
    const shape = (r: RawResponse): ErrorBody => {
      const body = r.json as ErrorBody;
      return { ...body, message: body.message.replace(/\d+ seconds?/, 'N seconds') };
    };
    assert.deepEqual(shape(real), shape(missing), 'a real and a made-up user id are answered alike');
    assert.equal((await signIn(s, other)).status, 200, 'another user still signs in');
  });

  it('a successful sign-in before the limit is unaffected', async () => {
    const s = await start({ DUCTAPE_SIGNIN_FAILURES_PER_IP: '3', DUCTAPE_SIGNIN_FAILURES_PER_USER: '3' });
    await failSignIn(s, wrongKey(s.owner));
    await failSignIn(s, wrongKey(s.owner));
    const ok = await signIn(s, s.owner);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get('retry-after'), null);
    assert.equal((await signIn(s, s.owner)).status, 200, 'successes are not failures');
  });

  it('the lockout ends with the window', async () => {
    const s = await start({ DUCTAPE_SIGNIN_FAILURES_PER_IP: '2', DUCTAPE_SIGNIN_WINDOW_SECONDS: '2' });
    await failSignIn(s, wrongKey(s.owner));
    await failSignIn(s, wrongKey(s.owner));
    const retryAfter = assertLimited(await signIn(s, s.owner), 2, /from this address/);
    await sleep(retryAfter * 1000 + 100);
    const ok = await signIn(s, s.owner);
    assert.equal(ok.status, 200, ok.text);
  });

  it('token exchanges per address are limited too, successful or not', async () => {
    const s = await start({ DUCTAPE_TOKEN_EXCHANGES_PER_IP: '5' });
    for (let i = 0; i < 5; i++) assert.equal((await signIn(s, s.owner)).status, 200);
    assertLimited(await signIn(s, s.owner), 60, /Too many sign-in requests from this address/);
  });
});
