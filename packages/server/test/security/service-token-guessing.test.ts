/**
 * Guessing service tokens is rate-limited like signing in (issue 13, item 13). The attack:
 * `Authorization: Bearer dst_<random id>_<random secret>`, over and over; each guess cost a
 * database lookup (the principal cache holds only tokens that exist) and nothing ever said
 * stop. Now an address past DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP failures in the window gets
 * 429 with Retry-After for every `dst_` bearer, before any lookup: the store's lookups are
 * counted to show it. Other addresses are not affected. Guesses come from 127.0.0.2 (see
 * from-address.ts); how an IPv6 /64 is counted is in rate-limit.test.ts.
 */
import type { ErrorBody } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { ELSEWHERE, HOME, requestFrom } from './from-address.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

const guess = (): string => `dst_${randomBytes(12).toString('hex')}_${randomBytes(32).toString('base64url')}`;

describeEachBackend('guessing service tokens', (backend) => {
  let server: TestServer;
  let realToken: string;
  let lookups = 0;

  before(async () => {
    server = await startTestServer({ DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: '5' }, backend);
    const ownerToken = await accessToken(server.url, server.owner);
    const created = await rawRequest(server.url, 'POST', '/v1/tokens', {
      token: ownerToken,
      body: { app: 'web', env: 'prd' },
    });
    realToken = (created.json as { token: string }).token;
    // Counts the store's token lookups (the principal cache asks the store for every miss).
    const store = server.server.runtime.store;
    const lookup = store.getServiceToken.bind(store);
    store.getServiceToken = (id) => {
      lookups += 1;
      return lookup(id);
    };
  });
  after(() => server.stop());

  it('unknown token ids end in 429 before any lookup, even for the right token, from that address only', async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await requestFrom(ELSEWHERE, server.url, 'GET', '/v1/secrets', { token: guess() });
      assert.equal(answer.status, 401, answer.text);
      assert.equal((answer.json as ErrorBody).code, 'TOKEN_INVALID');
    }
    const before = lookups;
    for (let i = 0; i < 20; i++) {
      const answer = await requestFrom(ELSEWHERE, server.url, 'GET', '/v1/secrets', { token: guess() });
      assert.equal(answer.status, 429, `guess ${i + 6} was not limited: ${answer.text}`);
      const body = answer.json as ErrorBody;
      assert.equal(body.code, 'TOO_MANY_REQUESTS');
      assert.match(body.message, /invalid service token from this address; try again in \d+ seconds?/);
      const retryAfter = Number(answer.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 300, `Retry-After ${String(answer.headers['retry-after'])}`);
    }
    assert.equal(lookups, before, 'a limited guess still cost a lookup');

    const right = await requestFrom(ELSEWHERE, server.url, 'GET', '/v1/secrets', { token: realToken });
    assert.equal(right.status, 429, 'as for sign-ins, the address waits out the window whatever it sends');
    const elsewhere = await requestFrom(HOME, server.url, 'GET', '/v1/secrets', { token: realToken });
    assert.equal(elsewhere.status, 200, `another address is not affected: ${elsewhere.text}`);
    const user = await requestFrom(ELSEWHERE, server.url, 'GET', '/v1/me', {
      token: await accessToken(server.url, server.owner),
    });
    assert.equal(user.status, 200, 'access tokens from the limited address still work');
  });

  it('a malformed dst_ token or a real id with a wrong secret counts too', async () => {
    const fresh = await startTestServer({ DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: '2' }, backend);
    try {
      const ownerToken = await accessToken(fresh.url, fresh.owner);
      const created = await rawRequest(fresh.url, 'POST', '/v1/tokens', {
        token: ownerToken,
        body: { app: 'web', env: 'prd' },
      });
      const real = (created.json as { token: string }).token;
      const wrongSecret = `${real.slice(0, 'dst_'.length + 25)}${'A'.repeat(43)}`;
      assert.equal((await rawRequest(fresh.url, 'GET', '/v1/me', { token: 'dst_short' })).status, 401);
      assert.equal((await rawRequest(fresh.url, 'GET', '/v1/me', { token: wrongSecret })).status, 401);
      assert.equal((await rawRequest(fresh.url, 'GET', '/v1/me', { token: real })).status, 429);
    } finally {
      await fresh.stop();
    }
  });
});
