/**
 * `GET /v1/secrets` reads its rows on a path of its own (rows as arrays, empty lists read as
 * NULL, timestamps formatted without a Date). Its answer must stay byte for byte what it was:
 * the rows as the store reads them for everything else (`listSecretRows`), each shaped by
 * presentSecret as it was written before (kept here, with `toISOString`, as the oracle), and
 * serialised by JSON.stringify. On both backends, with revoked, expired and updated secrets,
 * null and empty fields, scopes and environments, and descriptions that need JSON escaping.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Secret } from '@ductape/sdk';
import { secretState } from '../src/services/secrets/secret-state.js';
import type { SecretMeta } from '../src/store/types.js';
import { describeEachBackend } from './helpers/backends.js';
import { startTestServer, type TestServer } from './helpers/harness.js';
import { accessToken, rawRequest } from './helpers/http.js';

const FUTURE = 4_102_444_800; // 2100-01-01, unix seconds

/** presentSecret as it was before the list got its own path: the oracle. */
function formerPresentSecret(m: SecretMeta, nowMs: number): Secret {
  return {
    _id: m.id,
    workspace_id: m.workspaceId,
    key: m.key,
    description: m.description,
    token_type: m.tokenType,
    scope: m.scope,
    envs: m.envs,
    expires_at: m.expiresAt,
    status: secretState(m, nowMs),
    revoked_at: m.revokedAt === null ? null : new Date(m.revokedAt).toISOString(),
    version: m.version,
    createdAt: new Date(m.createdAt).toISOString(),
    updatedAt: new Date(m.updatedAt).toISOString(),
  };
}

const FIELDS = [
  '_id',
  'workspace_id',
  'key',
  'description',
  'token_type',
  'scope',
  'envs',
  'expires_at',
  'status',
  'revoked_at',
  'version',
  'createdAt',
  'updatedAt',
];

/** Descriptions JSON must escape, or must not: quotes, backslashes, controls, line separators, astral characters. */
const TRICKY = [
  '',
  '"quoted" and \\back\\slashed\\',
  '\u0001\u0007\b\t\n\u000b\f\r\u001b\u001f',
  '\u007f\u0080\u00a0\u00ff',
  'line\u2028para\u2029',
  'ü é 漢字 🔑 👩🏽‍💻',
  '</script><!-- & -->',
  '\\u0041 is not A',
  'x'.repeat(1024),
];

/** More descriptions, any Unicode text the API accepts (well-formed, no NUL). */
function randomDescriptions(): string[] {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.string({ unit: 'binary-ascii', maxLength: 60 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  );
  return fc
    .sample(text, { numRuns: 240, seed: 20_261_128 })
    .filter((s) => s.isWellFormed() && !s.includes('\u0000'));
}

describeEachBackend('GET /v1/secrets answers as presentSecret did', (backend) => {
  let server: TestServer;
  let token: string;

  const call = async (method: string, path: string, body?: unknown) => {
    const answer = await rawRequest(server.url, method, path, { token, body });
    assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${answer.text}`);
    return answer;
  };

  before(async () => {
    server = await startTestServer({}, backend);
    token = await accessToken(server.url, server.owner);
    const items: unknown[] = [];
    TRICKY.forEach((description, i) => items.push({ key: `tricky.${i}`, value: 'v', description }));
    randomDescriptions().forEach((description, i) =>
      items.push({
        key: `random-${String(i).padStart(3, '0')}`,
        value: 'v',
        description,
        ...(i % 3 === 0 ? { scope: ['app', `app-${i}`], envs: ['prd'] } : {}),
        ...(i % 5 === 0 ? { token_type: 'api', expires_at: FUTURE } : {}),
      }),
    );
    await call('POST', '/v1/secrets/import', { secrets: items });
    await call('POST', '/v1/secrets', { key: 'plain', value: 'v' });
    await call('POST', '/v1/secrets', {
      key: 'FULL_1',
      value: 'v',
      description: 'every field',
      token_type: 'password',
      scope: ['web', 'worker'],
      envs: ['dev', 'stg', 'prd'],
      expires_at: FUTURE,
    });
    await call('POST', '/v1/secrets', { key: 'expired', value: 'v', expires_at: 1 });
    await call('POST', '/v1/secrets', { key: 'revoked', value: 'v', envs: ['prd'] });
    await call('POST', '/v1/secrets/revoked/revoke');
    await call('POST', '/v1/secrets', { key: 'revoked-and-expired', value: 'v', expires_at: 1 });
    await call('POST', '/v1/secrets/revoked-and-expired/revoke');
    await call('POST', '/v1/secrets', { key: 'updated', value: 'v', scope: ['app'] });
    // A later millisecond for updatedAt, and lists emptied by an update.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await call('PATCH', '/v1/secrets/updated', { description: 'now described', scope: [], envs: [] });
    await call('PATCH', '/v1/secrets/updated', { value: 'v3' });
  });
  after(() => server?.stop());

  it('is byte for byte the former presentSecret of every row, in key order', async () => {
    const store = server.server.runtime.store;
    const workspaceId = server.owner.workspace_id;
    const answer = await call('GET', '/v1/secrets');
    const now = Date.now();
    const rows: SecretMeta[] = (await store.listSecretRows(workspaceId)).map(
      ({ sealed: _sealed, ...meta }) => meta,
    );
    assert.ok(rows.length > 200, `only ${rows.length} secrets were created`);

    const expected = rows.map((m) => formerPresentSecret(m, now));
    assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(answer.text, JSON.stringify({ secrets: expected }));

    // The same, field by field, for a readable failure.
    const listed = (answer.json as { secrets: Secret[] }).secrets;
    assert.equal(listed.length, expected.length);
    listed.forEach((secret, i) => {
      assert.deepEqual(Object.keys(secret), FIELDS, `fields of ${secret.key}`);
      assert.deepEqual(secret, expected[i], `secret ${i} (${secret.key})`);
    });

    // The cases this was meant to cover are really there.
    const byKey = new Map(listed.map((s) => [s.key, s]));
    assert.equal(byKey.get('plain')?.status, 'active');
    assert.deepEqual(byKey.get('plain')?.scope, []);
    assert.equal(byKey.get('plain')?.description, null);
    assert.equal(byKey.get('expired')?.status, 'expired');
    assert.equal(byKey.get('revoked')?.status, 'revoked');
    assert.match(byKey.get('revoked')?.revoked_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(byKey.get('revoked-and-expired')?.status, 'revoked');
    assert.deepEqual(byKey.get('FULL_1')?.envs, ['dev', 'stg', 'prd']);
    assert.equal(byKey.get('FULL_1')?.token_type, 'password');
    const updated = byKey.get('updated');
    assert.equal(updated?.version, 3);
    assert.deepEqual(updated?.scope, []);
    assert.notEqual(updated?.updatedAt, updated?.createdAt);
    assert.equal(byKey.get('tricky.2')?.description, TRICKY[2]);
  });

  it('lists what the store holds for each key, read one by one', async () => {
    const store = server.server.runtime.store;
    const workspaceId = server.owner.workspace_id;
    const listed = await store.listSecrets(workspaceId);
    for (const meta of listed) assert.deepEqual(meta, await store.getSecretMeta(workspaceId, meta.key));
    assert.deepEqual(
      listed.map((m) => m.key),
      (await store.listSecretRows(workspaceId)).map((r) => r.key),
    );
  });
});
