/**
 * `secrets.export` over a real port: exactly the secrets an app may use in an environment,
 * revoked and expired ones listed in `skipped`, and `only`, which needs every key to pass.
 */
import type Ductape from '@ductape/sdk';
import type { ExportResponse } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';
import { seedRuleSecrets, type Seeded } from './rule-secrets.js';
import { expectError } from '../helpers/usage.js';

/** key -> value, sorted, so backends with different collations compare the same. */
const byKey = (list: { key: string; value: string }[]): [string, string][] =>
  list.map((s): [string, string] => [s.key, s.value]).sort(([a], [b]) => (a < b ? -1 : 1));
const skippedOf = (answer: ExportResponse): [string, string, string][] =>
  answer.skipped
    .map((s): [string, string, string] => [s.key, s.code, s.message])
    .sort(([a], [b]) => (a < b ? -1 : 1));
const gone = (key: string, why: 'revoked' | 'expired'): [string, string, string] =>
  why === 'revoked'
    ? [key, 'SECRET_REVOKED', `Secret '${key}' has been revoked`]
    : [key, 'SECRET_EXPIRED', `Secret '${key}' has expired`];

describeEachBackend('export', (backend) => {
  let server: TestServer;
  let dev: Ductape;
  let seeded: Seeded;
  let v: Seeded['values'];

  before(async () => {
    server = await startTestServer({}, backend);
    seeded = await seedRuleSecrets(server.client(server.owner));
    v = seeded.values;
    dev = server.client(await server.newUser('developer'));
  });
  after(() => server.stop());

  it('gives every usable in-scope secret; revoked and expired ones are skipped, out-of-scope ones absent', async () => {
    const web = await dev.secrets.export({ app: 'web', env: 'dev' });
    assert.equal(web.app, 'web');
    assert.equal(web.env, 'dev');
    assert.deepEqual(byKey(web.secrets), [
      ['NESTED', '$Secret{OPEN}'],
      ['OPEN', v.OPEN],
      ['WEB_ANY', v.WEB_ANY],
      ['WEB_DEV', v.WEB_DEV],
    ]);
    assert.deepEqual(skippedOf(web), [
      gone('EXPIRED', 'expired'),
      gone('REVOKED', 'revoked'),
      gone('REVOKED_EXPIRED', 'revoked'),
      gone('REVOKED_WEB', 'revoked'),
    ]);

    const api = await dev.secrets.export({ app: 'api', env: 'prd' });
    assert.deepEqual(byKey(api.secrets), [
      ['ANY_PRD', v.ANY_PRD],
      ['NESTED', '$Secret{OPEN}'],
      ['OPEN', v.OPEN],
    ]);
    assert.deepEqual(skippedOf(api), [
      gone('EXPIRED', 'expired'),
      gone('EXPIRED_PRD', 'expired'),
      gone('REVOKED', 'revoked'),
      gone('REVOKED_EXPIRED', 'revoked'),
    ]);
  });

  it('without app and env, only unrestricted secrets are given', async () => {
    const none = await dev.secrets.export();
    assert.equal(none.app, null);
    assert.equal(none.env, null);
    assert.deepEqual(byKey(none.secrets), [
      ['NESTED', '$Secret{OPEN}'],
      ['OPEN', v.OPEN],
    ]);
    assert.deepEqual(
      skippedOf(none).map(([k]) => k),
      ['EXPIRED', 'REVOKED', 'REVOKED_EXPIRED'],
    );
  });

  it('`only` gives exactly those keys, in the order asked, once each', async () => {
    const answer = await dev.secrets.export({ app: 'web', env: 'dev', only: ['WEB_DEV', 'OPEN', 'WEB_DEV'] });
    assert.deepEqual(answer.secrets, [
      { key: 'WEB_DEV', value: v.WEB_DEV },
      { key: 'OPEN', value: v.OPEN },
    ]);
    assert.deepEqual(answer.skipped, []);
  });

  it('`only` fails as a whole on the first key that breaks a rule, with no value in the error', async () => {
    const only = (keys: string[], app = 'web', env = 'dev') =>
      dev.secrets.export({ app, env, only: ['OPEN', ...keys] });
    const absent = seeded.all;
    await expectError(only(['NOPE']), {
      status: 404,
      code: 'SECRET_NOT_FOUND',
      message: "Secret 'NOPE' not found",
      absent,
    });
    await expectError(only(['REVOKED']), { status: 410, code: 'SECRET_REVOKED', absent });
    await expectError(only(['EXPIRED']), { status: 410, code: 'SECRET_EXPIRED', absent });
    await expectError(only(['WEB_PRD'], 'api'), {
      status: 403,
      code: 'SECRET_SCOPE_DENIED',
      message: "Secret 'WEB_PRD' is not accessible by app 'api'",
      absent,
    });
    await expectError(only(['WEB_PRD']), {
      status: 403,
      code: 'SECRET_ENV_DENIED',
      message: "Secret 'WEB_PRD' is not available in environment 'dev'",
      absent,
    });
    await expectError(only(['NOPE', 'REVOKED']), { status: 404, code: 'SECRET_NOT_FOUND', absent });
    await expectError(only(['REVOKED', 'NOPE']), { status: 410, code: 'SECRET_REVOKED', absent });
    await expectError(dev.secrets.export({ only: ['WEB_ANY'] }), {
      status: 403,
      code: 'SECRET_SCOPE_DENIED',
      absent,
    });
  });

  it('a viewer cannot export', async () => {
    const viewer = server.client(await server.newUser('viewer'));
    await expectError(viewer.secrets.export({ app: 'web', env: 'dev' }), {
      status: 403,
      code: 'FORBIDDEN',
      message: /\bdeveloper\b/,
      absent: seeded.all,
    });
  });

  it('the query is checked: slugs, keys in `only`, no unknown parameters', async () => {
    const token = await accessToken(server.url, server.owner);
    const get = (qs: string) => rawRequest(server.url, 'GET', `/v1/export?${qs}`, { token });
    assert.equal(assertErrorBody(await get('app=Web'), 400, 'VALIDATION_ERROR').field, 'app');
    assert.equal(assertErrorBody(await get('app=web&env=a%20b'), 400).field, 'env');
    assert.match(assertErrorBody(await get('only='), 400).message, /^only: /);
    assert.match(assertErrorBody(await get('only=OPEN,bad%20key'), 400).message, /^only/);
    assert.match(assertErrorBody(await get('secret=1'), 400).message, /^secret: unknown field/);
  });
});
