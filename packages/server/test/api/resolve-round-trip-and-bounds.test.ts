/**
 * Resolving many references costs one round trip (counted with a `fetch` handed to the SDK),
 * and the bounds of the resolve and validate input: reference count, depth, request shape.
 */
import Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';
import { expectError, tag } from '../helpers/usage.js';

const KEYS = Array.from({ length: 50 }, (_, i) => `BULK_${String(i).padStart(2, '0')}`);

describeEachBackend('resolve: one round trip, and input bounds', (backend) => {
  let server: TestServer;
  let developer: Credentials;
  let dev: Ductape;
  const values = new Map<string, string>();

  before(async () => {
    server = await startTestServer({}, backend);
    for (const key of KEYS) values.set(key, `bulk-${key}-${tag()}`);
    const owner = server.client(server.owner);
    const { results } = await owner.secrets.import({
      secrets: KEYS.map((key) => ({ key, value: values.get(key) as string, scope: ['web'], envs: ['prd'] })),
    });
    assert.ok(results.every((r) => r.status === 'created'));
    developer = await server.newUser('developer');
    dev = server.client(developer);
  });
  after(() => server.stop());

  /** A client whose every HTTP request is recorded. */
  function countingClient(): { client: Ductape; requests: string[] } {
    const requests: string[] = [];
    const counting: typeof fetch = (input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    };
    return { client: new Ductape({ ...developer, url: server.url, fetch: counting }), requests };
  }

  it('50 references in one input: exactly one request after sign-in', async () => {
    const { client, requests } = countingClient();
    await client.init();
    assert.deepEqual(requests, ['POST /v1/auth/token']);
    requests.length = 0;
    const input = {
      env: KEYS.map((k) => ({ name: k, value: `$Secret{${k}}` })),
      joined: KEYS.map((k) => `$Token{${k}}`).join(','),
    };
    const output = await client.secrets.resolve(input, { app: 'web', env: 'prd' });
    assert.deepEqual(requests, ['POST /v1/resolve']);
    assert.deepEqual(output, {
      env: KEYS.map((k) => ({ name: k, value: values.get(k) })),
      joined: KEYS.map((k) => values.get(k)).join(','),
    });
  });

  it('validate and export of 50 keys are one request each too', async () => {
    const { client, requests } = countingClient();
    await client.init();
    requests.length = 0;
    const report = await client.secrets.validate(
      KEYS.map((k) => `$Secret{${k}}`),
      { app: 'web', env: 'prd' },
    );
    assert.equal(report.valid, true);
    assert.equal(report.references.length, 50);
    const exported = await client.secrets.export({ app: 'web', env: 'prd', only: KEYS });
    assert.deepEqual(
      exported.secrets,
      KEYS.map((key) => ({ key, value: values.get(key) })),
    );
    assert.deepEqual(requests, ['POST /v1/validate', 'GET /v1/export']);
  });

  it('up to 1000 references per call; 1001 is a 400 naming the input', async () => {
    const thousand = Array.from({ length: 1000 }, (_, i) => `$Secret{${KEYS[i % 50]}}`);
    const output = (await dev.secrets.resolve(thousand, { app: 'web', env: 'prd' })) as string[];
    assert.equal(output.length, 1000);
    assert.equal(output[999], values.get(KEYS[999 % 50] as string));
    await expectError(dev.secrets.resolve([...thousand, '$Secret{BULK_00}'], { app: 'web', env: 'prd' }), {
      status: 400,
      code: 'VALIDATION_ERROR',
      message: /^input: at most 1000 references/,
      field: 'input',
    });
  });

  it('refuses an answer the values would blow up past 8 Mi characters (a 64 KiB value 200 times)', async () => {
    await dev.secrets.create({ key: 'BIG_VALUE', value: 'b'.repeat(65536) });
    const ok = (await dev.secrets.resolve(Array(100).fill('$Secret{BIG_VALUE}'))) as string[];
    assert.equal(ok.join('').length, 100 * 65536);
    await expectError(dev.secrets.resolve(Array(200).fill('$Secret{BIG_VALUE}')), {
      status: 400,
      code: 'VALIDATION_ERROR',
      message: /^input: the resolved values would add 13107200 characters; at most 8388608/,
      field: 'input',
    });
  });

  it('1000 distinct missing keys are each reported by validate (one store query)', async () => {
    const missing = Array.from({ length: 1000 }, (_, i) => `$Secret{MISSING_${i}}`).join(' ');
    const report = await dev.secrets.validate(missing);
    assert.equal(report.valid, false);
    assert.equal(report.references.length, 1000);
    assert.ok(report.references.every((r) => r.code === 'SECRET_NOT_FOUND'));
    assert.equal(report.references[999]?.message, "Secret 'MISSING_999' not found");
  });

  it('nesting deeper than 64 levels is a 400 naming the input, for resolve and validate', async () => {
    let deep: unknown = '$Secret{BULK_00}';
    for (let i = 0; i < 65; i++) deep = { d: deep };
    const expected = {
      status: 400,
      code: 'VALIDATION_ERROR',
      message: /^input: .*deeper than 64/,
      field: 'input',
    };
    await expectError(dev.secrets.resolve(deep, { app: 'web', env: 'prd' }), expected);
    await expectError(dev.secrets.validate(deep), expected);
    let ok: unknown = '$Secret{BULK_00}';
    for (let i = 0; i < 64; i++) ok = [ok];
    let out = await dev.secrets.resolve(ok, { app: 'web', env: 'prd' });
    for (let i = 0; i < 64; i++) out = (out as unknown[])[0];
    assert.equal(out, values.get('BULK_00'));
  });

  it('the request body is checked: input required, app/env slugs, no unknown fields', async () => {
    const token = await accessToken(server.url, developer);
    const post = (body: unknown) => rawRequest(server.url, 'POST', '/v1/resolve', { token, body });
    assert.match(assertErrorBody(await post({ app: 'web' }), 400, 'VALIDATION_ERROR').message, /^input: /);
    assert.equal(assertErrorBody(await post({ input: 'x', app: 'Web App' }), 400).field, 'app');
    assert.equal(assertErrorBody(await post({ input: 'x', env: '' }), 400).field, 'env');
    assert.match(
      assertErrorBody(await post({ input: 'x', secret: 1 }), 400).message,
      /^secret: unknown field/,
    );
    assert.match(
      assertErrorBody(
        await post({ input: { __proto__x: 1, a: JSON.parse('{"__proto__": "$Secret{BULK_00}"}') } }),
        400,
      ).message,
      /__proto__/,
    );
    const nullInput = await post({ input: null });
    assert.equal(nullInput.status, 200, nullInput.text);
    assert.deepEqual(nullInput.json, { output: null });
  });
});
