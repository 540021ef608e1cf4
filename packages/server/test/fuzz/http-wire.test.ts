/**
 * The wire below the routes, over raw TCP: request lines, headers and framing no HTTP client
 * sends. Named cases first (each the answer it must get), then generated requests: whatever
 * arrives, the server never answers 5xx, every error it sends is JSON `{ code, message }`
 * (431 for headers over Node's 16 KiB, 400 for anything it cannot read), it keeps serving,
 * and it stores nothing.
 */
import type { ErrorBody } from '@ductape/sdk';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HTTP_STATUS } from '../../src/errors.js';
import { assertPrototypesIntact, assertProperty, prototypeFingerprint } from './fuzz-http.js';
import { exchange, rawRequestArb, type RawRequest, type WireAnswer } from './fuzz-wire.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

const SCALE = Number(process.env.DUCTAPE_FUZZ_SCALE ?? '1');
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const CRLF = '\r\n';

/** The first answer on the connection must be this status, in the error shape when >= 400. */
function assertAnswer(answer: WireAnswer, status: number, what: string): ErrorBody | undefined {
  const shown = `${what}: ${JSON.stringify(answer.raw.toString('latin1').slice(0, 400))}`;
  const first = answer.responses[0];
  assert.ok(first, `no answer: ${shown}`);
  assert.equal(first.status, status, shown);
  if (status < 400) return undefined;
  return assertErrorJson(first.status, first.headers.get('content-type'), first.body, shown);
}

function assertErrorJson(status: number, type: string | undefined, text: string, shown: string): ErrorBody {
  assert.match(type ?? '', /^application\/json/, shown);
  const body = JSON.parse(text) as ErrorBody;
  assert.deepEqual(
    Object.keys(body).filter((k) => !['code', 'message', 'field'].includes(k)),
    [],
    shown,
  );
  assert.equal(typeof body.message, 'string', shown);
  assert.equal(HTTP_STATUS[body.code], status, shown);
  return body;
}

describe('fuzzing the HTTP wire [sqlite]', () => {
  let server: TestServer;
  let token: string;
  let baseline: unknown;
  const prototypes = prototypeFingerprint();
  const snapshot = async (): Promise<unknown> =>
    Promise.all(
      ['/v1/secrets', '/v1/secrets/fuzz_base_alpha', '/v1/users', '/v1/tokens'].map(
        async (path) => (await rawRequest(server.url, 'GET', path, { token })).json,
      ),
    );
  const request = (head: string, ...headers: string[]): string =>
    [head, 'Host: localhost', ...headers, '', ''].join(CRLF);

  before(async () => {
    server = await startTestServer();
    token = await accessToken(server.url, server.owner);
    const created = await rawRequest(server.url, 'POST', '/v1/secrets', {
      token,
      body: { key: 'fuzz_base_alpha', value: 'alpha-value' },
    });
    assert.equal(created.status, 201, created.text);
    baseline = await snapshot();
  });
  after(() => server.stop());

  /** [what, bytes, expected status, expected code]. */
  const cases = (): [string, string | Buffer, number, string | undefined][] => [
    [
      'headers over 16 KiB',
      request('GET /v1/me HTTP/1.1', `X-Big: ${'a'.repeat(20_000)}`),
      431,
      'HEADERS_TOO_LARGE',
    ],
    ['a request line over 16 KiB', request(`GET /v1/secrets/${'k'.repeat(20_000)} HTTP/1.1`), 431, undefined],
    [
      '3,000 headers',
      request('GET /healthz HTTP/1.1', ...Array.from({ length: 3000 }, (_, i) => `X-${i}: v`)),
      431,
      undefined,
    ],
    [
      'an Authorization of 15,000 characters',
      request('GET /v1/me HTTP/1.1', `Authorization: Bearer ${'a'.repeat(15_000)}`),
      401,
      'TOKEN_INVALID',
    ],
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['an unknown HTTP version', request('GET /healthz HTTP/9.9'), 400, 'VALIDATION_ERROR'],
    ['a method Node does not know', request('FOO /healthz HTTP/1.1'), 400, 'VALIDATION_ERROR'],
    [
      'a control byte in a header name',
      request('GET /healthz HTTP/1.1', 'X-A\x01: b'),
      400,
      'VALIDATION_ERROR',
    ],
    [
      'a DEL byte in the Authorization',
      request('GET /v1/me HTTP/1.1', 'Authorization: Bearer \x7fabc'),
      400,
      'VALIDATION_ERROR',
    ],
    [
      'Latin-1 bytes in the Authorization',
      Buffer.from(request('GET /v1/me HTTP/1.1', 'Authorization: Bearer \xe9\xe9'), 'latin1'),
      401,
      'TOKEN_INVALID',
    ],
    ['a NUL byte in the path', request('GET /v1/secrets/a\x00b HTTP/1.1'), 400, 'VALIDATION_ERROR'],
    [
      'UTF-8 bytes in the path',
      Buffer.from(request('GET /v1/secrets/café HTTP/1.1'), 'utf8'),
      400,
      'VALIDATION_ERROR',
    ],
    ['line ends without CR', 'GET /healthz HTTP/1.1\nHost: x\n\n', 400, 'VALIDATION_ERROR'],
    ['a folded header line', request('GET /healthz HTTP/1.1', 'X-A: b', ' c'), 400, 'VALIDATION_ERROR'],
    ['a space before the colon', request('GET /healthz HTTP/1.1', 'X-A : b'), 400, 'VALIDATION_ERROR'],
    [
      'Content-Length: abc',
      request('POST /v1/secrets HTTP/1.1', 'Content-Length: abc') + '{}',
      400,
      'VALIDATION_ERROR',
    ],
    [
      'Content-Length: -1',
      request('POST /v1/secrets HTTP/1.1', 'Content-Length: -1') + '{}',
      400,
      'VALIDATION_ERROR',
    ],
    [
      'two different Content-Lengths',
      request('POST /v1/secrets HTTP/1.1', 'Content-Length: 2', 'Content-Length: 3') + '{}',
      400,
      'VALIDATION_ERROR',
    ],
    [
      'Content-Length and chunked together',
      request('POST /v1/secrets HTTP/1.1', 'Transfer-Encoding: chunked', 'Content-Length: 2') +
        '2\r\n{}\r\n0\r\n\r\n',
      400,
      'VALIDATION_ERROR',
    ],
    [
      'a chunk size that is not hex',
      request('POST /v1/secrets HTTP/1.1', 'Transfer-Encoding: chunked') + 'zz\r\n{}\r\n0\r\n\r\n',
      400,
      'VALIDATION_ERROR',
    ],
    [
      'a body shorter than its Content-Length',
      request(
        'POST /v1/secrets HTTP/1.1',
        `Authorization: Bearer ${token}`,
        'Content-Type: application/json',
        'Content-Length: 100',
      ) + '{"key"',
      400,
      'VALIDATION_ERROR',
    ],
    ['headers cut short', 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 400, 'VALIDATION_ERROR'],
    [
      'a TLS ClientHello',
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
      400,
      'VALIDATION_ERROR',
    ],
    ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['HTTP/1.1 without a Host header', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['HTTP/1.0 without a Host header (allowed)', 'GET /healthz HTTP/1.0\r\n\r\n', 200, undefined],
    [
      'an Expect other than 100-continue (ignored)',
      request('GET /healthz HTTP/1.1', 'Expect: teapot'),
      200,
      undefined,
    ],
    ['an absolute URL', request('GET http://elsewhere/healthz HTTP/1.1'), 200, undefined],
    ['OPTIONS *', request('OPTIONS * HTTP/1.1'), 404, 'ROUTE_NOT_FOUND'],
    [
      'a bad Authorization before a good one: the first counts',
      request('GET /v1/me HTTP/1.1', 'Authorization: Bearer nope', `Authorization: Bearer ${token}`),
      401,
      'TOKEN_INVALID',
    ],
  ];

  it('answers each malformed request with its status and a JSON { code, message }', async () => {
    for (const [what, bytes, status, code] of cases()) {
      const body = assertAnswer(await exchange(server.url, bytes), status, what);
      if (code !== undefined) assert.equal(body?.code, code, what);
    }
    assert.equal((await rawRequest(server.url, 'GET', '/healthz')).status, 200);
    assert.deepEqual(await snapshot(), baseline);
  });

  it('never answers generated raw requests with a 5xx, answers errors in JSON, stores nothing', async () => {
    let sent = 0;
    const started = Date.now();
    await assertProperty(
      fc.asyncProperty(fc.array(rawRequestArb(token), { minLength: 12, maxLength: 20 }), async (batch) => {
        const answers = await Promise.all(batch.map((r) => exchange(server.url, r.bytes)));
        answers.forEach((answer, i) => judgeRaw(batch[i] as RawRequest, answer));
        sent += batch.length;
        assert.equal(
          (await rawRequest(server.url, 'GET', '/healthz')).status,
          200,
          'the server stopped answering',
        );
        assert.deepEqual(await snapshot(), baseline, 'a raw request changed something');
        assertPrototypesIntact(prototypes);
      }),
      { numRuns: Math.max(1, Math.round(40 * SCALE)), seed: SEED },
    );
    process.stderr.write(`[fuzz wire] ${sent} raw requests in ${Date.now() - started} ms\n`);
  });

  it('refuses an access token changed anywhere (401)', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    // The two shapes found so far, checked every time; the property looks for others.
    const last = alphabet.indexOf(token.at(-1) as string);
    for (const changed of [`${token}.`, token.slice(0, -1) + (alphabet[last ^ 1] as string)]) {
      const answer = await rawRequest(server.url, 'GET', '/v1/me', { token: changed });
      assert.equal(answer.status, 401, `${changed} was accepted for ${token}`);
    }
    await assertProperty(
      fc.asyncProperty(fc.nat(), fc.constantFrom(...alphabet), fc.boolean(), async (at, c, insert) => {
        const i = 4 + (at % (token.length - 4));
        const changed = insert
          ? token.slice(0, i) + c + token.slice(i)
          : token.slice(0, i) + (token[i] === c ? (c === 'A' ? 'B' : 'A') : c) + token.slice(i + 1);
        const answer = await rawRequest(server.url, 'GET', '/v1/me', { token: changed });
        assert.equal(answer.status, 401, `${changed} was accepted for ${token}`);
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  it('answers a CONNECT by closing the connection, without a word', async () => {
    const answer = await exchange(server.url, request('CONNECT example.com:443 HTTP/1.1'));
    assert.equal(answer.raw.length, 0);
  });
});

function judgeRaw(request: RawRequest, answer: WireAnswer): void {
  const text = answer.raw.toString('latin1');
  const shown = `${request.what}: ${JSON.stringify(request.bytes.toString('latin1').slice(0, 300))} -> ${JSON.stringify(text.slice(0, 300))}`;
  assert.doesNotMatch(text, /(^|\r\n)HTTP\/1\.[01] 5\d\d /, `a 5xx: ${shown}`);
  // Only a CONNECT (Node has no tunnel to offer) or nothing at all goes unanswered.
  if (answer.raw.length === 0) {
    assert.ok(request.method === 'CONNECT' || request.bytes.toString().trim() === '', `no answer: ${shown}`);
    return;
  }
  const first = answer.responses.find((r) => r.status !== 100);
  assert.ok(first, `not an HTTP answer: ${shown}`);
  if (first.status >= 400 && request.method !== 'HEAD') {
    assertErrorJson(first.status, first.headers.get('content-type'), first.body, shown);
  }
}
