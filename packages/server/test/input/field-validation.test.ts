/**
 * Every field's rules, over raw HTTP so that any JSON can be sent: a bad value is a 400
 * `{ code, message }` naming the field (never a 500), and nothing is stored or changed.
 * The limits themselves are accepted, to show each rule sits exactly where it should.
 */
import type { Secret, SecretWithValue } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';
import { accessToken, assertErrorBody, rawRequest, type RawResponse } from '../helpers/http.js';

const slugs = (n: number): string[] => Array.from({ length: n }, (_, i) => `app-${i}`);

/** [what, body, field the message must name] for POST /v1/secrets. */
const BAD_CREATES: [string, Record<string, unknown>, string][] = [
  ['key missing', { value: 'v' }, 'key'],
  ['key empty', { key: '', value: 'v' }, 'key'],
  ['key of 129 characters', { key: 'K'.repeat(129), value: 'v' }, 'key'],
  ['key with a space', { key: 'MY KEY', value: 'v' }, 'key'],
  ['key with a slash', { key: 'MY/KEY', value: 'v' }, 'key'],
  ['key with a non-ASCII letter', { key: 'CLÉ', value: 'v' }, 'key'],
  ['key with an emoji', { key: 'KEY_🔑', value: 'v' }, 'key'],
  ['key with a newline', { key: 'KEY\nX', value: 'v' }, 'key'],
  ['key "."', { key: '.', value: 'v' }, 'key'],
  ['key ".."', { key: '..', value: 'v' }, 'key'],
  ['key not a string', { key: 42, value: 'v' }, 'key'],
  ['value missing', { key: 'V1' }, 'value'],
  ['value empty', { key: 'V1', value: '' }, 'value'],
  ['value a number', { key: 'V1', value: 123 }, 'value'],
  ['value null', { key: 'V1', value: null }, 'value'],
  ['value an object', { key: 'V1', value: { a: 1 } }, 'value'],
  ['value an array', { key: 'V1', value: ['x'] }, 'value'],
  ['value of 65537 ASCII bytes', { key: 'V1', value: 'a'.repeat(65537) }, 'value'],
  ['value of 32769 "é" (65538 bytes)', { key: 'V1', value: 'é'.repeat(32769) }, 'value'],
  ['value of 16384 "🔑" and one byte more', { key: 'V1', value: '🔑'.repeat(16384) + 'a' }, 'value'],
  ['value with a lone high surrogate', { key: 'V1', value: 'abc\ud800def' }, 'value'],
  ['value with a lone low surrogate', { key: 'V1', value: '\udc00' }, 'value'],
  ['description of 1025 characters', { key: 'D1', value: 'v', description: 'd'.repeat(1025) }, 'description'],
  ['description a number', { key: 'D1', value: 'v', description: 7 }, 'description'],
  ['description with a lone surrogate', { key: 'D1', value: 'v', description: 'x\ud83d' }, 'description'],
  ['token_type unknown', { key: 'T1', value: 'v', token_type: 'jwt' }, 'token_type'],
  ['token_type in capitals', { key: 'T1', value: 'v', token_type: 'API' }, 'token_type'],
  ['token_type empty', { key: 'T1', value: 'v', token_type: '' }, 'token_type'],
  ['scope a string', { key: 'S1', value: 'v', scope: 'stripe_payments' }, 'scope'],
  ['scope an object', { key: 'S1', value: 'v', scope: { a: 'b' } }, 'scope'],
  ['scope of 101 entries', { key: 'S1', value: 'v', scope: slugs(101) }, 'scope'],
  ['scope entry in capitals', { key: 'S1', value: 'v', scope: ['ok', 'Prod'] }, 'scope[1]'],
  ['scope entry with a space', { key: 'S1', value: 'v', scope: ['pay app'] }, 'scope[0]'],
  ['scope entry empty', { key: 'S1', value: 'v', scope: [''] }, 'scope[0]'],
  ['scope entry starting with "-"', { key: 'S1', value: 'v', scope: ['-app'] }, 'scope[0]'],
  ['scope entry of 65 characters', { key: 'S1', value: 'v', scope: ['a'.repeat(65)] }, 'scope[0]'],
  ['scope entry a number', { key: 'S1', value: 'v', scope: [1] }, 'scope[0]'],
  ['envs a string', { key: 'E1', value: 'v', envs: 'prd' }, 'envs'],
  ['envs of 101 entries', { key: 'E1', value: 'v', envs: slugs(101) }, 'envs'],
  ['envs entry with a slash', { key: 'E1', value: 'v', envs: ['prd', 'a/b'] }, 'envs[1]'],
  ['envs entry null', { key: 'E1', value: 'v', envs: [null] }, 'envs[0]'],
  ['expires_at 0', { key: 'X1', value: 'v', expires_at: 0 }, 'expires_at'],
  ['expires_at negative', { key: 'X1', value: 'v', expires_at: -1735689600 }, 'expires_at'],
  ['expires_at a float', { key: 'X1', value: 'v', expires_at: 1735689600.5 }, 'expires_at'],
  ['expires_at a string', { key: 'X1', value: 'v', expires_at: '1735689600' }, 'expires_at'],
  ['expires_at in milliseconds', { key: 'X1', value: 'v', expires_at: 1735689600000 }, 'expires_at'],
  ['expires_at a boolean', { key: 'X1', value: 'v', expires_at: true }, 'expires_at'],
  ['unknown field', { key: 'U1', value: 'v', color: 'blue' }, 'color'],
  ['field with the wrong case', { key: 'U1', value: 'v', Description: 'd' }, 'Description'],
  ['workspace_id in the body', { key: 'U1', value: 'v', workspace_id: 'someone-else' }, 'workspace_id'],
  ['_id in the body', { key: 'U1', value: 'v', _id: 'aaaaaaaaaaaaaaaaaaaaaaaa' }, '_id'],
  ['status in the body', { key: 'U1', value: 'v', status: 'active' }, 'status'],
  ['version in the body', { key: 'U1', value: 'v', version: 9 }, 'version'],
];

/** [what, patch, field] for PATCH /v1/secrets/BASE_KEY. */
const BAD_UPDATES: [string, Record<string, unknown>, string][] = [
  ['nothing to change', {}, 'at least one field'],
  ['value empty', { value: '' }, 'value'],
  ['value a number', { value: 5 }, 'value'],
  ['value null', { value: null }, 'value'],
  ['value over 64 KiB', { value: 'b'.repeat(65537) }, 'value'],
  ['value with a lone surrogate', { value: '\ud800' }, 'value'],
  ['description too long', { description: 'd'.repeat(1025) }, 'description'],
  ['token_type unknown', { token_type: 'secret' }, 'token_type'],
  ['scope not an array', { scope: 'a' }, 'scope'],
  ['envs with a bad slug', { envs: ['PRD'] }, 'envs[0]'],
  ['expires_at 0', { expires_at: 0 }, 'expires_at'],
  ['expires_at in milliseconds', { expires_at: Date.now() }, 'expires_at'],
  ['unknown field', { valu: 'x' }, 'valu'],
  ['key (no renames)', { key: 'RENAMED' }, 'key'],
  ['a good field with an unknown one', { description: 'ok', extra: 1 }, 'extra'],
];

function assertNamesField(answer: RawResponse, field: string): void {
  const body = assertErrorBody(answer, 400, 'VALIDATION_ERROR');
  assert.ok(body.message.includes(field), `message does not name '${field}': ${body.message}`);
  // Every field name is in an "unknown field (allowed: ...)" message: the field must be the culprit.
  if (body.field !== undefined) assert.equal(body.field, field, body.message);
}

describeEachBackend('input validation', (backend) => {
  let server: TestServer;
  let token: string;
  const call = (method: string, path: string, body?: unknown) =>
    rawRequest(server.url, method, path, { token, body });
  const list = async (): Promise<Secret[]> =>
    ((await call('GET', '/v1/secrets')).json as { secrets: Secret[] }).secrets;
  const fetchSecret = async (key: string): Promise<SecretWithValue> => {
    const answer = await call('GET', `/v1/secrets/${encodeURIComponent(key)}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.json as SecretWithValue;
  };
  const created = async (body: Record<string, unknown>): Promise<Secret> => {
    const answer = await call('POST', '/v1/secrets', body);
    assert.equal(answer.status, 201, answer.text);
    return answer.json as Secret;
  };

  before(async () => {
    server = await startTestServer({}, backend);
    token = await accessToken(server.url, server.owner);
    await created({ key: 'BASE_KEY', value: 'base-value', description: 'base', scope: ['app'] });
  });
  after(() => server.stop());

  it('refuses every bad create with a 400 naming the field, and stores nothing', async () => {
    const before = await list();
    for (const [what, body, field] of BAD_CREATES) {
      await it_(what, async () => assertNamesField(await call('POST', '/v1/secrets', body), field));
    }
    assert.deepEqual(await list(), before);
  });

  it('refuses every bad update with a 400 naming the field, and changes nothing', async () => {
    const before = await fetchSecret('BASE_KEY');
    for (const [what, patch, field] of BAD_UPDATES) {
      await it_(what, async () =>
        assertNamesField(await call('PATCH', '/v1/secrets/BASE_KEY', patch), field),
      );
    }
    assert.deepEqual(await fetchSecret('BASE_KEY'), before);
  });

  it('refuses a bad key in the path with a 400 naming the key', async () => {
    const before = await list();
    const paths = ['K'.repeat(129), 'K'.repeat(300), 'MY%20KEY', 'CL%C3%89', 'A%2FB'];
    for (const key of paths) {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const body = method === 'PATCH' ? { value: 'x' } : undefined;
        await it_(`${method} ${key}`, async () =>
          assertNamesField(await call(method, `/v1/secrets/${key}`, body), 'key'),
        );
      }
      const revoke = await call('POST', `/v1/secrets/${key}/revoke`);
      assertNamesField(revoke, 'key');
    }
    assertErrorBody(await call('GET', '/v1/secrets/%E0%A4%A'), 400, 'VALIDATION_ERROR');
    assert.deepEqual(await list(), before);
  });

  it('accepts each limit exactly: 128-character key, 64 KiB value counted in UTF-8 bytes', async () => {
    const values: Record<string, string> = {
      ['K'.repeat(128)]: 'at the key limit',
      'a.B-c_9': 'every allowed character',
      ASCII_64K: 'a'.repeat(65536),
      TWO_BYTE_64K: 'é'.repeat(32768),
      THREE_BYTE_64K: '€'.repeat(21845) + 'a',
      FOUR_BYTE_64K: '🔑'.repeat(16384),
    };
    for (const [key, value] of Object.entries(values)) {
      assert.equal(Buffer.byteLength(value, 'utf8') <= 65536, true);
      await created({ key, value });
      assert.equal((await fetchSecret(key)).value, value, `${key} did not round-trip`);
    }
    const all = (await list()).map((s) => s.key);
    for (const key of Object.keys(values)) assert.ok(all.includes(key), key);
  });

  it('accepts a 1024-character description, 100 tags, null expiry and every token type', async () => {
    const secret = await created({
      key: 'LIMITS_KEY',
      value: 'v',
      description: 'd'.repeat(1024),
      scope: slugs(100),
      envs: ['a'.repeat(64), '0-start', 'x.y_z'],
      expires_at: null,
    });
    assert.equal(secret.description?.length, 1024);
    assert.equal(secret.scope.length, 100);
    assert.equal(secret.expires_at, null);
    for (const type of ['api', 'access', 'password', 'certificate', 'credential', 'bearer', 'oauth']) {
      const answer = await call('PATCH', '/v1/secrets/LIMITS_KEY', { token_type: type });
      assert.equal(answer.status, 200, answer.text);
      assert.equal((answer.json as Secret).token_type, type);
    }
    const cleared = await call('PATCH', '/v1/secrets/LIMITS_KEY', { token_type: null, description: null });
    assert.deepEqual(
      [(cleared.json as Secret).token_type, (cleared.json as Secret).description],
      [null, null],
    );
  });

  it('de-duplicates scope and envs, keeping the first order', async () => {
    const secret = await created({
      key: 'DEDUP_KEY',
      value: 'v',
      scope: ['b', 'a', 'b'],
      envs: ['prd', 'prd'],
    });
    assert.deepEqual(secret.scope, ['b', 'a']);
    assert.deepEqual(secret.envs, ['prd']);
    const updated = await call('PATCH', '/v1/secrets/DEDUP_KEY', { envs: ['dev', 'stg', 'dev', 'stg'] });
    assert.deepEqual((updated.json as Secret).envs, ['dev', 'stg']);
    assert.deepEqual((await fetchSecret('DEDUP_KEY')).envs, ['dev', 'stg']);
  });

  it('treats keys as case-sensitive: ABC and abc are two secrets', async () => {
    const upper = await created({ key: 'ABC', value: 'upper-value' });
    const lower = await created({ key: 'abc', value: 'lower-value' });
    assert.notEqual(upper._id, lower._id);
    assert.equal((await fetchSecret('ABC')).value, 'upper-value');
    assert.equal((await fetchSecret('abc')).value, 'lower-value');
    assertErrorBody(await call('GET', '/v1/secrets/Abc'), 404, 'SECRET_NOT_FOUND');
    const keys = (await list()).map((s) => s.key);
    assert.ok(keys.includes('ABC') && keys.includes('abc'));
    assert.equal((await call('DELETE', '/v1/secrets/abc')).status, 200);
    assert.equal((await fetchSecret('ABC')).value, 'upper-value');
  });
});

/** Runs one case, naming it in the failure message (node:test has no nested tables). */
async function it_(what: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    if (error instanceof Error) error.message = `[${what}] ${error.message}`;
    throw error;
  }
}
