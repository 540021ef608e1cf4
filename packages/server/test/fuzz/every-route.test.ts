/**
 * Property-based fuzzing of every route over a real port: batches of generated requests that
 * must each be refused (bad credentials, a path naming nothing, a bad query, a bad body on an
 * existing target; see fuzz-routes.ts) go out 8 at a time. Every answer must be a 4xx
 * `{ code, message, field? }` whose status is its code's, never a 5xx; after each batch the
 * server still answers, everything stored is exactly as before (secrets, values, versions,
 * users, tokens), and no prototype of the process the server runs in has changed.
 *
 * DUCTAPE_FUZZ_SCALE multiplies the number of batches (1 by default); FUZZ_SEED replays a run.
 */
import type { ImportResponse } from '@ductape/sdk';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { buildDocument } from '../../src/http/openapi/document.js';
import { describeEachBackend, type BackendName } from '../helpers/backends.js';
import {
  assertPrototypesIntact,
  assertProperty,
  assertRefused,
  FuzzClient,
  prototypeFingerprint,
  type FuzzRequest,
  type FuzzResponse,
} from './fuzz-http.js';
import { anyRouteRequest, ROUTES, type FuzzTargets, type Generated } from './fuzz-routes.js';
import { BASE_KEYS, CANARY } from './fuzz-specs.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

const SCALE = Number(process.env.DUCTAPE_FUZZ_SCALE ?? '1');
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Batches per backend: PostgreSQL gets a smaller run (its requests are slower here). */
const RUNS: Record<BackendName, number> = { sqlite: 80, postgres: 25 };
const BATCH = { minLength: 25, maxLength: 40 };

/** Routes as Fastify lists them (`printRoutes`), without the HEAD routes it adds to each GET. */
function registeredRoutes(tree: string): string[] {
  const out: string[] = [];
  const prefixes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    prefixes.length = depth;
    const path = (prefixes[depth - 1] ?? '') + (match[2] as string);
    prefixes[depth] = path;
    for (const method of (match[3] as string).split(', '))
      if (method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out.sort();
}

const UNAUTHENTICATED = new Set(['UNAUTHENTICATED', 'TOKEN_INVALID', 'TOKEN_EXPIRED']);
const HEALTH_BODY: Record<string, unknown> = {
  '/healthz': { status: 'ok' },
  '/readyz': { status: 'ready' },
  '/v1/openapi.json': buildDocument(),
};

function judge(generated: Generated, response: FuzzResponse): void {
  const { request } = generated;
  const where = (): string => `${fc.stringify(request)} -> ${response.status} ${response.text.slice(0, 300)}`;
  assert.equal(response.text.includes(CANARY), false, `the answer echoes a value: ${where()}`);
  switch (generated.expect) {
    case 'health':
      // Headers over Node's 16 KiB are refused before any route: 431.
      if (response.status === 431) {
        assertRefused(request, response);
        return;
      }
      // A NUL in the query (a %00 that decodes) is refused on every route, health included.
      if (response.status === 400 && /%00/i.test(request.path)) {
        const body = assertRefused(request, response);
        assert.match(body?.message ?? '', /must not contain the NUL character/, where());
        return;
      }
      assert.equal(response.status, 200, where());
      assert.deepEqual(response.json, HEALTH_BODY[request.path.split('?')[0] as string], where());
      return;
    case 'unauthenticated': {
      const body = assertRefused(request, response);
      if (response.status === 431) return;
      assert.equal(response.status, 401, where());
      if (body) assert.ok(UNAUTHENTICATED.has(body.code), where());
      return;
    }
    case 'import':
      if (response.status === 200) {
        const { results } = response.json as ImportResponse;
        assert.deepEqual(Object.keys(response.json as object), ['results'], where());
        assert.ok(results.length > 0, where());
        for (const result of results) {
          assert.equal(result.status, 'refused', where());
          assert.equal(typeof result.code, 'string', where());
          assert.equal(typeof result.message, 'string', where());
        }
        return;
      }
      assertRefused(request, response);
      return;
    case 'refused':
      assertRefused(request, response);
  }
}

describeEachBackend('fuzzing every route', (backend) => {
  let server: TestServer;
  let client: FuzzClient;
  let targets: FuzzTargets;
  let serviceToken: string;
  let baseline: unknown;
  const prototypes = prototypeFingerprint();

  const get = async (path: string, token = targets.ownerToken): Promise<unknown> => {
    const answer = await rawRequest(server.url, 'GET', path, { token });
    return { status: answer.status, body: answer.json };
  };
  /** Everything a refused request must leave as it was, read through the API. */
  const snapshot = async (): Promise<unknown> => {
    const [alpha, revoked, versioned] = BASE_KEYS;
    const reads = [
      '/v1/secrets',
      `/v1/secrets/${alpha}`,
      `/v1/secrets/${revoked}/metadata`,
      `/v1/secrets/${versioned}`,
      `/v1/secrets/${versioned}?version=1`,
      `/v1/secrets/${versioned}/versions`,
      '/v1/users',
      '/v1/tokens',
      '/v1/me',
    ];
    return Promise.all([
      ...reads.map((path) => get(path)),
      get('/v1/me', targets.viewerToken),
      get('/v1/export?app=app1&env=prd', serviceToken),
    ]);
  };

  before(async () => {
    server = await startTestServer({}, backend);
    const ownerToken = await accessToken(server.url, server.owner);
    const viewer = await server.newUser('viewer');
    const send = async (method: string, path: string, body?: object): Promise<unknown> => {
      const answer = await rawRequest(server.url, method, path, { token: ownerToken, body });
      assert.ok(answer.status < 300, `${method} ${path}: ${answer.text}`);
      return answer.json;
    };
    const [alpha, revoked, versioned] = BASE_KEYS;
    await send('POST', '/v1/secrets', {
      key: alpha,
      value: 'alpha-value',
      description: 'the fuzz base',
      token_type: 'password',
      scope: ['app1'],
      envs: ['prd', 'dev'],
      expires_at: 4_102_444_800,
    });
    await send('POST', '/v1/secrets', { key: revoked, value: 'revoked-value' });
    await send('POST', `/v1/secrets/${revoked}/revoke`);
    await send('POST', '/v1/secrets', { key: versioned, value: 'v1' });
    await send('PATCH', `/v1/secrets/${versioned}`, { value: 'v2' });
    await send('PATCH', `/v1/secrets/${versioned}`, { value: 'v3' });
    const token = (await send('POST', '/v1/tokens', { app: 'app1', env: 'prd' })) as {
      token: string;
      token_id: string;
    };
    serviceToken = token.token;
    targets = {
      ownerToken,
      viewerToken: await accessToken(server.url, viewer),
      credentials: server.owner,
      userIds: [server.owner.user_id, viewer.user_id],
      tokenId: token.token_id,
    };
    client = new FuzzClient(server.url, 8);
    baseline = await snapshot();
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  it('the fuzzed routes are exactly the routes the server has', () => {
    const fuzzed = ROUTES.map((r) => `${r.method} ${r.route}`).sort();
    // The API reference page and its files are not API (test/api/docs-page.test.ts opens them).
    const registered = registeredRoutes(server.server.app.printRoutes({ commonPrefix: false }));
    assert.deepEqual(
      fuzzed,
      registered.filter((r) => !r.startsWith('GET /docs')),
    );
  });

  it('refuses every invalid request with a 4xx { code, message }, stays up and changes nothing', async () => {
    const started = Date.now();
    const perRoute = new Map<string, number>();
    let sent = 0;
    await assertProperty(
      fc.asyncProperty(fc.array(anyRouteRequest(targets), BATCH), async (batch) => {
        const answers = await client.sendAll(batch.map((g) => g.request));
        batch.forEach((generated, i) => {
          judge(generated, answers[i] as FuzzResponse);
          perRoute.set(generated.route, (perRoute.get(generated.route) ?? 0) + 1);
        });
        sent += batch.length;
        const health = await rawRequest(server.url, 'GET', '/healthz');
        assert.equal(health.status, 200, 'the server stopped answering');
        assert.deepEqual(
          await snapshot(),
          baseline,
          `a refused request changed something: ${describe(batch)}`,
        );
        assertPrototypesIntact(prototypes);
      }),
      { numRuns: Math.max(1, Math.round(RUNS[backend] * SCALE)), seed: SEED },
    );
    // Every route got its share (a route the generators never reach would pass unnoticed).
    const least = Math.min(...ROUTES.map((r) => perRoute.get(`${r.method} ${r.route}`) ?? 0));
    process.stderr.write(
      `[fuzz ${backend}] ${sent} requests over ${ROUTES.length} routes (fewest per route: ${least}) in ${Date.now() - started} ms\n`,
    );
    assert.ok(least >= Math.min(20, sent / ROUTES.length / 3), `a route got only ${least} requests`);
  });
});

const describe = (batch: Generated[]): string =>
  batch.map((g) => fc.stringify(g.request as FuzzRequest)).join('\n');
