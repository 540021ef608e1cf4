/**
 * The SDK as a user meets it: imported from plain node (ESM and CommonJS), failing clearly
 * when the server is away or the credentials are wrong, and renewing its access token.
 */
import Ductape from '@ductape/sdk';
import type { UserWhoAmI } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { runNode } from './examples.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';
import { accessToken, assertErrorBody, freePort, rawRequest, sleep } from '../helpers/http.js';

describeEachBackend('the SDK package from plain node', (backend) => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({}, backend);
    await server.client(server.owner).secrets.create({ key: 'MODULE_KEY', value: 'module-value' });
  });
  after(() => server.stop());

  const options = (): string => JSON.stringify({ ...server.owner, url: server.url });

  it("`import Ductape from '@ductape/sdk'` works in an ES module", async () => {
    const program = [
      "import Ductape from '@ductape/sdk';",
      `const ductape = new Ductape(${options()});`,
      'await ductape.init();',
      "const secret = await ductape.secrets.fetch('MODULE_KEY');",
      'console.log(typeof Ductape, secret.value);',
    ].join('\n');
    const result = await runNode(['--input-type=module', '-e', program]);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.equal(result.stdout, 'function module-value\n');
  });

  it("`new (require('@ductape/sdk'))({...})` constructs a client in CommonJS", async () => {
    const program = [
      "'use strict';",
      `const ductape = new (require('@ductape/sdk'))(${options()});`,
      "const { default: same, DuctapeError } = require('@ductape/sdk');",
      'console.log(ductape instanceof same, typeof DuctapeError);',
      "ductape.secrets.fetch('MODULE_KEY').then((s) => console.log(s.value), (e) => {",
      '  console.error(e.message);',
      '  process.exitCode = 1;',
      '});',
    ].join('\n');
    const result = await runNode(['-e', program]);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.equal(result.stdout, 'true function\nmodule-value\n');
  });
});

describeEachBackend('SDK failures', (backend) => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({}, backend);
  });
  after(() => server.stop());

  it('a network failure throws an error whose message names the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const ductape = new Ductape({ ...server.owner, url });
    await assert.rejects(ductape.init(), (error: Error & { code?: string; response?: unknown }) => {
      assert.ok(error.message.includes(url), error.message);
      assert.equal(error.code, 'NETWORK_ERROR');
      assert.equal(error.response, undefined);
      return true;
    });
    await assert.rejects(ductape.secrets.list(), (error: Error) => error.message.includes(url));
  });

  it('wrong credentials are refused with 401 on init()', async () => {
    const wrongKey = server.client({ ...server.owner, private_key: server.owner.private_key + 'x' });
    const wrongUser = server.client({ ...server.owner, user_id: '0'.repeat(24) });
    const other = await server.newWorkspace();
    const wrongWorkspace = server.client({ ...server.owner, workspace_id: other.workspace_id });
    for (const client of [wrongKey, wrongUser, wrongWorkspace]) {
      await assert.rejects(client.init(), (error: { response?: { status?: number }; code?: string }) => {
        assert.equal(error.response?.status, 401);
        assert.equal(error.code, 'INVALID_CREDENTIALS');
        return true;
      });
    }
    await server.client(server.owner).init();
  });
});

describeEachBackend('access token renewal', (backend) => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ DUCTAPE_ACCESS_TOKEN_TTL: '5' }, backend);
  });
  after(() => server.stop());

  it('the SDK keeps working after its access token has expired', async () => {
    const ductape = server.client(server.owner);
    await ductape.init();
    await ductape.secrets.create({ key: 'RENEWED_KEY', value: 'still-readable' });
    const rawToken = await accessToken(server.url, server.owner);
    const fresh = await rawRequest(server.url, 'GET', '/v1/secrets', { token: rawToken });
    assert.equal(fresh.status, 200);

    await sleep(6_000);

    // The server really expires tokens after 5 s...
    const stale = await rawRequest(server.url, 'GET', '/v1/secrets', { token: rawToken });
    assertErrorBody(stale, 401, 'TOKEN_EXPIRED');
    // ...and the SDK renews its own without the caller noticing.
    assert.equal((await ductape.secrets.fetch('RENEWED_KEY')).value, 'still-readable');
    assert.equal(((await ductape.whoami()) as UserWhoAmI).role, 'owner');
  });
});
