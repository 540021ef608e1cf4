/**
 * Every API route, described once: its inputs (the schemas that validate them), its answers
 * (the schemas that shape them, see response-schemas.ts) and the error codes of its own
 * rules. The server attaches each route's response schemas when the route is registered and
 * refuses to start with a route missing here (wire-schemas.ts); the OpenAPI document is
 * generated from this table (document.ts).
 */
import type { ErrorCode } from '@ductape/sdk';
import { z } from 'zod';
import * as out from '../response-schemas.js';
import {
  auditQuery,
  createSecretBody,
  createTokenBody,
  exportQuery,
  fetchQuery,
  IMPORT_LIMIT,
  importBody,
  keyParams,
  roleBody,
  rollbackBody,
  rotateKeyBody,
  tokenBody,
  tokenIdParams,
  updateQuery,
  updateSecretBody,
  usageBody,
  userIdParams,
} from '../schemas.js';
import type { RouteAuth } from './error-codes.js';

export type Tag = 'health' | 'auth' | 'secrets' | 'usage' | 'tokens' | 'users' | 'audit' | 'meta';

export interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  auth: RouteAuth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Whether the body may be left out (only rotate-key: an owner rotating another's key). */
  bodyOptional?: boolean;
  /** The successful answers, by status. */
  responses: Partial<Record<200 | 201, { description: string; schema: z.ZodType }>>;
  /** The codes of this route's own rules; those every route of its kind shares are derived (error-codes.ts). */
  errors: readonly ErrorCode[];
}

/** A route's key: its method and its path as registered with Fastify. */
export type RouteKey = `${'GET' | 'POST' | 'PATCH' | 'DELETE'} /${string}`;

/**
 * `POST /v1/secrets/import` validates each item on its own (a bad item is refused in the
 * results, not the whole request), so its schema holds items of any shape; described here
 * as what each item must be: the create body.
 */
const importRequest = z.strictObject({
  secrets: z.array(createSecretBody).min(1).max(IMPORT_LIMIT),
  overwrite: importBody.shape.overwrite,
});

const ok = (description: string, schema: z.ZodType) => ({ 200: { description, schema } });
const created = (description: string, schema: z.ZodType) => ({ 201: { description, schema } });

/** Reading a value: every rule of use, the decryption, and the read put on record first. */
const VALUE_READ: readonly ErrorCode[] = [
  'SECRET_NOT_FOUND',
  'SECRET_REVOKED',
  'SECRET_EXPIRED',
  'SECRET_SCOPE_DENIED',
  'SECRET_ENV_DENIED',
  'SECRET_INTEGRITY_ERROR',
  'WORKSPACE_KEY_ERROR',
  'INSUFFICIENT_STORAGE',
];

export const API_ROUTES: Readonly<Record<RouteKey, RouteDoc>> = {
  'GET /healthz': {
    operationId: 'health',
    summary: 'Liveness: the process is up and answering',
    tag: 'health',
    auth: 'none',
    responses: ok('Up', out.health),
    errors: [],
  },
  'GET /readyz': {
    operationId: 'ready',
    summary: 'Readiness: the store answers too',
    description: 'A load balancer sends traffic only to ready nodes; a 503 carries Retry-After.',
    tag: 'health',
    auth: 'none',
    responses: ok('Ready', out.ready),
    errors: ['SERVICE_UNAVAILABLE'],
  },
  'GET /v1/openapi.json': {
    operationId: 'openapi',
    summary: 'This OpenAPI document',
    description: 'Public: it describes the API, the same on every server, and nothing of any workspace.',
    tag: 'meta',
    auth: 'none',
    responses: ok('The OpenAPI 3.1 document', out.openApiDocument),
    errors: [],
  },
  'POST /v1/auth/token': {
    operationId: 'signIn',
    summary: 'Exchange user credentials for a short-lived access token',
    description:
      'Limited per client address and per (address, user id): a 429 carries Retry-After. ' +
      'Every sign-in, refused or not, is put on record.',
    tag: 'auth',
    auth: 'none',
    body: tokenBody,
    responses: ok('An access token', out.accessToken),
    errors: ['INVALID_CREDENTIALS', 'TOO_MANY_REQUESTS', 'SERVICE_UNAVAILABLE', 'INSUFFICIENT_STORAGE'],
  },
  'GET /v1/me': {
    operationId: 'whoami',
    summary: 'Who the credentials belong to: a user and their role, or a service token and its app and env',
    tag: 'auth',
    auth: 'user-or-token',
    responses: ok('The caller', out.whoAmI),
    errors: [],
  },
  'GET /v1/secrets': {
    operationId: 'listSecrets',
    summary: "Every secret's metadata (never a value)",
    tag: 'secrets',
    auth: 'user-or-token',
    responses: ok('The secrets', out.secretList),
    errors: [],
  },
  'POST /v1/secrets': {
    operationId: 'createSecret',
    summary: 'Create a secret',
    tag: 'secrets',
    auth: 'user',
    body: createSecretBody,
    responses: created('The new secret', out.secret),
    errors: [
      'SECRET_EXISTS',
      'WORKSPACE_FULL',
      'WORKSPACE_QUOTA_EXCEEDED',
      'WORKSPACE_KEY_ERROR',
      'INSUFFICIENT_STORAGE',
    ],
  },
  'POST /v1/secrets/import': {
    operationId: 'importSecrets',
    summary: 'Create (or, with overwrite, update) many secrets: one result per item, in order',
    description: `At most ${IMPORT_LIMIT} per request. An item that breaks a rule is refused in its result, not the request.`,
    tag: 'secrets',
    auth: 'user',
    body: importRequest,
    responses: ok('One result per item', out.importResponse),
    errors: ['WORKSPACE_KEY_ERROR', 'SECRET_INTEGRITY_ERROR', 'INSUFFICIENT_STORAGE'],
  },
  'GET /v1/secrets/:key': {
    operationId: 'fetchSecret',
    summary: "A secret's decrypted value; `?version=N` reads an older recorded version",
    tag: 'secrets',
    auth: 'user-or-token',
    params: keyParams,
    query: fetchQuery,
    responses: ok('The secret with its value', out.secretWithValue),
    errors: ['FORBIDDEN', 'VERSION_NOT_FOUND', ...VALUE_READ],
  },
  'GET /v1/secrets/:key/versions': {
    operationId: 'listSecretVersions',
    summary: 'Every recorded version, newest first: metadata only',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('The versions', out.secretVersions),
    errors: ['SECRET_NOT_FOUND'],
  },
  'POST /v1/secrets/:key/rollback': {
    operationId: 'rollbackSecret',
    summary: 'A new version holding the value of an older one',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    body: rollbackBody,
    responses: ok('The secret at its new version', out.secret),
    errors: [
      'SECRET_NOT_FOUND',
      'VERSION_NOT_FOUND',
      'WORKSPACE_QUOTA_EXCEEDED',
      'SECRET_INTEGRITY_ERROR',
      'WORKSPACE_KEY_ERROR',
      'INSUFFICIENT_STORAGE',
    ],
  },
  'GET /v1/secrets/:key/metadata': {
    operationId: 'secretMetadata',
    summary: "A secret's metadata (never its value)",
    tag: 'secrets',
    auth: 'user-or-token',
    params: keyParams,
    responses: ok('The secret', out.secret),
    errors: ['SECRET_NOT_FOUND'],
  },
  'PATCH /v1/secrets/:key': {
    operationId: 'updateSecret',
    summary: "Change a secret's value or metadata; `?if_version=N` makes it a check-and-set",
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    query: updateQuery,
    body: updateSecretBody,
    responses: ok('The secret as changed', out.secret),
    errors: [
      'SECRET_NOT_FOUND',
      'VERSION_CONFLICT',
      'WORKSPACE_QUOTA_EXCEEDED',
      'SECRET_INTEGRITY_ERROR',
      'WORKSPACE_KEY_ERROR',
      'INSUFFICIENT_STORAGE',
    ],
  },
  'DELETE /v1/secrets/:key': {
    operationId: 'deleteSecret',
    summary: 'Delete a secret and every version of it',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('Deleted', out.deleted),
    errors: ['SECRET_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'POST /v1/secrets/:key/revoke': {
    operationId: 'revokeSecret',
    summary: 'Revoke a secret: it can no longer be read or resolved until restored',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('The revoked secret', out.secret),
    errors: ['SECRET_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'POST /v1/secrets/:key/restore': {
    operationId: 'restoreSecret',
    summary: 'Restore a revoked secret',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('The restored secret', out.secret),
    errors: ['SECRET_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'POST /v1/resolve': {
    operationId: 'resolve',
    summary: 'Replace every `$Secret{KEY}` in `input` by its value',
    tag: 'usage',
    auth: 'user-or-token',
    body: usageBody,
    responses: ok('The input, resolved', out.resolveResponse),
    errors: ['FORBIDDEN', 'MALFORMED_REFERENCE', ...VALUE_READ],
  },
  'POST /v1/validate': {
    operationId: 'validate',
    summary: 'Every reference in `input`, and whether (and why not) it would resolve; never a value',
    tag: 'usage',
    auth: 'user-or-token',
    body: usageBody,
    responses: ok('The references found', out.validateResponse),
    errors: [],
  },
  'GET /v1/export': {
    operationId: 'export',
    summary: 'The values an app may use in an environment',
    tag: 'usage',
    auth: 'user-or-token',
    query: exportQuery,
    responses: ok('The values', out.exportResponse),
    errors: ['FORBIDDEN', 'EXPORT_TOO_LARGE', ...VALUE_READ],
  },
  'POST /v1/tokens': {
    operationId: 'createToken',
    summary: 'Mint a service token bound to one app and one environment',
    description: 'The token is in this answer only.',
    tag: 'tokens',
    auth: 'user',
    body: createTokenBody,
    responses: created('The new token', out.createdToken),
    errors: ['INSUFFICIENT_STORAGE'],
  },
  'GET /v1/tokens': {
    operationId: 'listTokens',
    summary: "Every service token's metadata (never a token)",
    tag: 'tokens',
    auth: 'user',
    responses: ok('The tokens', out.tokenList),
    errors: [],
  },
  'DELETE /v1/tokens/:id': {
    operationId: 'revokeToken',
    summary: 'Revoke a service token: it stops working on every node at its next request',
    tag: 'tokens',
    auth: 'user',
    params: tokenIdParams,
    responses: ok('Revoked', out.revoked),
    errors: ['TOKEN_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'GET /v1/users': {
    operationId: 'listUsers',
    summary: 'Every member of the workspace (never a key)',
    tag: 'users',
    auth: 'user',
    responses: ok('The members', out.userList),
    errors: [],
  },
  'POST /v1/users': {
    operationId: 'addUser',
    summary: 'Add a member',
    description: 'The private key is in this answer only.',
    tag: 'users',
    auth: 'user',
    body: roleBody,
    responses: created("The new member's credentials", out.userCredentials),
    errors: ['INSUFFICIENT_STORAGE'],
  },
  'PATCH /v1/users/:id': {
    operationId: 'setRole',
    summary: "Change a member's role",
    tag: 'users',
    auth: 'user',
    params: userIdParams,
    body: roleBody,
    responses: ok('The member', out.user),
    errors: ['USER_NOT_FOUND', 'LAST_OWNER', 'INSUFFICIENT_STORAGE'],
  },
  'DELETE /v1/users/:id': {
    operationId: 'removeUser',
    summary: 'Remove a member: their key and access tokens stop working at once',
    tag: 'users',
    auth: 'user',
    params: userIdParams,
    responses: ok('Removed', out.removed),
    errors: ['USER_NOT_FOUND', 'LAST_OWNER', 'INSUFFICIENT_STORAGE'],
  },
  'POST /v1/users/:id/rotate-key': {
    operationId: 'rotateKey',
    summary: 'A new private key; the old one, and its access tokens, stop working at once',
    description:
      "Rotating your own key takes `{ private_key }`, your current one (a wrong one counts as a failed sign-in); an owner rotating another user's key sends no body.",
    tag: 'users',
    auth: 'user',
    params: userIdParams,
    body: rotateKeyBody,
    bodyOptional: true,
    responses: ok('The new credentials', out.userCredentials),
    errors: ['USER_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'GET /v1/audit': {
    operationId: 'listAudit',
    summary: "A page of the workspace's audit log, newest first; `next_cursor` continues it",
    tag: 'audit',
    auth: 'user',
    query: auditQuery,
    responses: ok('A page of entries', out.auditPage),
    errors: ['INSUFFICIENT_STORAGE'],
  },
};

/** The route described for `method` and a Fastify path, if any (HEAD answers as GET does). */
export function routeDoc(method: string, url: string): RouteDoc | undefined {
  const key = `${method === 'HEAD' ? 'GET' : method} ${url}`;
  return Object.hasOwn(API_ROUTES, key) ? API_ROUTES[key as RouteKey] : undefined;
}
