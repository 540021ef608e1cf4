/**
 * Hostile but well-formed input over a real port, on every backend: sign-in with any strings
 * is a 400 or 401, never a 5xx; any well-formed Unicode in a value or a description is
 * stored and read back exactly (or, for the one character PostgreSQL text cannot hold, refused
 * alike on every backend); resolve hands back reference-free JSON unchanged whatever its keys
 * (`constructor`, `prototype`...), and no prototype of the server's process changes.
 */
import type { ErrorBody, ImportResponse, SecretWithValue, ServiceToken } from '@ductape/sdk';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { assertPrototypesIntact, assertProperty, prototypeFingerprint } from './fuzz-http.js';
import { anyJson, nastyString, toJsonText } from './fuzz-json.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';

const SCALE = Number(process.env.DUCTAPE_FUZZ_SCALE ?? '1');
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const runs = (n: number): { numRuns: number; seed?: number } => ({
  numRuns: Math.max(1, Math.round(n * SCALE)),
  seed: SEED,
});

/** Any well-formed text: every plane, control characters (NUL included), odd marks. */
const anyText = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength }),
      nastyString,
    )
    .filter((s) => s.length > 0 && s.length <= maxLength && s.isWellFormed());

describeEachBackend('fuzzing with well-formed hostile values', (backend) => {
  let server: TestServer;
  let token: string;
  const prototypes = prototypeFingerprint();

  before(async () => {
    server = await startTestServer({}, backend);
    token = await accessToken(server.url, server.owner);
  });
  after(() => server.stop());

  it('refuses U+0000 in descriptions and sign-in ids with a 400 (it was a 500 on PostgreSQL)', async () => {
    const nul = 'a\u0000b';
    const send = (method: string, path: string, body: unknown) =>
      rawRequest(server.url, method, path, { token, body });
    const field = async (answer: Promise<Awaited<ReturnType<typeof send>>>): Promise<string | undefined> =>
      assertErrorBody(await answer, 400, 'VALIDATION_ERROR').field;
    assert.equal(
      await field(send('POST', '/v1/secrets', { key: 'NUL_1', value: 'v', description: nul })),
      'description',
    );
    assert.equal(
      await field(send('POST', '/v1/tokens', { app: 'a', env: 'b', description: nul })),
      'description',
    );
    const { workspace_id, user_id, private_key } = server.owner;
    for (const body of [
      { workspace_id: nul, user_id, private_key },
      { workspace_id, user_id: `${user_id}\u0000`, private_key },
    ]) {
      assert.match((await field(send('POST', '/v1/auth/token', body))) ?? '', /^(workspace_id|user_id)$/);
    }
    assert.equal((await send('POST', '/v1/secrets', { key: 'NUL_2', value: 'a\u0000b' })).status, 201);
    assert.equal(await field(send('PATCH', '/v1/secrets/NUL_2', { description: nul })), 'description');
    const imported = await send('POST', '/v1/secrets/import', {
      secrets: [{ key: 'NUL_3', value: 'v', description: nul }],
    });
    assert.equal(imported.status, 200, imported.text);
    const [result] = (imported.json as ImportResponse).results;
    assert.deepEqual([result?.status, result?.code], ['refused', 'VALIDATION_ERROR']);
    // A value is encrypted, never stored as text: U+0000 in it is kept.
    const fetched = await send('GET', '/v1/secrets/NUL_2', undefined);
    assert.equal((fetched.json as SecretWithValue).value, 'a\u0000b');
    assert.equal((await send('DELETE', '/v1/secrets/NUL_2', undefined)).status, 200);
  });

  it('sign-in with any strings is a 400 or a 401 { code, message }, never a 5xx', async () => {
    const { workspace_id, user_id } = server.owner;
    const field = (real: string): fc.Arbitrary<string> =>
      fc.oneof(fc.constant(real), anyText(80), fc.string({ unit: 'binary', maxLength: 300 }));
    await assertProperty(
      fc.asyncProperty(
        fc.array(fc.tuple(field(workspace_id), field(user_id), anyText(300)), {
          minLength: 10,
          maxLength: 10,
        }),
        async (batch) => {
          const answers = await Promise.all(
            batch.map(([w, u, k]) =>
              rawRequest(server.url, 'POST', '/v1/auth/token', {
                body: { workspace_id: w, user_id: u, private_key: k },
              }),
            ),
          );
          answers.forEach((answer, i) => {
            const body = assertErrorBody(answer, answer.status === 401 ? 401 : 400);
            assert.ok(
              ['VALIDATION_ERROR', 'INVALID_CREDENTIALS'].includes(body.code),
              JSON.stringify(batch[i]),
            );
          });
        },
      ),
      runs(backend === 'sqlite' ? 25 : 12),
    );
  });

  it('any well-formed value and description is stored and read back exactly, NUL refused everywhere', async () => {
    await assertProperty(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        anyText(300),
        fc.option(anyText(300), { nil: undefined }),
        async (suffix, value, description) => {
          const key = `v_${suffix}`;
          const body = { key, value, description: description ?? null };
          const created = await rawRequest(server.url, 'POST', '/v1/secrets', { token, body });
          if (description?.includes('\u0000')) {
            // PostgreSQL text cannot hold U+0000: refused on every backend, so both behave alike.
            const error: ErrorBody = assertErrorBody(created, 400, 'VALIDATION_ERROR');
            assert.equal(error.field, 'description');
            assertErrorBody(await rawRequest(server.url, 'GET', `/v1/secrets/${key}`, { token }), 404);
            return;
          }
          assert.equal(created.status, 201, created.text);
          const fetched = await rawRequest(server.url, 'GET', `/v1/secrets/${key}`, { token });
          const secret = fetched.json as SecretWithValue;
          assert.equal(secret.value, value);
          assert.equal(secret.description, description ?? null);
          const deleted = await rawRequest(server.url, 'DELETE', `/v1/secrets/${key}`, { token });
          assert.equal(deleted.status, 200, deleted.text);
        },
      ),
      runs(backend === 'sqlite' ? 70 : 35),
    );
  });

  it('a service token description is stored exactly, NUL refused everywhere', async () => {
    await assertProperty(
      fc.asyncProperty(anyText(200), async (description) => {
        const created = await rawRequest(server.url, 'POST', '/v1/tokens', {
          token,
          body: { app: 'app1', env: 'prd', description },
        });
        if (description.includes('\u0000')) {
          assert.equal(assertErrorBody(created, 400, 'VALIDATION_ERROR').field, 'description');
          return;
        }
        assert.equal(created.status, 201, created.text);
        const id = (created.json as ServiceToken).token_id;
        const listed = await rawRequest(server.url, 'GET', '/v1/tokens', { token });
        const found = (listed.json as { tokens: ServiceToken[] }).tokens.find((t) => t.token_id === id);
        assert.equal(found?.description, description);
        assert.equal((await rawRequest(server.url, 'DELETE', `/v1/tokens/${id}`, { token })).status, 200);
      }),
      runs(backend === 'sqlite' ? 40 : 20),
    );
  });

  it('resolve and validate hand back reference-free JSON as it was, whatever its keys', async () => {
    const referenceFree = anyJson.filter((v) => !/\$(Secret|Token)\{/.test(toJsonText(v)));
    await assertProperty(
      fc.asyncProperty(referenceFree, async (input) => {
        const text = `{"input":${toJsonText(input)}}`;
        const resolved = await rawRequest(server.url, 'POST', '/v1/resolve', { token, body: text });
        const validated = await rawRequest(server.url, 'POST', '/v1/validate', { token, body: text });
        if (hasProtoKey((JSON.parse(text) as { input: unknown }).input)) {
          assert.match(assertErrorBody(resolved, 400, 'VALIDATION_ERROR').message, /__proto__/);
          assertErrorBody(validated, 400, 'VALIDATION_ERROR');
        } else {
          assert.equal(resolved.status, 200, resolved.text);
          const expected: unknown = JSON.parse(
            JSON.stringify((JSON.parse(text) as { input: unknown }).input),
          );
          assert.deepEqual(resolved.json, { output: expected });
          assert.equal(validated.status, 200, validated.text);
          assert.equal((validated.json as { valid: boolean }).valid, true);
        }
        assertPrototypesIntact(prototypes);
      }),
      runs(backend === 'sqlite' ? 100 : 40),
    );
    // And the server still behaves: a plain request gets its plain answer, with no extra field.
    const me = await rawRequest(server.url, 'GET', '/v1/me', { token });
    assert.deepEqual(Object.keys(me.json as object).sort(), [
      'kind',
      'role',
      'user_id',
      'workspace_id',
      'workspace_name',
    ]);
  });
});

/** Whether a parsed JSON value has a `__proto__` key anywhere (JSON.parse makes it an own key). */
function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (typeof value !== 'object' || value === null) return false;
  return Object.keys(value).some(
    (k) => k === '__proto__' || hasProtoKey((value as Record<string, unknown>)[k]),
  );
}
