/**
 * NUL in a query parameter (issue 13, item 11). The attack: `GET /v1/audit?actor=%00` made
 * PostgreSQL fail inside the driver (its text cannot hold U+0000), a 500. Now every query
 * parameter of every route, by name or value, refuses NUL with a 400 naming the parameter,
 * before anything reads it, on both stores. Every route the server has is tried (the fuzz
 * suite's route list, which a test there keeps equal to the server's), with the parameters
 * it reads and with one it does not, and nothing changes.
 */
import type { ErrorBody } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { ROUTES } from '../fuzz/fuzz-routes.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

/** The query parameters each route reads; the others read none. */
const READS: Record<string, readonly string[]> = {
  'GET /v1/secrets/:key': ['version'],
  'PATCH /v1/secrets/:key': ['if_version'],
  'GET /v1/export': ['app', 'env', 'only'],
  'GET /v1/audit': ['since', 'until', 'key', 'actor', 'action', 'limit', 'cursor'],
};

/** Values holding NUL, where it cannot hide: alone, leading, trailing, inside a valid value. */
const NUL_VALUES = ['%00', '%00a', 'NUL_TARGET%00', '1%00', 'web%00', '2026-01-01%00'];

describeEachBackend('NUL in query parameters', (backend) => {
  let server: TestServer;
  let token: string;
  let tokenId: string;
  let before_: unknown;

  const state = async (): Promise<unknown> =>
    Promise.all(
      ['/v1/secrets', '/v1/secrets/NUL_TARGET', '/v1/users', '/v1/tokens'].map(
        async (path) => (await rawRequest(server.url, 'GET', path, { token })).json,
      ),
    );

  before(async () => {
    server = await startTestServer({}, backend);
    token = await accessToken(server.url, server.owner);
    const created = await rawRequest(server.url, 'POST', '/v1/secrets', {
      token,
      body: { key: 'NUL_TARGET', value: 'nul-target-value' },
    });
    assert.equal(created.status, 201, created.text);
    const minted = await rawRequest(server.url, 'POST', '/v1/tokens', {
      token,
      body: { app: 'web', env: 'prd' },
    });
    tokenId = (minted.json as { token_id: string }).token_id;
    before_ = await state();
  });
  after(() => server.stop());

  /** The route's path with an existing target in it. */
  const pathOf = (route: string): string =>
    route
      .replace(':key', 'NUL_TARGET')
      .replace(':id', route.startsWith('/v1/tokens') ? tokenId : server.owner.user_id);

  function assertRefusedNul(
    answer: { status: number; text: string; json: unknown },
    name: string,
    what: string,
  ): void {
    assert.equal(answer.status, 400, `${what}: ${answer.status} ${answer.text}`);
    const body = answer.json as ErrorBody;
    assert.equal(body.code, 'VALIDATION_ERROR', what);
    assert.equal(body.field, name, `${what}: ${answer.text}`);
    assert.match(body.message, /must not contain the NUL character \(U\+0000\)/, what);
    assert.equal(answer.text.includes('nul-target-value'), false);
  }

  it('GET /v1/audit?actor=%00 is a 400 naming actor, not a 500', async () => {
    const answer = await rawRequest(server.url, 'GET', '/v1/audit?actor=%00', { token });
    assertRefusedNul(answer, 'actor', 'audit actor');
    assert.equal(
      answer.text,
      JSON.stringify({
        code: 'VALIDATION_ERROR',
        message: 'actor: must not contain the NUL character (U+0000)',
        field: 'actor',
      }),
    );
  });

  it('every parameter of every route refuses NUL, by value or by name, and nothing changes', async () => {
    for (const route of ROUTES) {
      const id = `${route.method} ${route.route}`;
      const path = pathOf(route.route);
      const names = [...(READS[id] ?? []), 'unread'];
      const body = route.method === 'POST' || route.method === 'PATCH' ? {} : undefined;
      for (const name of names) {
        for (const value of NUL_VALUES) {
          const answer = await rawRequest(server.url, route.method, `${path}?${name}=${value}`, {
            token,
            body,
          });
          assertRefusedNul(answer, name, `${id} ?${name}=${value}`);
        }
        // Among valid parameters too, and repeated: wherever it is, it is found.
        const mixed = await rawRequest(server.url, route.method, `${path}?${name}=1&${name}=a%00b`, {
          token,
          body,
        });
        assertRefusedNul(mixed, name, `${id} repeated ${name}`);
      }
      const named = await rawRequest(server.url, route.method, `${path}?bad%00name=1`, { token, body });
      assertRefusedNul(named, 'bad\\0name', `${id} NUL in a name`);
      // Without credentials as well: the query is refused before anything else.
      const anonymous = await rawRequest(server.url, route.method, `${path}?x=%00`, { body });
      assertRefusedNul(anonymous, 'x', `${id} without a token`);
    }
    assert.deepEqual(await state(), before_, 'a refused request changed something');
  });
});
