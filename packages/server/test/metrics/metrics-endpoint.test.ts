/**
 * The metrics listener of a running server, on both stores: what it counts when real
 * requests arrive over HTTP, and what it never shows. Requests carry distinctive secret keys
 * and values in the URL, the body and the query string; the scrape must hold none of them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';
import { scrape } from './scrape.js';

const REQUESTS = 'ductape_http_requests_total';
/** Every route pattern the API registers, and the one value of requests that matched none. */
const KNOWN_ROUTE = /^(\/healthz|\/readyz|\/v1\/[a-z/:-]+|unmatched)$/;

function metricsUrl(server: TestServer): string {
  const url = server.server.metricsUrl;
  assert.ok(url, 'DUCTAPE_METRICS_PORT is set: the server must have a metrics listener');
  return url;
}

describeEachBackend('metrics listener', (backend) => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startTestServer({ DUCTAPE_METRICS_PORT: '0' }, backend);
    token = await accessToken(server.url, server.owner);
  });
  after(() => server.stop());

  it('counts requests by route pattern, method and status, and no key or value reaches a label', async () => {
    const tag = randomBytes(6).toString('hex');
    const key = `LEAKY_KEY_${tag}`;
    const value = `leaky-value-${tag}`;
    const missing = `MISSING_KEY_${tag}`;
    const base = await scrape(metricsUrl(server));
    const count = (route: string, method: string, status: string): number =>
      base.value(REQUESTS, { route, method, status });
    const before = {
      created: count('/v1/secrets', 'POST', '201'),
      fetched: count('/v1/secrets/:key', 'GET', '200'),
      missing: count('/v1/secrets/:key', 'GET', '404'),
      refused: count('/v1/secrets/:key', 'GET', '400'),
      unmatched: base.value(REQUESTS, { route: 'unmatched' }),
    };

    const created = await rawRequest(server.url, 'POST', '/v1/secrets', { token, body: { key, value } });
    assert.equal(created.status, 201, created.text);
    for (let i = 0; i < 3; i++) {
      const fetched = await rawRequest(server.url, 'GET', `/v1/secrets/${key}`, { token });
      assert.equal(fetched.status, 200, fetched.text);
    }
    const query = await rawRequest(server.url, 'GET', `/v1/secrets/${key}?note=${value}`, { token });
    assert.equal(query.status, 400, query.text);
    assert.equal((await rawRequest(server.url, 'GET', `/v1/secrets/${missing}`, { token })).status, 404);
    assert.equal(
      (await rawRequest(server.url, 'GET', `/v1/no-such-route/${key}/${value}`, { token })).status,
      404,
    );
    assert.equal((await rawRequest(server.url, 'PATCH', `/${value}`)).status, 404);

    const after = await scrape(metricsUrl(server));
    const now = (route: string, method: string, status: string): number =>
      after.value(REQUESTS, { route, method, status });
    assert.equal(now('/v1/secrets', 'POST', '201') - before.created, 1);
    assert.equal(now('/v1/secrets/:key', 'GET', '200') - before.fetched, 3);
    assert.equal(now('/v1/secrets/:key', 'GET', '404') - before.missing, 1);
    assert.equal(now('/v1/secrets/:key', 'GET', '400') - before.refused, 1);
    assert.equal(after.value(REQUESTS, { route: 'unmatched' }) - before.unmatched, 2);
    assert.equal(
      after.value('ductape_http_request_duration_seconds_count', {
        route: '/v1/secrets/:key',
        method: 'GET',
        status: '200',
      }),
      now('/v1/secrets/:key', 'GET', '200'),
      'one latency observation per request',
    );

    for (const secret of [key, value, missing, tag]) {
      assert.ok(!after.text.includes(secret), `the scrape must not hold '${secret}'`);
    }
    for (const labels of after.series(REQUESTS)) {
      assert.match(labels.route ?? '', KNOWN_ROUTE, 'a route label is a route pattern');
    }
  });

  it('counts sign-ins and service-token authentications, failed ones apart, and principal cache hits', async () => {
    const url = metricsUrl(server);
    const first = await scrape(url);
    await accessToken(server.url, server.owner);
    await accessToken(server.url, server.owner);
    const wrong = await rawRequest(server.url, 'POST', '/v1/auth/token', {
      body: { ...server.owner, private_key: `${server.owner.private_key.slice(0, -4)}AAAA` },
    });
    assert.equal(wrong.status, 401);
    const minted = await rawRequest(server.url, 'POST', '/v1/tokens', {
      token,
      body: { app: 'web', env: 'prod' },
    });
    assert.equal(minted.status, 201, minted.text);
    const serviceToken = (minted.json as { token: string }).token;
    for (let i = 0; i < 2; i++) {
      assert.equal((await rawRequest(server.url, 'GET', '/v1/me', { token: serviceToken })).status, 200);
    }
    const forged = `${serviceToken.slice(0, -4)}AAAA`;
    assert.equal((await rawRequest(server.url, 'GET', '/v1/me', { token: forged })).status, 401);

    const second = await scrape(url);
    const delta = (name: string, labels: Record<string, string>): number =>
      second.value(name, labels) - first.value(name, labels);
    assert.equal(delta('ductape_sign_ins_total', { result: 'success' }), 2);
    assert.equal(delta('ductape_sign_ins_total', { result: 'failure' }), 1);
    assert.equal(delta('ductape_service_token_authentications_total', { result: 'success' }), 2);
    assert.equal(delta('ductape_service_token_authentications_total', { result: 'failure' }), 1);
    // The token was read from the store once, then from memory (the forged one: a second read).
    assert.ok(delta('ductape_principal_cache_lookups_total', { kind: 'token', result: 'hit' }) >= 1);
    assert.ok(delta('ductape_principal_cache_lookups_total', { kind: 'token', result: 'miss' }) >= 1);
    assert.ok(delta('ductape_principal_cache_lookups_total', { kind: 'user', result: 'hit' }) >= 1);
    for (const secret of [server.owner.private_key, serviceToken, forged]) {
      assert.ok(!second.text.includes(secret), 'no credential in the scrape');
    }
  });

  it('measures audit batches and store operations, and counts a store error by its kind', async () => {
    const url = metricsUrl(server);
    const first = await scrape(url);
    const key = `DUPLICATE_${randomBytes(4).toString('hex')}`;
    const body = { key, value: 'one' };
    assert.equal((await rawRequest(server.url, 'POST', '/v1/secrets', { token, body })).status, 201);
    assert.equal((await rawRequest(server.url, 'POST', '/v1/secrets', { token, body })).status, 409);
    assert.equal((await rawRequest(server.url, 'GET', `/v1/secrets/${key}`, { token })).status, 200);

    const second = await scrape(url);
    const delta = (name: string, labels: Record<string, string> = {}): number =>
      second.value(name, labels) - first.value(name, labels);
    assert.equal(
      delta('ductape_store_query_errors_total', { operation: 'insertSecret', kind: 'duplicate_key' }),
      1,
    );
    assert.ok(delta('ductape_store_query_duration_seconds_count', { operation: 'insertSecret' }) >= 2);
    assert.ok(delta('ductape_store_query_duration_seconds_count', { operation: 'getSecret' }) >= 1);
    // The read of the value is audited before it is answered: at least one batch, written.
    assert.ok(delta('ductape_audit_batch_entries_count') >= 1);
    assert.ok(delta('ductape_audit_batch_entries_sum') >= 1);
    assert.ok(delta('ductape_audit_batch_commit_duration_seconds_count') >= 1);
    assert.equal(delta('ductape_audit_batch_failures_total'), 0);
    assert.ok(second.value('process_cpu_seconds_total') > 0, 'process metrics are there');
    assert.ok(!second.text.includes(key));
  });

  it('serves metrics only on its own listener, and only at /metrics', async () => {
    const api = await rawRequest(server.url, 'GET', '/metrics');
    assert.ok(!api.text.includes(REQUESTS), 'the API port does not serve metrics');
    const other = await fetch(`${metricsUrl(server)}/v1/secrets`);
    assert.equal(other.status, 404);
    await other.text();
  });
});

describeEachBackend('metrics of rate limits', (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      {
        DUCTAPE_METRICS_PORT: '0',
        DUCTAPE_TOKEN_EXCHANGES_PER_IP: '2',
        DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: '1',
      },
      backend,
    );
  });
  after(() => server.stop());

  it('counts each 429 under the limit that refused it', async () => {
    const url = metricsUrl(server);
    const first = await scrape(url);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await rawRequest(server.url, 'POST', '/v1/auth/token', { body: server.owner })).status);
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    const guess = `dst_${'a'.repeat(24)}_${'b'.repeat(43)}`;
    const guesses: number[] = [];
    for (let i = 0; i < 2; i++)
      guesses.push((await rawRequest(server.url, 'GET', '/v1/me', { token: guess })).status);
    assert.deepEqual(guesses, [401, 429]);

    const second = await scrape(url);
    const delta = (limit: string): number =>
      second.value('ductape_rate_limit_refusals_total', { limit }) -
      first.value('ductape_rate_limit_refusals_total', { limit });
    assert.equal(delta('sign_in'), 1);
    assert.equal(delta('service_token'), 1);
    assert.equal(second.value(REQUESTS, { route: '/v1/auth/token', status: '429' }), 1);
  });
});

describeEachBackend('metrics of expiring secrets', (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ DUCTAPE_METRICS_PORT: '0' }, backend);
  });
  after(() => server.stop());

  it('counts secrets expiring within 7 days and expired ones per workspace id, not by name', async () => {
    const name = `expiry-workspace-${randomBytes(4).toString('hex')}`;
    const workspace = await server.newWorkspace(name);
    const quiet = await server.newWorkspace('nothing expires here');
    const token = await accessToken(server.url, workspace);
    const now = Math.floor(Date.now() / 1000);
    const day = 86_400;
    const secrets: [string, number | null][] = [
      ['IN_TWO_DAYS', now + 2 * day],
      ['IN_SIX_DAYS', now + 6 * day],
      ['IN_THIRTY_DAYS', now + 30 * day],
      ['EXPIRED_YESTERDAY', now - day],
      ['NEVER', null],
    ];
    for (const [key, expires_at] of secrets) {
      const created = await rawRequest(server.url, 'POST', '/v1/secrets', {
        token,
        body: { key, value: 'v', expires_at },
      });
      assert.equal(created.status, 201, created.text);
    }
    const quietToken = await accessToken(server.url, quiet);
    await rawRequest(server.url, 'POST', '/v1/secrets', {
      token: quietToken,
      body: { key: 'LATER', value: 'v', expires_at: now + 60 * day },
    });

    const scraped = await scrape(metricsUrl(server));
    assert.equal(scraped.value('ductape_secrets_expiring', { workspace_id: workspace.workspace_id }), 2);
    assert.equal(scraped.value('ductape_secrets_expired', { workspace_id: workspace.workspace_id }), 1);
    const workspaces = [
      ...scraped.series('ductape_secrets_expiring'),
      ...scraped.series('ductape_secrets_expired'),
    ].map((labels) => labels.workspace_id);
    assert.ok(!workspaces.includes(quiet.workspace_id), 'a workspace with nothing expiring has no series');
    assert.ok(!scraped.text.includes(name), 'workspaces are labelled by id, never by name');
    assert.ok(!scraped.text.includes('IN_TWO_DAYS'));
  });
});
