/**
 * A service token cannot tell a key outside its scope from a key that does not exist
 * (issue 13, item 10). The attack: asking for keys one by one, a `web/prd` token got
 * `SECRET_SCOPE_DENIED` / `SECRET_ENV_DENIED` for keys that exist and `SECRET_NOT_FOUND` for
 * the rest, and so mapped what the workspace holds. Every way a token names a key (fetch,
 * an old version, metadata, resolve, validate, export of named keys) must now answer an
 * out-of-scope key with the very status, code and message (the key aside) of a missing one,
 * in the same time class: both are decided after one read of the row, before any value is
 * opened (medians of interleaved attempts are reported, loosely checked within 2x as in
 * sign-in-enumeration). Users keep the precise reasons.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest, type RawResponse } from '../helpers/http.js';

/** Same-length names, so even the message length cannot tell them apart. */
const OTHER_APP = 'PROBE_OTHER_APP';
const OTHER_ENV = 'PROBE_OTHER_ENV';
const MISSING = 'PROBE_NOT_THERE';
const ALLOWED = 'PROBE_ALLOWED_1';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describeEachBackend('service tokens probing keys outside their scope', (backend) => {
  let server: TestServer;
  let serviceToken: string;
  let userToken: string;

  before(async () => {
    server = await startTestServer({}, backend);
    userToken = await accessToken(server.url, server.owner);
    const create = async (body: object): Promise<void> => {
      const answer = await rawRequest(server.url, 'POST', '/v1/secrets', { token: userToken, body });
      assert.equal(answer.status, 201, answer.text);
    };
    await create({ key: ALLOWED, value: 'allowed-value', scope: ['web'], envs: ['prd'] });
    await create({ key: OTHER_APP, value: 'other-app-value', scope: ['api'] });
    await create({ key: OTHER_ENV, value: 'other-env-value', envs: ['dev'] });
    const created = await rawRequest(server.url, 'POST', '/v1/tokens', {
      token: userToken,
      body: { app: 'web', env: 'prd' },
    });
    serviceToken = (created.json as { token: string }).token;
  });
  after(() => server.stop());

  /** Every request that names one key, as a service token (or a user) sends it. */
  const probes: [string, (key: string, token: string) => Promise<RawResponse>][] = [
    ['fetch', (key, token) => rawRequest(server.url, 'GET', `/v1/secrets/${key}`, { token })],
    [
      'fetch a version',
      (key, token) => rawRequest(server.url, 'GET', `/v1/secrets/${key}?version=1`, { token }),
    ],
    ['metadata', (key, token) => rawRequest(server.url, 'GET', `/v1/secrets/${key}/metadata`, { token })],
    [
      'resolve',
      (key, token) =>
        rawRequest(server.url, 'POST', '/v1/resolve', {
          token,
          body: { input: { auth: `Bearer $Secret{${key}}` } },
        }),
    ],
    [
      'validate',
      (key, token) =>
        rawRequest(server.url, 'POST', '/v1/validate', { token, body: { input: `$Secret{${key}}` } }),
    ],
    ['export', (key, token) => rawRequest(server.url, 'GET', `/v1/export?only=${key}`, { token })],
  ];

  /** The answer with the key's name taken out: what is left must not depend on the key. */
  const shape = (answer: RawResponse, key: string): string =>
    `${answer.status} ${answer.text.replaceAll(key, '<KEY>')}`;

  it('answers an out-of-scope key exactly as a missing one, on every route that names a key', async () => {
    for (const [what, probe] of probes) {
      const missing = shape(await probe(MISSING, serviceToken), MISSING);
      assert.match(missing, /SECRET_NOT_FOUND/, `${what}: ${missing}`);
      for (const hidden of [OTHER_APP, OTHER_ENV]) {
        const answer = await probe(hidden, serviceToken);
        assert.equal(shape(answer, hidden), missing, `${what} tells ${hidden} (exists) from a missing key`);
        assert.equal(/other-(app|env)-value/.test(answer.text), false, 'no value leaks');
      }
    }
  });

  it('still answers keys in its scope, and users keep the precise reasons', async () => {
    const fetched = await rawRequest(server.url, 'GET', `/v1/secrets/${ALLOWED}`, { token: serviceToken });
    assert.equal((fetched.json as { value: string }).value, 'allowed-value');
    const asUser = async (key: string): Promise<unknown> =>
      (
        await rawRequest(server.url, 'POST', '/v1/resolve', {
          token: userToken,
          body: { input: `$Secret{${key}}`, app: 'web', env: 'prd' },
        })
      ).json;
    assert.deepEqual(await asUser(OTHER_APP), {
      code: 'SECRET_SCOPE_DENIED',
      message: `Secret '${OTHER_APP}' is not accessible by app 'web'`,
      field: 'app',
    });
    assert.deepEqual(await asUser(OTHER_ENV), {
      code: 'SECRET_ENV_DENIED',
      message: `Secret '${OTHER_ENV}' is not available in environment 'prd'`,
      field: 'env',
    });
    assert.deepEqual(await asUser(MISSING), {
      code: 'SECRET_NOT_FOUND',
      message: `Secret '${MISSING}' not found`,
    });
  });

  it('takes the same time for an out-of-scope key as for a missing one', async (t) => {
    const fetch = probes[0]?.[1] as (key: string, token: string) => Promise<RawResponse>;
    const timed = async (key: string): Promise<number> => {
      const started = process.hrtime.bigint();
      assert.equal((await fetch(key, serviceToken)).status, 404);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const times = { hidden: [] as number[], missing: [] as number[] };
    for (let i = 0; i < 150; i++) {
      // Interleaved, so drift in the machine's load affects both alike.
      times.hidden.push(await timed(i % 2 === 0 ? OTHER_APP : OTHER_ENV));
      times.missing.push(await timed(MISSING));
    }
    const [hidden, missing] = [median(times.hidden), median(times.missing)];
    t.diagnostic(
      `${backend}: median fetch, out of scope ${hidden.toFixed(3)} ms, missing ${missing.toFixed(3)} ms`,
    );
    assert.ok(hidden < missing * 2 && missing < hidden * 2, `${hidden} ms vs ${missing} ms`);
  });
});
