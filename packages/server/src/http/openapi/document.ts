/**
 * The OpenAPI 3.1 document of the API, generated from the route table (api-routes.ts): the
 * same schemas validate the requests and shape the answers, so the document cannot drift
 * from the wire. Built once per process; nothing in it depends on the server's data or its
 * configuration, so it is the same on every server and reveals nothing about a workspace.
 */
import type { ErrorCode } from '@ductape/sdk';
import { HTTP_STATUS } from '../../errors.js';
import * as out from '../response-schemas.js';
import { API_ROUTES, type RouteDoc, type RouteKey, type Tag } from './api-routes.js';
import { codesOf } from './error-codes.js';
import { jsonSchemaOf, type JsonSchema } from './json-schema.js';

/** Answers worth a name of their own in `components.schemas`. */
const NAMED = new Map<unknown, string>([
  [out.secret, 'Secret'],
  [out.secretWithValue, 'SecretWithValue'],
  [out.serviceToken, 'ServiceToken'],
  [out.createdToken, 'CreatedToken'],
  [out.user, 'User'],
  [out.userCredentials, 'UserCredentials'],
  [out.auditEntry, 'AuditEntry'],
  [out.whoAmI, 'WhoAmI'],
  [out.accessToken, 'AccessToken'],
]);

const TAGS: { name: Tag; description: string }[] = [
  { name: 'auth', description: 'Signing in, and who the credentials belong to' },
  { name: 'secrets', description: 'Secrets: their values, metadata and versions' },
  { name: 'usage', description: 'Using secrets from an app in an environment' },
  { name: 'tokens', description: 'Service tokens for programs' },
  { name: 'users', description: 'Members of the workspace' },
  { name: 'audit', description: 'The audit log' },
  { name: 'webhooks', description: 'Signed notifications of secret changes and expiries' },
  { name: 'health', description: 'For load balancers and orchestrators' },
  { name: 'meta', description: 'This description' },
];

const SECURITY_SCHEMES = {
  accessToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An access token of a user, from `POST /v1/auth/token`; short-lived. Send `Authorization: Bearer <access token>`.',
  },
  serviceToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'A service token, from `POST /v1/tokens`: bound to one app and one environment; can only list, fetch, resolve, validate and export the secrets those may use. Send `Authorization: Bearer <service token>`.',
  },
};

const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function schemaRef(schema: unknown, json: () => JsonSchema): JsonSchema {
  const name = NAMED.get(schema);
  return name === undefined ? json() : { $ref: `#/components/schemas/${name}` };
}

/** The error body, its `code` narrowed to the codes answered with this status. */
function errorSchema(codes: readonly ErrorCode[]): JsonSchema {
  const body = jsonSchemaOf(out.errorBody, 'output') as { properties: Record<string, JsonSchema> };
  body.properties.code = { type: 'string', enum: codes };
  return body;
}

function parameters(doc: RouteDoc): JsonSchema[] {
  const list: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', doc.params],
    ['query', doc.query],
  ] as const) {
    if (!schema) continue;
    const json = jsonSchemaOf(schema, 'input') as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = property;
      list.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  return list;
}

function operation(key: RouteKey, doc: RouteDoc): JsonSchema {
  const method = key.slice(0, key.indexOf(' '));
  const responses: Record<string, JsonSchema> = {};
  for (const [status, answer] of Object.entries(doc.responses)) {
    responses[status] = {
      description: answer.description,
      content: {
        'application/json': { schema: schemaRef(answer.schema, () => jsonSchemaOf(answer.schema, 'output')) },
      },
    };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codesOf(method, doc.auth, doc.errors)) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: codes.join(', '),
      content: { 'application/json': { schema: errorSchema(codes) } },
    };
  }
  const params = parameters(doc);
  const security =
    doc.auth === 'none'
      ? []
      : doc.auth === 'user'
        ? [{ accessToken: [] }]
        : [{ accessToken: [] }, { serviceToken: [] }];
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    security,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: doc.bodyOptional !== true,
            content: { 'application/json': { schema: jsonSchemaOf(doc.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

export function buildDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [key, doc] of Object.entries(API_ROUTES) as [RouteKey, RouteDoc][]) {
    const space = key.indexOf(' ');
    const path = openApiPath(key.slice(space + 1));
    paths[path] = { ...paths[path], [key.slice(0, space).toLowerCase()]: operation(key, doc) };
  }
  const schemas: Record<string, JsonSchema> = {};
  for (const [schema, name] of NAMED) schemas[name] = jsonSchemaOf(schema as never, 'output');
  schemas.Error = jsonSchemaOf(out.errorBody, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ductape API',
      version: '1',
      description:
        'A self-hostable secrets manager. Every error answers `{ code, message, field? }`; each operation lists the codes it can answer, by status.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: TAGS,
    paths,
    components: { securitySchemes: SECURITY_SCHEMES, schemas },
  };
}

let cached: Buffer | undefined;

/** The document as JSON bytes, built on first use. */
export function documentJson(): Buffer {
  cached ??= Buffer.from(JSON.stringify(buildDocument()), 'utf8');
  return cached;
}
