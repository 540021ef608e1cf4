/**
 * Input a route does not read is refused with a 400 naming it, never silently ignored:
 * a query parameter on a route that takes none, a body on a route that reads none.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';

describeEachBackend('input a route does not read', (backend) => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startTestServer({}, backend);
    token = await accessToken(server.url, server.owner);
    await server.client(server.owner).secrets.create({ key: 'UNREAD', value: 'unread-value' });
  });
  after(() => server.stop());

  const send = (method: string, path: string, body?: unknown) =>
    rawRequest(server.url, method, path, { token, ...(body === undefined ? {} : { body }) });

  it('refuses a query parameter on a route that takes none, naming it', async () => {
    for (const path of [
      '/v1/secrets/UNREAD/metadata?x=1',
      '/v1/secrets/UNREAD/versions?foo=1',
      '/v1/me?debug',
      '/v1/tokens?all=1',
    ]) {
      const body = assertErrorBody(await send('GET', path), 400, 'VALIDATION_ERROR');
      assert.match(body.message, /^query: this route takes no parameter/, path);
    }
    // A route that reads its query (the list: expiring_within) refuses any other parameter by name.
    const named = assertErrorBody(await send('GET', '/v1/secrets?limit=5'), 400, 'VALIDATION_ERROR');
    assert.equal(named.field, 'limit');
    assert.match(named.message, /^limit: unknown field \(allowed: expiring_within\)/);
  });

  it('refuses a body on a route that reads none, and changes nothing', async () => {
    for (const [method, path] of [
      ['POST', '/v1/secrets/UNREAD/revoke'],
      ['DELETE', '/v1/secrets/UNREAD'],
      ['DELETE', '/v1/tokens/000000000000000000000000'],
    ] as const) {
      const body = assertErrorBody(await send(method, path, { x: 1 }), 400, 'VALIDATION_ERROR');
      assert.equal(body.message, 'request body: this route takes no body', `${method} ${path}`);
    }
    const fetched = await send('GET', '/v1/secrets/UNREAD');
    assert.equal(fetched.status, 200);
    assert.equal((fetched.json as { status: string }).status, 'active');
  });

  it('still takes what routes do read, and an empty body where none is read', async () => {
    assert.equal((await send('GET', '/v1/secrets/UNREAD?version=1')).status, 200);
    assert.equal((await send('POST', '/v1/secrets/UNREAD/revoke', {})).status, 200);
    assert.equal((await send('POST', '/v1/secrets/UNREAD/restore')).status, 200);
    assert.equal((await send('GET', '/v1/audit?limit=1')).status, 200);
  });
});
