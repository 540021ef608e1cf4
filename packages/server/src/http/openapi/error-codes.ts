/**
 * Which error codes a route can answer: the codes of its own rules (listed with the route in
 * api-routes.ts) and those every route of its kind shares, derived here once.
 */
import type { ErrorCode } from '@ductape/sdk';

/** Who may call a route: anyone, a signed-in user, or a user or a service token. */
export type RouteAuth = 'none' | 'user' | 'user-or-token';

/** Methods whose request body the server reads (and so can refuse). */
const BODY_METHODS = new Set(['POST', 'PATCH', 'DELETE']);

/**
 * Every route: a missing Host header, a malformed URL or a NUL in the query (400), headers
 * over 16 KiB (431), a request that does not arrive in time (408), an unexpected fault (500).
 */
const EVERY_ROUTE: readonly ErrorCode[] = [
  'VALIDATION_ERROR',
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',
  'INTERNAL_ERROR',
];

/** A body that is not JSON, is too large, or is not sent as application/json. */
const BODY: readonly ErrorCode[] = ['INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

/**
 * Authentication: no or a malformed Authorization header, an unknown, expired or revoked
 * token, too many invalid service tokens from one address, the store not answering.
 */
const AUTHENTICATED: readonly ErrorCode[] = [
  'UNAUTHENTICATED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOO_MANY_REQUESTS',
  'SERVICE_UNAVAILABLE',
];

/** A route for users only refuses a service token (403). */
const USERS_ONLY: readonly ErrorCode[] = ['FORBIDDEN'];

/** Every code `method` on a route with this auth and these codes of its own can answer, sorted. */
export function codesOf(method: string, auth: RouteAuth, own: readonly ErrorCode[]): ErrorCode[] {
  const all = new Set<ErrorCode>([...EVERY_ROUTE, ...own]);
  if (BODY_METHODS.has(method)) for (const code of BODY) all.add(code);
  if (auth !== 'none') for (const code of AUTHENTICATED) all.add(code);
  if (auth === 'user') for (const code of USERS_ONLY) all.add(code);
  return [...all].sort();
}
