/**
 * Every API route, described once: its inputs (the schemas that validate them), its answers
 * (the schemas that shape them, see response-schemas.ts) and the error codes of its own
 * rules. The server attaches each route's response schemas when the route is registered and
 * refuses to start with a route missing here (wire-schemas.ts); the OpenAPI document is
 * generated from this table (document.ts).
 */
import * as out from '../response-schemas.js';
import {
  auditQuery,
  createTokenBody,
  roleBody,
  rotateKeyBody,
  tokenBody,
  tokenIdParams,
  userIdParams,
} from '../schemas.js';
import { created, ok, type RouteDoc, type RouteKey } from './route-doc.js';
import { SECRET_ROUTES } from './secret-routes.js';
import { WEBHOOK_ROUTES } from './webhook-routes.js';

export type { RouteDoc, RouteKey, Tag } from './route-doc.js';

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
  ...SECRET_ROUTES,
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
  ...WEBHOOK_ROUTES,
};

/** The route described for `method` and a Fastify path, if any (HEAD answers as GET does). */
export function routeDoc(method: string, url: string): RouteDoc | undefined {
  const key = `${method === 'HEAD' ? 'GET' : method} ${url}`;
  return Object.hasOwn(API_ROUTES, key) ? API_ROUTES[key as RouteKey] : undefined;
}
