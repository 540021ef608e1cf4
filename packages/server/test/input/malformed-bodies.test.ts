/**
 * Request bodies that are not a JSON object, over raw HTTP: broken JSON, wrong shapes,
 * bad bytes, prototype keys, other content types and oversized bodies. Each gets a 4xx
 * `{ code, message }` (never a 500), echoes nothing of the body, and stores nothing.
 */
import type { Secret } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';
import { accessToken, assertErrorBody, rawRequest, type RawOptions } from '../helpers/http.js';

/** Put in every refused body: it must never come back in an error message. */
const CANARY = 'canary-4f1e9b2c-value';
const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** [what, body as sent, expected status, expected code, word the message must contain]. */
const MALFORMED: [string, string | Buffer, number, string, string][] = [
  ['truncated JSON', `{"key":"BROKEN","value":"${CANARY}"`, 400, 'INVALID_JSON', 'JSON'],
  ['single quotes', `{'key':'BROKEN','value':'${CANARY}'}`, 400, 'INVALID_JSON', 'JSON'],
  ['trailing comma', `{"key":"BROKEN","value":"${CANARY}",}`, 400, 'INVALID_JSON', 'JSON'],
  ['bare word', 'undefined', 400, 'INVALID_JSON', 'JSON'],
  ['NaN', `{"key":"BROKEN","value":"${CANARY}","expires_at":NaN}`, 400, 'INVALID_JSON', 'JSON'],
  ['empty body', '', 400, 'INVALID_JSON', 'empty'],
  ['whitespace only', '  \n ', 400, 'INVALID_JSON', 'empty'],
  ['an array', `[{"key":"BROKEN","value":"${CANARY}"}]`, 400, 'VALIDATION_ERROR', 'body'],
  ['a string', `"${CANARY}"`, 400, 'VALIDATION_ERROR', 'body'],
  ['a number', '42', 400, 'VALIDATION_ERROR', 'body'],
  ['null', 'null', 400, 'VALIDATION_ERROR', 'body'],
  [
    'a byte that is never UTF-8',
    bytes(`{"key":"BROKEN","value":"${CANARY}`, [0xff], '"}'),
    400,
    'INVALID_JSON',
    'UTF-8',
  ],
  [
    'a truncated UTF-8 sequence',
    bytes(`{"key":"BROKEN","value":"${CANARY}`, [0xe2, 0x82], '"}'),
    400,
    'INVALID_JSON',
    'UTF-8',
  ],
  [
    'an overlong UTF-8 "/"',
    bytes(`{"key":"BROKEN","value":"${CANARY}`, [0xc0, 0xaf], '"}'),
    400,
    'INVALID_JSON',
    'UTF-8',
  ],
  [
    'a surrogate encoded as UTF-8',
    bytes(`{"key":"BROKEN","value":"${CANARY}`, [0xed, 0xa0, 0x80], '"}'),
    400,
    'INVALID_JSON',
    'UTF-8',
  ],
  [
    'Latin-1 text',
    bytes(`{"key":"BROKEN","value":"caf`, [0xe9], `${CANARY}"}`),
    400,
    'INVALID_JSON',
    'UTF-8',
  ],
  [
    'a top-level __proto__',
    `{"__proto__":{"role":"owner"},"key":"BROKEN","value":"${CANARY}"}`,
    400,
    'VALIDATION_ERROR',
    '__proto__',
  ],
  ['only a __proto__', '{"__proto__":{"isAdmin":true}}', 400, 'VALIDATION_ERROR', '__proto__'],
  [
    'a nested __proto__',
    `{"key":"BROKEN","value":"${CANARY}","scope":[{"__proto__":{}}]}`,
    400,
    'VALIDATION_ERROR',
    '__proto__',
  ],
  [
    'constructor.prototype',
    `{"constructor":{"prototype":{"x":1}},"key":"BROKEN","value":"${CANARY}"}`,
    400,
    'VALIDATION_ERROR',
    'constructor',
  ],
];

/** [what, content type or null for none, expected status]. */
const CONTENT_TYPES: [string, string | null, number][] = [
  ['text/plain', 'text/plain', 415],
  ['text/plain with charset', 'text/plain; charset=utf-8', 415],
  ['a form', 'application/x-www-form-urlencoded', 415],
  ['multipart', 'multipart/form-data; boundary=x', 415],
  ['XML', 'application/xml', 415],
  ['no content type at all', null, 415],
];

describeEachBackend('malformed request bodies', (backend) => {
  let server: TestServer;
  let token: string;
  const send = (method: string, path: string, options: RawOptions) =>
    rawRequest(server.url, method, path, { token, ...options });
  const list = async (): Promise<Secret[]> =>
    ((await send('GET', '/v1/secrets', {})).json as { secrets: Secret[] }).secrets;
  let before_: Secret[];

  before(async () => {
    server = await startTestServer({}, backend);
    token = await accessToken(server.url, server.owner);
    const base = await send('POST', '/v1/secrets', { body: { key: 'BASE_KEY', value: 'base-value' } });
    assert.equal(base.status, 201);
    before_ = await list();
  });
  after(() => server.stop());

  for (const [what, body, status, code, word] of MALFORMED) {
    it(`${what}: ${status} ${code}, on create and on update`, async () => {
      for (const [method, path] of [
        ['POST', '/v1/secrets'],
        ['PATCH', '/v1/secrets/BASE_KEY'],
      ] as const) {
        const answer = await send(method, path, { body });
        const error = assertErrorBody(answer, status, code);
        assert.ok(error.message.includes(word), `${method}: '${error.message}' lacks '${word}'`);
        assert.equal(answer.text.includes(CANARY), false, 'the error echoes the body');
        assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
      }
    });
  }

  for (const [what, type, status] of CONTENT_TYPES) {
    it(`${what}: ${status} UNSUPPORTED_MEDIA_TYPE even when the body is valid JSON`, async () => {
      const body = Buffer.from(JSON.stringify({ key: 'WRONG_TYPE', value: CANARY }));
      for (const [method, path] of [
        ['POST', '/v1/secrets'],
        ['PATCH', '/v1/secrets/BASE_KEY'],
      ] as const) {
        const answer = await send(method, path, { body, contentType: type });
        assertErrorBody(answer, status, 'UNSUPPORTED_MEDIA_TYPE');
        assert.equal(answer.text.includes(CANARY), false);
      }
    });
  }

  it('application/json with a charset parameter is accepted', async () => {
    const answer = await send('POST', '/v1/secrets', {
      body: JSON.stringify({ key: 'CHARSET_KEY', value: 'v' }),
      contentType: 'application/json; charset=utf-8',
    });
    assert.equal(answer.status, 201, answer.text);
    assert.equal((await send('DELETE', '/v1/secrets/CHARSET_KEY', {})).status, 200);
  });

  it('a body over the limit (600 KiB) is 413, on create and on update', async () => {
    const huge = JSON.stringify({ key: 'HUGE_KEY', value: 'h'.repeat(600 * 1024) });
    assertErrorBody(await send('POST', '/v1/secrets', { body: huge }), 413, 'PAYLOAD_TOO_LARGE');
    const patch = JSON.stringify({ value: 'h'.repeat(600 * 1024) });
    assertErrorBody(await send('PATCH', '/v1/secrets/BASE_KEY', { body: patch }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a 64 KiB value fully JSON-escaped still fits under the body limit', async () => {
    // Every control character becomes "\u00XX": six bytes on the wire for one in the value.
    const value = '\u0001'.repeat(65536);
    const answer = await send('POST', '/v1/secrets', { body: { key: 'ESCAPED_64K', value } });
    assert.equal(answer.status, 201, answer.text);
    const fetched = await send('GET', '/v1/secrets/ESCAPED_64K', {});
    assert.equal((fetched.json as { value: string }).value, value);
    assert.equal((await send('DELETE', '/v1/secrets/ESCAPED_64K', {})).status, 200);
  });

  it('after all of it, nothing was stored and nothing changed', async () => {
    assert.deepEqual(await list(), before_);
    const base = await send('GET', '/v1/secrets/BASE_KEY', {});
    assert.equal((base.json as { value: string }).value, 'base-value');
    assert.equal((base.json as { version: number }).version, 1);
  });
});
