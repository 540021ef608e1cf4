/**
 * Every HTTP route, and requests to it that must be refused: a missing or broken
 * Authorization header, a path parameter that names nothing (traversal, SQL, bad
 * percent-encoding, too long), an invalid query, or an invalid body on an existing target.
 * Health routes take anything and must still answer 200 with exactly their body.
 */
import fc from 'fast-check';
import { invalidBody, unparsableBody, type BodySpec, type GeneratedBody } from './fuzz-bodies.js';
import { fuzzRequest, type FuzzRequest } from './fuzz-http.js';
import { nastyString } from './fuzz-json.js';
import * as specs from './fuzz-specs.js';
import * as urls from './fuzz-urls.js';

/** What the fuzzed server holds besides BASE_KEYS; refused requests leave all of it as it is. */
export interface FuzzTargets {
  ownerToken: string;
  viewerToken: string;
  credentials: specs.SignInBody;
  /** The owner and a viewer. */
  userIds: readonly string[];
  tokenId: string;
}

/** How an answer is judged: see every-route.test.ts. */
export type Expectation = 'refused' | 'unauthenticated' | 'import' | 'health';

export interface Generated {
  route: string;
  request: FuzzRequest;
  expect: Expectation;
}

export interface RouteFuzz {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  route: string;
  /** Sign-in and health take no access token. */
  auth: boolean;
  /** Values of the path parameter (`:key` or `:id`): existing ones, and refused ones. */
  param?: { existing: (t: FuzzTargets) => string[]; refused: fc.Arbitrary<string> };
  /** The body spec (its template is valid), or 'none' for a route that reads no body. */
  body?: (t: FuzzTargets) => BodySpec | 'none';
  /** Query strings (without '?') refused on an existing target. */
  query?: fc.Arbitrary<string>;
  /** 'health' answers 200 to anything; 'import' refuses bad items inside a 200. */
  kind?: 'health' | 'import';
}

const keyParam = { existing: () => [...specs.BASE_KEYS], refused: urls.refusedKeySegment() };
const userParam = { existing: (t: FuzzTargets) => [...t.userIds], refused: urls.refusedId };
const tokenParam = { existing: (t: FuzzTargets) => [t.tokenId], refused: urls.refusedId };
const none = (): 'none' => 'none';

/** Every route of the server, as fuzzed. A test checks this is exactly the server's list. */
export const ROUTES: readonly RouteFuzz[] = [
  { method: 'GET', route: '/healthz', auth: false, kind: 'health' },
  { method: 'GET', route: '/readyz', auth: false, kind: 'health' },
  { method: 'GET', route: '/v1/openapi.json', auth: false, kind: 'health' },
  { method: 'POST', route: '/v1/auth/token', auth: false, body: (t) => specs.signIn(t.credentials) },
  { method: 'GET', route: '/v1/me', auth: true },
  { method: 'GET', route: '/v1/secrets', auth: true },
  { method: 'POST', route: '/v1/secrets', auth: true, body: () => specs.createSecret },
  {
    method: 'POST',
    route: '/v1/secrets/import',
    auth: true,
    body: () => specs.importSecrets,
    kind: 'import',
  },
  {
    method: 'GET',
    route: '/v1/secrets/:key',
    auth: true,
    param: keyParam,
    query: urls.versionQuery('version'),
  },
  { method: 'GET', route: '/v1/secrets/:key/versions', auth: true, param: keyParam },
  {
    method: 'POST',
    route: '/v1/secrets/:key/rollback',
    auth: true,
    param: keyParam,
    body: () => specs.rollback,
  },
  { method: 'GET', route: '/v1/secrets/:key/metadata', auth: true, param: keyParam },
  {
    method: 'PATCH',
    route: '/v1/secrets/:key',
    auth: true,
    param: keyParam,
    body: () => specs.updateSecret,
    query: urls.versionQuery('if_version'),
  },
  { method: 'DELETE', route: '/v1/secrets/:key', auth: true, param: keyParam, body: none },
  { method: 'POST', route: '/v1/secrets/:key/revoke', auth: true, param: keyParam, body: none },
  { method: 'POST', route: '/v1/secrets/:key/restore', auth: true, param: keyParam, body: none },
  { method: 'POST', route: '/v1/resolve', auth: true, body: () => specs.usage(true) },
  { method: 'POST', route: '/v1/validate', auth: true, body: () => specs.usage(false) },
  { method: 'GET', route: '/v1/export', auth: true, query: urls.exportQuery },
  { method: 'POST', route: '/v1/tokens', auth: true, body: () => specs.serviceToken },
  { method: 'GET', route: '/v1/tokens', auth: true },
  { method: 'DELETE', route: '/v1/tokens/:id', auth: true, param: tokenParam, body: none },
  { method: 'GET', route: '/v1/users', auth: true },
  { method: 'POST', route: '/v1/users', auth: true, body: () => specs.role },
  { method: 'PATCH', route: '/v1/users/:id', auth: true, param: userParam, body: () => specs.role },
  { method: 'DELETE', route: '/v1/users/:id', auth: true, param: userParam, body: none },
  { method: 'POST', route: '/v1/users/:id/rotate-key', auth: true, param: userParam, body: none },
  { method: 'GET', route: '/v1/audit', auth: true, query: urls.auditQuery },
  // No webhook exists: an id names none (a user's id is a well-formed one).
  { method: 'POST', route: '/v1/webhooks', auth: true, body: () => specs.webhook },
  { method: 'GET', route: '/v1/webhooks', auth: true },
  { method: 'DELETE', route: '/v1/webhooks/:id', auth: true, param: userParam, body: none },
  { method: 'GET', route: '/v1/webhooks/:id/deliveries', auth: true, param: userParam },
];

/** Header values Node's client will send (no CR, LF or NUL; bytes up to 0xFF). */
const headerSafe = (s: string): boolean => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);

/**
 * Authorization headers that authenticate nobody. A changed access token keeps its last
 * character (a 32-byte signature in 43 base64url characters leaves two unused bits there,
 * so some changes to it decode to the same signature) and gets no '.'.
 */
const badAuthorization = (t: FuzzTargets): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    fc.oneof(nastyString, fc.string()).filter(headerSafe),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      `bearer ${t.ownerToken}`,
      `Token ${t.ownerToken}`,
      `Bearer ${t.ownerToken} x`,
      `Bearer  ${t.ownerToken}`,
      'Basic dXNlcjpwYXNz',
      'Bearer dat_e30.AAAA',
      `Bearer dst_${'0'.repeat(24)}_${'A'.repeat(43)}`,
    ),
    fc.integer({ min: 2049, max: 12_000 }).map((n) => `Bearer ${'a'.repeat(n)}`),
    fc.tuple(fc.nat(), fc.constantFrom(...'ABCxyz019-_')).map(([at, c]) => {
      const token = t.ownerToken;
      const i = 4 + (at % (token.length - 5));
      return `Bearer ${token.slice(0, i)}${token[i] === c ? (c === 'A' ? 'B' : 'A') : c}${token.slice(i + 1)}`;
    }),
  );

/** Headers that must not change the outcome: odd values, repeated names, huge ones. */
const noiseHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    fc
      .tuple(
        fc.constantFrom(
          'x-request-id',
          'x-forwarded-for',
          'x-forwarded-host',
          'x-forwarded-proto',
          'cookie',
          'accept',
        ),
        nastyString.filter(headerSafe),
      )
      .map(([n, v]) => [n, v] as [string, string]),
    fc.constantFrom<[string, string]>(
      ['accept-encoding', 'gzip, br, zstd, *;q=0'],
      ['content-encoding', 'gzip'],
      ['x-http-method-override', 'DELETE'],
      ['connection', 'keep-alive, upgrade'],
      ['expect', 'teapot'],
    ),
    fc.integer({ min: 1000, max: 6000 }).map((n) => ['user-agent', 'u'.repeat(n)] as [string, string]),
    fc
      .tuple(fc.stringMatching(/^x-[a-z0-9!#$%&'*+.^_`|~-]{1,20}$/), fc.string().filter(headerSafe))
      .map(([n, v]) => [n, v] as [string, string]),
  ),
  { maxLength: 3 },
);

function build(
  route: RouteFuzz,
  parts: { segment?: string; query?: string; body?: GeneratedBody; auth?: string; noise: [string, string][] },
  what: string,
  method: string = route.method,
): FuzzRequest {
  let path = route.route.replace(/:(key|id)/, parts.segment ?? '');
  if (parts.query !== undefined) path += `?${parts.query}`;
  const headers: [string, string][] = [];
  if (parts.auth !== undefined) headers.push(['authorization', parts.auth]);
  if (parts.body?.contentType) headers.push(['content-type', parts.body.contentType]);
  headers.push(...parts.noise);
  return fuzzRequest({ method, path, headers, body: parts.body?.bytes, what });
}

/** The request's valid parts: an existing target and, for body routes, the valid template. */
function validBody(route: RouteFuzz, t: FuzzTargets): GeneratedBody | undefined {
  const spec = route.body?.(t);
  if (spec === undefined || spec === 'none') return undefined;
  const json = JSON.stringify(Object.fromEntries(spec.valid));
  return { bytes: Buffer.from(json), contentType: 'application/json', what: 'valid' };
}

/** Requests to one route that must all be refused (or, for health, answered 200). */
export function requestsFor(route: RouteFuzz, t: FuzzTargets): fc.Arbitrary<Generated> {
  const goodAuth = fc.constantFrom(
    `Bearer ${t.ownerToken}`,
    `Bearer ${t.ownerToken}`,
    `Bearer ${t.viewerToken}`,
  );
  const existing = route.param ? fc.constantFrom(...route.param.existing(t)) : fc.constant(undefined);
  const variants: fc.Arbitrary<Generated>[] = [];
  const out = (expect: Expectation) => (request: FuzzRequest) => ({
    route: `${route.method} ${route.route}`,
    request,
    expect,
  });

  if (route.kind === 'health') {
    variants.push(
      fc
        .tuple(
          fc.option(urls.junkQuery, { nil: undefined }),
          fc.option(badAuthorization(t), { nil: undefined }),
          noiseHeaders,
        )
        .map(([query, auth, noise]) => build(route, { query, auth, noise }, 'junk around a health check'))
        .map(out('health')),
    );
    return fc.oneof(...variants);
  }
  if (route.auth) {
    // Nothing wrong but the credentials: the answer must be 401.
    variants.push(
      fc
        .tuple(existing, badAuthorization(t), noiseHeaders, fc.boolean())
        .map(([segment, auth, noise, head]) =>
          head && route.method === 'GET'
            ? // No noise: headers over 16 KiB get a 431 with a body, which a HEAD answer cannot carry.
              build(route, { segment, auth, noise: [] }, 'bad credentials', 'HEAD')
            : build(route, { segment, auth, noise, body: validBody(route, t) }, 'bad credentials'),
        )
        .map(out('unauthenticated')),
    );
  }
  if (route.param) {
    const body = route.body?.(t);
    const bodies =
      body === undefined || body === 'none'
        ? fc.constant(undefined)
        : fc.oneof(fc.constant(validBody(route, t)), invalidBody(body));
    variants.push(
      fc
        .tuple(route.param.refused, bodies, goodAuth, noiseHeaders)
        .map(([segment, b, auth, noise]) =>
          build(route, { segment, body: b, auth, noise }, `no such ${segment}`),
        )
        .map(out('refused')),
    );
  }
  if (route.query) {
    variants.push(
      fc
        .tuple(existing, route.query, goodAuth, noiseHeaders)
        .map(([segment, query, auth, noise]) =>
          build(route, { segment, query, auth, noise, body: validBody(route, t) }, 'bad query'),
        )
        .map(out('refused')),
    );
  }
  const spec = route.body?.(t);
  if (spec !== undefined) {
    const bodies = spec === 'none' ? unparsableBody : invalidBody(spec);
    const auth = route.auth ? goodAuth : fc.constant(undefined);
    variants.push(
      fc
        .tuple(existing, bodies, auth, noiseHeaders)
        .map(([segment, body, a, noise]) =>
          build(route, { segment, body, auth: a, noise }, `body: ${body.what}`),
        )
        .map(out(route.kind === 'import' ? 'import' : 'refused')),
    );
  }
  return fc.oneof(...variants);
}

/** A request to any route, every route alike. */
export const anyRouteRequest = (t: FuzzTargets): fc.Arbitrary<Generated> =>
  fc.oneof(...ROUTES.map((route) => requestsFor(route, t)));
