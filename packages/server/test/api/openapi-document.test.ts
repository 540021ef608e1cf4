/**
 * GET /v1/openapi.json: a valid OpenAPI 3.1 document (checked by @readme/openapi-parser),
 * describing exactly the routes the server registers, with the codes each can answer and
 * the auth schemes; public, the same on every server, and holding nothing of a workspace.
 * The server refuses a route the document would not describe, and a described route's
 * answer carries only the fields its schema lists.
 *
 * Routes left out of the document: the /docs page and its files (not API), the console's
 * files (served by a hook for paths no route matches, not routes), and the HEAD route
 * Fastify adds for every GET (it answers as the GET does, without a body).
 */
import type { ErrorCode } from '@ductape/sdk';
import { validate, compileErrors } from '@readme/openapi-parser';
import Fastify from 'fastify';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HTTP_STATUS } from '../../src/errors.js';
import { describeRoutes } from '../../src/http/openapi/wire-schemas.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';

type Json = Record<string, unknown>;
interface Operation {
  security: Record<string, string[]>[];
  requestBody?: { content: { 'application/json': { schema: Json } } };
  responses: Record<string, { content?: { 'application/json': { schema: Json } } }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Json> };
}

const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** The error codes an operation answers with, by status, as the document says. */
function errorCodes(operation: Operation): Map<number, string[]> {
  const codes = new Map<number, string[]>();
  for (const [status, response] of Object.entries(operation.responses)) {
    if (Number(status) < 400) continue;
    const schema = response.content?.['application/json'].schema as {
      properties: { code: { enum: string[] } };
    };
    codes.set(Number(status), schema.properties.code.enum);
  }
  return codes;
}

describe('the OpenAPI document', () => {
  let server: TestServer;
  let text: string;
  let doc: Document;

  before(async () => {
    server = await startTestServer({}, 'sqlite');
    await server.client(server.owner).secrets.create({ key: 'SOME_KEY', value: 'some-value' });
    const response = await fetch(`${server.url}/v1/openapi.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    text = await response.text();
    doc = JSON.parse(text) as Document;
  });
  after(() => server?.stop());

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await validate(structuredClone(doc) as never);
    assert.ok(result.valid, result.valid ? '' : compileErrors(result));
  });

  it('describes every API route the server registers, and no other', () => {
    const registered = server.server.app.registeredRoutes;
    const api = registered
      .filter((r) => r.api && r.method !== 'HEAD')
      .map((r) => `${r.method} ${openApiPath(r.url)}`)
      .sort();
    const described = Object.entries(doc.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(described, api);
    assert.ok(api.length >= 25, `only ${api.length} routes`);
    // What is left out: the reference page and its files, and the HEAD twin of each GET.
    const left = registered.filter((r) => !r.api).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(
      left.filter((r) => !r.startsWith('HEAD ')),
      ['GET /docs', 'GET /docs/reference.js', 'GET /docs/swagger-ui.css', 'GET /docs/swagger-ui-bundle.js'],
    );
    for (const head of registered.filter((r) => r.method === 'HEAD')) {
      assert.ok(
        registered.some((r) => r.method === 'GET' && r.url === head.url),
        `HEAD ${head.url} without its GET`,
      );
    }
  });

  it('states the auth schemes, and which routes take which', () => {
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['accessToken', 'serviceToken']);
    for (const scheme of Object.values(doc.components.securitySchemes)) {
      assert.equal(scheme.type, 'http');
      assert.equal(scheme.scheme, 'bearer');
    }
    const schemes = (path: string, method: string): string[] =>
      (doc.paths[path]?.[method]?.security ?? []).flatMap((s) => Object.keys(s)).sort();
    assert.deepEqual(schemes('/healthz', 'get'), []);
    assert.deepEqual(schemes('/v1/auth/token', 'post'), []);
    assert.deepEqual(schemes('/v1/secrets/{key}', 'get'), ['accessToken', 'serviceToken']);
    assert.deepEqual(schemes('/v1/users', 'post'), ['accessToken']);
  });

  it('lists every error code each route can answer, under its status', () => {
    const everywhere = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        const codes = errorCodes(operation);
        for (const [status, list] of codes) {
          for (const code of list) {
            assert.equal(HTTP_STATUS[code as ErrorCode], status, `${where}: ${code} under ${status}`);
            everywhere.add(code);
          }
        }
        const all = [...codes.values()].flat();
        for (const code of ['VALIDATION_ERROR', 'INTERNAL_ERROR', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE']) {
          assert.ok(all.includes(code), `${where} lacks ${code}`);
        }
        const authenticated = operation.security.length > 0;
        for (const code of ['UNAUTHENTICATED', 'TOKEN_INVALID', 'TOKEN_EXPIRED']) {
          assert.equal(all.includes(code), authenticated, `${where}: ${code}`);
        }
        if (operation.requestBody) {
          for (const code of ['INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE']) {
            assert.ok(all.includes(code), `${where} takes a body but lacks ${code}`);
          }
        }
      }
    }
    // Every code the server has is answered by some route, but the one for no route at all.
    const missing = Object.keys(HTTP_STATUS).filter((c) => c !== 'ROUTE_NOT_FOUND' && !everywhere.has(c));
    assert.deepEqual(missing, []);
    assert.deepEqual([...(errorCodes(doc.paths['/v1/secrets']!.post!).get(409) ?? [])].sort(), [
      'SECRET_EXISTS',
      'WORKSPACE_FULL',
      'WORKSPACE_QUOTA_EXCEEDED',
    ]);
  });

  it('describes the inputs with the schemas that validate them', () => {
    const create = doc.paths['/v1/secrets']!.post!.requestBody!.content['application/json'].schema as {
      properties: Record<string, Json>;
      required: string[];
      additionalProperties: boolean;
    };
    assert.deepEqual(create.required.sort(), ['key', 'value']);
    assert.equal(create.additionalProperties, false);
    assert.equal(create.properties.key!.pattern, '^[A-Za-z0-9_.-]{1,128}$');
    assert.deepEqual(create.properties.description, { type: ['string', 'null'], maxLength: 1024 });
    const audit = doc.paths['/v1/audit']!.get as unknown as { parameters: { name: string; in: string }[] };
    assert.ok(audit.parameters.some((p) => p.name === 'limit' && p.in === 'query'));
  });

  it('is public, the same on every server, and holds nothing of a workspace', async () => {
    const other = await startTestServer(
      {
        DUCTAPE_MAX_SECRETS_PER_WORKSPACE: '7',
        DUCTAPE_EXPORT_MAX_BYTES: '123456',
        DUCTAPE_ACCESS_TOKEN_TTL: '61',
      },
      'sqlite',
    );
    try {
      await other.client(other.owner).secrets.create({ key: 'OTHER_KEY', value: 'other-value' });
      assert.equal(await (await fetch(`${other.url}/v1/openapi.json`)).text(), text);
    } finally {
      await other.stop();
    }
    for (const fact of [
      server.owner.workspace_id,
      server.owner.user_id,
      server.owner.private_key,
      'test workspace',
      'SOME_KEY',
      'some-value',
      server.dataDir,
      server.url,
    ]) {
      assert.ok(!text.includes(fact), `the document holds ${fact}`);
    }
  });
});

describe('routes and their descriptions', () => {
  it('a route the table does not describe cannot be registered', () => {
    const app = Fastify();
    describeRoutes(app);
    assert.throws(
      () => app.get('/v1/undescribed', async () => ({})),
      /GET \/v1\/undescribed is not described: add it, .* to http\/openapi\/api-routes\.ts/,
    );
  });

  it('a described answer carries only the fields its schema lists', async () => {
    const app = Fastify();
    describeRoutes(app);
    const now = new Date().toISOString();
    app.get('/v1/secrets/:key/metadata', async () => ({
      _id: '0123456789abcdef01234567',
      workspace_id: 'w',
      key: 'K',
      description: null,
      token_type: null,
      scope: [],
      envs: [],
      expires_at: null,
      status: 'active',
      revoked_at: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
      // What a careless `...row` would bring along.
      sealed_value: 'CIPHERTEXT-BYTES',
      key_hash: 'KEY-HASH',
    }));
    const response = await app.inject({ method: 'GET', url: '/v1/secrets/K/metadata' });
    assert.equal(response.statusCode, 200);
    const body = response.json<Json>();
    assert.equal(body.key, 'K');
    assert.ok(!response.body.includes('CIPHERTEXT') && !response.body.includes('KEY-HASH'), response.body);
    await app.close();
  });
});
