/**
 * Real answers match the document. Every route is driven through the real SDK (plain fetch
 * for the few it has no call for) against a real server on 127.0.0.1; the server records each
 * answer it sends, and each is checked with a JSON Schema 2020-12 validator (ajv) against
 * the schema the document describes for that route and status, error codes included. The
 * object each handler returned is checked too, before the serializer wrote it: a field the
 * serializer would drop, or a value it would coerce, fails here; and the bytes sent must be
 * exactly what JSON.stringify makes of it, as before response schemas existed.
 */
import Ductape, { DuctapeError } from '@ductape/sdk';
import { dereference } from '@readme/openapi-parser';
import ajvModule from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { accessToken } from '../helpers/http.js';
import { startRecordingServer, type Recorded, type RecordingServer } from './recording-server.js';

const Ajv2020 = ajvModule.default;
const addFormats = formatsModule.default;

type Json = Record<string, unknown>;
type Operation = { responses: Record<string, { content?: { 'application/json'?: { schema: Json } } }> };

const openApiPath = (route: string): string => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

async function refused(promise: Promise<unknown>, status: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DuctapeError, String(error));
    assert.equal(error.status, status, error.message);
    return true;
  });
}

describeEachBackend('recorded real answers match the OpenAPI document', (backend) => {
  let server: RecordingServer;
  let paths: Record<string, Record<string, Operation>>;

  before(async () => {
    server = await startRecordingServer(backend);
    const raw = (await (await fetch(`${server.url}/v1/openapi.json`)).json()) as Json;
    paths = ((await dereference(structuredClone(raw) as never)) as unknown as { paths: typeof paths }).paths;
    await drive(server);
  });
  after(() => server?.stop());

  it('every described operation answered at least once with a described success', () => {
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const successes = Object.keys(operation.responses).filter((s) => s.startsWith('2'));
        const seen = server.recorded.some(
          (r) =>
            r.route !== undefined &&
            openApiPath(r.route) === path &&
            r.method.toLowerCase() === method &&
            successes.includes(String(r.status)),
        );
        if (!seen) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('every answer has a described status and matches its schema, on the wire and before serialization', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    addFormats(ajv);
    const failures: string[] = [];
    const api = server.recorded.filter((r) => !r.notApi && r.route !== undefined);
    assert.ok(api.length > 60, `only ${api.length} answers recorded`);
    for (const answer of api) {
      const where = `${answer.method} ${answer.route} ${answer.status}`;
      const operation = paths[openApiPath(answer.route as string)]?.[answer.method.toLowerCase()];
      const schema = operation?.responses[String(answer.status)]?.content?.['application/json']?.schema;
      if (!schema) {
        failures.push(`${where}: status not described (${answer.body.slice(0, 120)})`);
        continue;
      }
      const validate = ajv.compile(schema);
      if (!validate(JSON.parse(answer.body))) {
        failures.push(`${where}: wire body ${ajv.errorsText(validate.errors)}`);
      }
      if (answer.payload !== undefined) {
        if (!validate(answer.payload))
          failures.push(`${where}: handler's answer ${ajv.errorsText(validate.errors)}`);
        if (answer.body !== JSON.stringify(answer.payload)) {
          failures.push(
            `${where}: sent ${answer.body.slice(0, 200)}, JSON.stringify makes ${JSON.stringify(answer.payload).slice(0, 200)}`,
          );
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  it('the errors seen cover the usual refusals, each with its described code', () => {
    const codes = new Set(
      server.recorded
        .filter((r: Recorded) => r.status >= 400 && r.route !== undefined)
        .map((r) => (JSON.parse(r.body) as { code: string }).code),
    );
    for (const code of [
      'VALIDATION_ERROR',
      'INVALID_JSON',
      'UNSUPPORTED_MEDIA_TYPE',
      'UNAUTHENTICATED',
      'TOKEN_INVALID',
      'INVALID_CREDENTIALS',
      'FORBIDDEN',
      'SECRET_NOT_FOUND',
      'VERSION_NOT_FOUND',
      'SECRET_EXISTS',
      'VERSION_CONFLICT',
      'SECRET_REVOKED',
      'MALFORMED_REFERENCE',
      'TOKEN_NOT_FOUND',
      'USER_NOT_FOUND',
      'LAST_OWNER',
    ]) {
      assert.ok(codes.has(code), `no ${code} answer was recorded (seen: ${[...codes].join(', ')})`);
    }
  });
});

/** Every route at least once, successes and refusals, the way a user's program would. */
async function drive(server: RecordingServer): Promise<void> {
  const url = server.url;
  for (const path of ['/healthz', '/readyz', '/v1/openapi.json'])
    assert.equal((await fetch(url + path)).status, 200);

  const owner = new Ductape({ ...server.owner, url });
  await owner.init();
  await owner.whoami();
  const future = Math.floor(Date.now() / 1000) + 86_400;
  await owner.secrets.create({
    key: 'API_KEY',
    value: 'value-1',
    description: 'the café API key',
    token_type: 'api',
    scope: ['web'],
    envs: ['prod'],
    expires_at: future,
  });
  await owner.secrets.create({ key: 'PLAIN', value: 'plain-1' });
  await refused(owner.secrets.create({ key: 'PLAIN', value: 'again' }), 409);
  await refused(owner.secrets.create({ key: 'bad key', value: 'x' }), 400);
  await owner.secrets.list();
  await owner.secrets.fetch('API_KEY');
  await refused(owner.secrets.fetch('NOPE'), 404);
  await owner.secrets.metadata('API_KEY');
  await refused(owner.secrets.metadata('NOPE'), 404);
  await owner.secrets.update('PLAIN', { value: 'plain-2', description: 'two' }, { if_version: 1 });
  await refused(owner.secrets.update('PLAIN', { value: 'plain-3' }, { if_version: 1 }), 409);
  await owner.secrets.versions('PLAIN');
  await owner.secrets.rollback('PLAIN', 1);
  await refused(owner.secrets.rollback('PLAIN', 99), 404);
  await owner.secrets.fetch('PLAIN', { version: 2 });
  await refused(owner.secrets.fetch('PLAIN', { version: 99 }), 404);
  await owner.secrets.resolve({ db: 'x=$Secret{PLAIN}', n: 1 });
  await refused(owner.secrets.resolve('$Secret{'), 400);
  await owner.secrets.validate({ a: '$Secret{PLAIN} $Secret{NOPE} $Secret{' });
  await owner.secrets.export({ app: 'web', env: 'prod' });
  await owner.secrets.revoke('PLAIN');
  await refused(owner.secrets.fetch('PLAIN'), 410);
  await owner.secrets.export({});
  await owner.secrets.restore('PLAIN');
  await owner.secrets.import({
    secrets: [
      { key: 'IMPORTED', value: 'x' },
      { key: 'PLAIN', value: 'y' },
      { key: 'bad key', value: 'z' },
    ],
  });
  await owner.secrets.import({ secrets: [{ key: 'PLAIN', value: 'y' }], overwrite: true });
  await owner.secrets.delete('IMPORTED');
  await refused(owner.secrets.delete('IMPORTED'), 404);

  const minted = await owner.tokens.create({ app: 'web', env: 'prod', description: 'ci' });
  await owner.tokens.list();
  const program = new Ductape({ token: minted.token, url });
  await program.whoami();
  await program.secrets.fetch('API_KEY');
  await program.secrets.export({});
  await refused(program.secrets.create({ key: 'NO', value: 'no' }), 403);
  await owner.tokens.revoke(minted.token_id);
  await refused(owner.tokens.revoke('0123456789abcdef01234567'), 404);
  await refused(program.whoami(), 401);

  // Webhooks through plain fetch (the SDK's client is built apart).
  const bearer = `Bearer ${await accessToken(url, server.owner)}`;
  const hooks = (method: string, path = '', body?: unknown) =>
    fetch(`${url}/v1/webhooks${path}`, {
      method,
      headers:
        body === undefined
          ? { authorization: bearer }
          : { authorization: bearer, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const hook = (await (
    await hooks('POST', '', { url: 'https://hooks.example.com/in', events: ['secret.created'], app: 'web' })
  ).json()) as { id: string };
  assert.equal(
    (await hooks('POST', '', { url: 'http://example.com/in', events: ['secret.created'] })).status,
    400,
  );
  assert.equal((await hooks('GET')).status, 200);
  assert.equal((await hooks('GET', `/${hook.id}/deliveries?limit=5`)).status, 200);
  assert.equal((await hooks('DELETE', `/${hook.id}`)).status, 200);
  assert.equal((await hooks('DELETE', `/${hook.id}`)).status, 404);
  assert.equal((await hooks('GET', `/${hook.id}/deliveries`)).status, 404);

  const viewerCredentials = await owner.users.create({ role: 'viewer' });
  const viewer = new Ductape({ ...viewerCredentials, url });
  await refused(viewer.secrets.fetch('API_KEY'), 403);
  await refused(viewer.users.list(), 403);
  await owner.users.list();
  await owner.users.setRole(viewerCredentials.user_id, 'developer');
  await refused(owner.users.setRole('0123456789abcdef01234567', 'viewer'), 404);
  await refused(owner.users.setRole(server.owner.user_id, 'viewer'), 409);
  await owner.users.rotateKey(viewerCredentials.user_id);
  await owner.users.rotateKey(server.owner.user_id);
  await owner.users.remove(viewerCredentials.user_id);
  await owner.audit.list({ limit: 5 });
  await owner.audit.list({ action: 'secret.read', limit: 2 });
  await refused(owner.audit.list({ limit: 5000 }), 400);

  // What the SDK never sends: no credentials, a bad token, wrong credentials, bad bodies.
  const signIn = (body: string, type = 'application/json') =>
    fetch(`${url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': type }, body });
  assert.equal((await fetch(`${url}/v1/secrets`)).status, 401);
  assert.equal((await fetch(`${url}/v1/me`, { headers: { authorization: 'Bearer nope' } })).status, 401);
  const wrong = {
    workspace_id: server.owner.workspace_id,
    user_id: server.owner.user_id,
    private_key: 'wrong',
  };
  assert.equal((await signIn(JSON.stringify(wrong))).status, 401);
  assert.equal((await signIn('{"workspace_id":')).status, 400);
  assert.equal((await signIn('hello', 'text/plain')).status, 415);
  assert.equal((await signIn('{}')).status, 400);
}
