/**
 * `GET /v1/secrets?expiring_within=N` and the SDK's `secrets.list({ expiring_within })`: only
 * the secrets not expired yet that expire within N seconds, soonest first, each exactly as the
 * full list shows it; a service token still sees only its own; any other N is a 400 naming
 * `expiring_within`. On both backends.
 */
import type { Secret } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';

const HOUR = 3600;
const DAY = 86_400;

describeEachBackend('listing the secrets that expire soon', (backend) => {
  let server: TestServer;
  let token: string;
  let now: number;

  const get = async (path: string, bearer = token) => {
    const answer = await rawRequest(server.url, 'GET', path, { token: bearer });
    assert.equal(answer.status, 200, `${path}: ${answer.status} ${answer.text}`);
    return (answer.json as { secrets: Secret[] }).secrets;
  };
  const keys = (list: Secret[]): string[] => list.map((s) => s.key);

  before(async () => {
    server = await startTestServer({}, backend);
    token = await accessToken(server.url, server.owner);
    const sdk = server.client(server.owner);
    now = Math.floor(Date.now() / 1000);
    const create = (key: string, expires_at: number | null, extra = {}) =>
      sdk.secrets.create({ key, value: `value-of-${key}`, expires_at, ...extra });
    // Created out of order, so key order and expiry order differ.
    await create('Z_IN_AN_HOUR', now + HOUR, { scope: ['web'], envs: ['prd'] });
    await create('A_IN_TWO_DAYS', now + 2 * DAY);
    await create('M_IN_TEN_DAYS', now + 10 * DAY);
    await create('B_IN_AN_HOUR_TOO', now + HOUR);
    await create('C_IN_FIVE_HOURS_REVOKED', now + 5 * HOUR);
    await sdk.secrets.revoke('C_IN_FIVE_HOURS_REVOKED');
    await create('D_NEVER', null);
    await create('E_EXPIRED', now - 10);
    await create('F_IN_A_YEAR', now + 365 * DAY);
    // Another workspace's secret expiring soonest of all is never listed.
    const other = await server.newWorkspace('elsewhere');
    await server.client(other).secrets.create({ key: 'OTHER_SOON', value: 'x', expires_at: now + 60 });
  });
  after(() => server?.stop());

  it('lists only those not expired that expire within N seconds, soonest first, then by key', async () => {
    assert.deepEqual(keys(await get(`/v1/secrets?expiring_within=${DAY}`)), [
      'B_IN_AN_HOUR_TOO',
      'Z_IN_AN_HOUR',
      'C_IN_FIVE_HOURS_REVOKED',
    ]);
    assert.deepEqual(keys(await get(`/v1/secrets?expiring_within=${7 * DAY}`)), [
      'B_IN_AN_HOUR_TOO',
      'Z_IN_AN_HOUR',
      'C_IN_FIVE_HOURS_REVOKED',
      'A_IN_TWO_DAYS',
    ]);
    assert.deepEqual(keys(await get('/v1/secrets?expiring_within=60')), []);
    // The longest allowed reaches the one in a year; the expired and the one without expiry never.
    const all = keys(await get('/v1/secrets?expiring_within=315360000'));
    assert.deepEqual(all.slice(-2), ['M_IN_TEN_DAYS', 'F_IN_A_YEAR']);
    assert.ok(!all.includes('E_EXPIRED') && !all.includes('D_NEVER') && !all.includes('OTHER_SOON'));
  });

  it("keeps the store's bounds exactly: not expired at `after`, expiring by `until`", async () => {
    const store = server.server.runtime.store;
    const ws = server.owner.workspace_id;
    const at = now + 2 * DAY;
    assert.deepEqual(
      (await store.listExpiringSecrets(ws, at - 1, at)).map((m) => m.key),
      ['A_IN_TWO_DAYS'],
    );
    assert.deepEqual(await store.listExpiringSecrets(ws, at, at + 1), []);
    assert.deepEqual(await store.listExpiringSecrets(ws, at - 2, at - 1), []);
  });

  it('shows each secret exactly as the full list does, byte for byte', async () => {
    const full = new Map((await get('/v1/secrets')).map((s) => [s.key, s]));
    const soon = await get(`/v1/secrets?expiring_within=${7 * DAY}`);
    for (const secret of soon) assert.deepEqual(secret, full.get(secret.key));
    assert.equal(soon.find((s) => s.key === 'C_IN_FIVE_HOURS_REVOKED')?.status, 'revoked');
    const raw = await rawRequest(server.url, 'GET', `/v1/secrets?expiring_within=${DAY}`, { token });
    assert.equal(raw.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(raw.text, JSON.stringify({ secrets: soon.slice(0, 3) }));
    assert.ok(!raw.text.includes('value-of-'), 'a value in the list');
  });

  it('answers the SDK the same, and list() without options is unchanged', async () => {
    const sdk = server.client(server.owner);
    assert.deepEqual(keys(await sdk.secrets.list({ expiring_within: DAY })), [
      'B_IN_AN_HOUR_TOO',
      'Z_IN_AN_HOUR',
      'C_IN_FIVE_HOURS_REVOKED',
    ]);
    const every = keys(await sdk.secrets.list());
    assert.deepEqual(every, [...every].sort());
    assert.equal(every.length, 8);
  });

  it('gives a service token only the soon-expiring secrets its app and environment may use', async () => {
    const sdk = server.client(server.owner);
    const { token: service } = await sdk.tokens.create({ app: 'api', env: 'dev' });
    const seen = keys(await get(`/v1/secrets?expiring_within=${DAY}`, service));
    assert.deepEqual(seen, ['B_IN_AN_HOUR_TOO', 'C_IN_FIVE_HOURS_REVOKED']);
    const web = (await sdk.tokens.create({ app: 'web', env: 'prd' })).token;
    assert.deepEqual(keys(await get(`/v1/secrets?expiring_within=${DAY}`, web)), [
      'B_IN_AN_HOUR_TOO',
      'Z_IN_AN_HOUR',
      'C_IN_FIVE_HOURS_REVOKED',
    ]);
  });

  it('refuses any other expiring_within with a 400 naming it, and another parameter by its name', async () => {
    for (const bad of [
      '0',
      '-1',
      '1.5',
      '1e3',
      '0x10',
      '%201',
      '',
      'week',
      '315360001',
      '99999999999999999999',
      '7d',
    ]) {
      const answer = await rawRequest(server.url, 'GET', `/v1/secrets?expiring_within=${bad}`, { token });
      const body = assertErrorBody(answer, 400, 'VALIDATION_ERROR');
      assert.equal(body.field, 'expiring_within', `${bad}: ${body.message}`);
      assert.match(body.message, /^expiring_within: must be a whole number of seconds from 1 to 315360000/);
    }
    const twice = await rawRequest(server.url, 'GET', '/v1/secrets?expiring_within=1&expiring_within=2', {
      token,
    });
    assert.equal(assertErrorBody(twice, 400, 'VALIDATION_ERROR').field, 'expiring_within');
    const other = await rawRequest(server.url, 'GET', '/v1/secrets?expiring=7d', { token });
    assert.equal(assertErrorBody(other, 400, 'VALIDATION_ERROR').field, 'expiring');
  });
});
