/**
 * Query strings and headers, fuzzed on every route over a real port, on both stores: any
 * (name, value) pairs, NUL included, between fragments that decode to nothing whole; as any
 * caller (owner, viewer, service token, nobody); with forged client addresses, odd, repeated
 * and huge headers; and header lines with control bytes over raw TCP. Every answer is below
 * 500; an error is JSON `{ code, message, field? }` with its code's status and no stored
 * value in it; a query holding NUL anywhere is a 400 naming such a parameter (issue 13, item
 * 11); nothing that writes succeeds, and after each batch everything stored is as before.
 *
 * With every-route, http-wire and hostile-values, a run sends well over 10,000 generated
 * requests; each suite prints its count. DUCTAPE_FUZZ_SCALE multiplies the batches,
 * FUZZ_SEED replays a run.
 */
import type { ErrorBody } from '@ductape/sdk';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend, type BackendName } from '../helpers/backends.js';
import {
  assertPrototypesIntact,
  assertProperty,
  assertRefused,
  describeRequest,
  FuzzClient,
  prototypeFingerprint,
  type FuzzResponse,
} from './fuzz-http.js';
import { controlHeader, queryCase, type QueryCase, type QueryTargets } from './fuzz-query.js';
import { ROUTES } from './fuzz-routes.js';
import { BASE_KEYS } from './fuzz-specs.js';
import { exchange } from './fuzz-wire.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

const SCALE = Number(process.env.DUCTAPE_FUZZ_SCALE ?? '1');
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Batches of generated requests per backend, and raw ones. */
const RUNS: Record<BackendName, { batches: number; raw: number }> = {
  sqlite: { batches: 45, raw: 10 },
  postgres: { batches: 45, raw: 10 },
};
const BATCH = { minLength: 70, maxLength: 90 };
const RAW_BATCH = { minLength: 20, maxLength: 30 };
/** Values stored in the fuzzed workspace: no error may ever hold one. */
const STORED = ['fq-alpha-8c1d', 'fq-revoked-2b7e', 'fq-v1-55aa', 'fq-v2-55ab', 'fq-v3-55ac'];

/** How the answers fell: a category the generators never reach would pass unnoticed. */
interface Tally {
  nul: number;
  ok: number;
  refused: number;
}

function judge(c: QueryCase, response: FuzzResponse, tally: Tally): void {
  const where = (): string =>
    `${describeRequest(c.request)} -> ${response.status} ${response.text.slice(0, 300)}`;
  assert.ok(response.status < 500, `a 5xx: ${where()}`);
  if (response.status === 431) {
    assertRefused(c.request, response);
    return;
  }
  if (c.nulNames.length > 0) {
    assert.equal(response.status, 400, `NUL in the query was not refused: ${where()}`);
    if (c.request.method === 'HEAD') return;
    const body = response.json as ErrorBody;
    assert.equal(body.code, 'VALIDATION_ERROR', where());
    assert.match(body.message, /must not contain the NUL character \(U\+0000\)/, where());
    assert.ok(body.field !== undefined && c.nulNames.includes(body.field), `names ${body.field}: ${where()}`);
    tally.nul += 1;
    return;
  }
  if (response.status >= 400) {
    assertRefused(c.request, response);
    for (const value of STORED)
      assert.equal(response.text.includes(value), false, `a value in an error: ${where()}`);
    tally.refused += 1;
    return;
  }
  // Only reads succeed: every writing request names nothing or sends a refused body.
  assert.ok(c.request.method === 'GET' || c.request.method === 'HEAD', `a write succeeded: ${where()}`);
  tally.ok += 1;
}

describeEachBackend('fuzzing query strings and headers', (backend) => {
  let server: TestServer;
  let client: FuzzClient;
  let targets: QueryTargets;
  let ownerToken: string;
  let baseline: unknown;
  const prototypes = prototypeFingerprint();
  const totals = { generated: 0, raw: 0, started: 0 };
  const tally: Tally = { nul: 0, ok: 0, refused: 0 };

  /** Everything a generated request must leave as it was, read through the API. */
  const snapshot = async (): Promise<unknown> =>
    Promise.all(
      [
        '/v1/secrets',
        `/v1/secrets/${BASE_KEYS[0]}`,
        `/v1/secrets/${BASE_KEYS[1]}/metadata`,
        `/v1/secrets/${BASE_KEYS[2]}`,
        `/v1/secrets/${BASE_KEYS[2]}/versions`,
        '/v1/users',
        '/v1/tokens',
      ].map(async (path) => {
        const answer = await rawRequest(server.url, 'GET', path, { token: ownerToken });
        return { path, status: answer.status, body: answer.json };
      }),
    );

  before(async () => {
    server = await startTestServer({}, backend);
    ownerToken = await accessToken(server.url, server.owner);
    const viewer = await server.newUser('viewer');
    const send = async (method: string, path: string, body?: object): Promise<unknown> => {
      const answer = await rawRequest(server.url, method, path, { token: ownerToken, body });
      assert.ok(answer.status < 300, `${method} ${path}: ${answer.text}`);
      return answer.json;
    };
    const [alpha, revoked, versioned] = BASE_KEYS;
    await send('POST', '/v1/secrets', { key: alpha, value: STORED[0], scope: ['app1'], envs: ['prd'] });
    await send('POST', '/v1/secrets', { key: revoked, value: STORED[1] });
    await send('POST', `/v1/secrets/${revoked}/revoke`);
    await send('POST', '/v1/secrets', { key: versioned, value: STORED[2] });
    await send('PATCH', `/v1/secrets/${versioned}`, { value: STORED[3] });
    await send('PATCH', `/v1/secrets/${versioned}`, { value: STORED[4] });
    const token = (await send('POST', '/v1/tokens', { app: 'app1', env: 'prd' })) as {
      token: string;
      token_id: string;
    };
    targets = {
      ownerToken,
      viewerToken: await accessToken(server.url, viewer),
      serviceToken: token.token,
      userId: viewer.user_id,
      tokenId: token.token_id,
    };
    client = new FuzzClient(server.url, 8);
    baseline = await snapshot();
    totals.started = Date.now();
  });
  after(async () => {
    client?.close();
    process.stderr.write(
      `[fuzz query ${backend}] ${totals.generated} generated (${tally.nul} NUL refused, ${tally.refused} other 4xx, ${tally.ok} 2xx) and ${totals.raw} raw requests in ${Date.now() - totals.started} ms\n`,
    );
    await server?.stop();
  });

  it('answers any query and headers on every route below 500, refuses NUL, and changes nothing', async () => {
    const perRoute = new Map<string, number>();
    const anyCase = fc.oneof(...ROUTES.map((route) => queryCase(route, targets)));
    await assertProperty(
      fc.asyncProperty(fc.array(anyCase, BATCH), async (batch) => {
        const answers = await client.sendAll(batch.map((c) => c.request));
        batch.forEach((c, i) => {
          judge(c, answers[i] as FuzzResponse, tally);
          perRoute.set(c.route, (perRoute.get(c.route) ?? 0) + 1);
        });
        totals.generated += batch.length;
        assert.equal(
          (await rawRequest(server.url, 'GET', '/healthz')).status,
          200,
          'the server stopped answering',
        );
        assert.deepEqual(await snapshot(), baseline, 'a generated request changed something');
        assertPrototypesIntact(prototypes);
      }),
      { numRuns: Math.max(1, Math.round(RUNS[backend].batches * SCALE)), seed: SEED },
    );
    const least = Math.min(...ROUTES.map((r) => perRoute.get(`${r.method} ${r.route}`) ?? 0));
    assert.ok(
      least >= Math.min(20, totals.generated / ROUTES.length / 3),
      `a route got only ${least} requests`,
    );
    // Each kind of answer is well represented: NUL refusals, other refusals, and reads served.
    for (const [kind, n] of Object.entries(tally)) {
      assert.ok(n >= totals.generated / 40, `only ${n} of ${totals.generated} answers were '${kind}'`);
    }
  });

  it('refuses header lines with control bytes (raw TCP) with a 400 in JSON, and changes nothing', async () => {
    const paths = fc.constantFrom(
      ...ROUTES.map((r) => r.route.replace(':key', BASE_KEYS[2]).replace(':id', targets.userId)),
    );
    const raw = fc
      .tuple(paths, controlHeader, fc.boolean())
      .map(
        ([path, line, auth]) =>
          `GET ${path}?actor=a HTTP/1.1\r\nHost: localhost\r\n` +
          (auth ? `Authorization: Bearer ${ownerToken}\r\n` : '') +
          `${line}\r\nConnection: close\r\n\r\n`,
      );
    await assertProperty(
      fc.asyncProperty(fc.array(raw, RAW_BATCH), async (batch) => {
        const answers = await Promise.all(
          batch.map((bytes) => exchange(server.url, Buffer.from(bytes, 'latin1'))),
        );
        answers.forEach((answer, i) => {
          const shown = JSON.stringify((batch[i] as string).slice(0, 300));
          const first = answer.responses[0];
          assert.ok(first, `no answer: ${shown}`);
          assert.equal(first.status, 400, `${shown} -> ${answer.raw.toString('latin1').slice(0, 300)}`);
          assert.equal((JSON.parse(first.body) as ErrorBody).code, 'VALIDATION_ERROR', shown);
        });
        totals.raw += batch.length;
        assert.deepEqual(await snapshot(), baseline, 'a raw request changed something');
      }),
      { numRuns: Math.max(1, Math.round(RUNS[backend].raw * SCALE)), seed: SEED },
    );
  });
});
