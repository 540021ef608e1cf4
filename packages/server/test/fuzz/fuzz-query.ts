/**
 * Generated query strings and headers for every route (query-strings-and-headers.test.ts). A query is
 * kept as the list of (name, value) pairs it encodes, so the judge knows exactly what the
 * server decodes: which parameters hold NUL, and which names were sent. Targets are chosen
 * so that no request can change anything: reads may name existing secrets, but every route
 * that writes names a key or id that does not exist, or sends a body that is refused.
 * Headers are anything Node's client sends (no CR, LF or NUL; bytes up to 0xFF), repeated,
 * huge, or claiming another client address; control bytes go over raw TCP instead.
 */
import fc from 'fast-check';
import { fuzzRequest, type FuzzRequest } from './fuzz-http.js';
import { nastyString, pct } from './fuzz-json.js';
import { BASE_KEYS } from './fuzz-specs.js';
import type { RouteFuzz } from './fuzz-routes.js';

/** What the generated requests may name and carry. */
export interface QueryTargets {
  ownerToken: string;
  viewerToken: string;
  serviceToken: string;
  /** Existing ids, for reads only. */
  userId: string;
  tokenId: string;
}

export interface QueryCase {
  route: string;
  request: FuzzRequest;
  /** The pairs as decoded by the server (lone surrogates aside, which become U+FFFD). */
  pairs: [string, string][];
  /** Names of the parameters that hold NUL, in their name or value, as the server names them. */
  nulNames: string[];
}

/** Every query parameter some route reads, and names that have broken parsers. */
const NAMES = [
  'version',
  'if_version',
  'app',
  'env',
  'only',
  'since',
  'until',
  'key',
  'actor',
  'action',
  'limit',
  'cursor',
  'expiring_within',
];
const ODD_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'a[b]',
  'a.b',
  '',
  '0',
  '-1',
];

/** Values near what each parameter accepts, valid ones included, and anything at all. */
const value: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1', '2', '3', '0', '-1', '1.5', '1e3', '2147483648', '999999999999999', ' 1', '0x10'),
  fc.constantFrom('app1', 'prd', 'dev', 'web', 'APP', 'a b', 'app1,app2'),
  fc.constantFrom(...BASE_KEYS, `${BASE_KEYS[0]},${BASE_KEYS[2]}`, ',', ',,', 'nope_missing'),
  fc.constantFrom(
    '2026-01-01',
    '2026-01-01T00:00:00Z',
    'yesterday',
    '9999-12-31',
    '1970-01-01T00:00:00.000+14:00',
  ),
  fc.constantFrom('secret.read', 'audit.list', 'user.rotate_key', 'secret.steal'),
  fc.stringMatching(/^[0-9a-f]{24}$/),
  nastyString,
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.integer({ min: 65, max: 3000 }).map((n) => 'v'.repeat(n)),
);

/** A string with a NUL put somewhere in it. */
const withNul = (arb: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(arb, fc.nat()).map(([s, at]) => {
    const i = at % (s.length + 1);
    return `${s.slice(0, i)}\u0000${s.slice(i)}`;
  });

const name: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NAMES), weight: 6 },
  fc.constantFrom(...ODD_NAMES),
  fc.string({ maxLength: 12 }),
  nastyString,
);

/** One pair; one in eight holds NUL in its value, one in thirty-two in its name. */
const pair: fc.Arbitrary<[string, string]> = fc.oneof(
  { arbitrary: fc.tuple(name, value), weight: 27 },
  { arbitrary: fc.tuple(name, withNul(value)), weight: 4 },
  { arbitrary: fc.tuple(withNul(name), value), weight: 1 },
);

/** Fragments that do not decode to anything whole, placed between pairs. */
const JUNK = ['%zz', '%', '%e2%82', '%ED%A0%80', '=', '&', 'a=%', '=%41', '%2', '%G0'];

/** What the server decodes a name or value to: a lone surrogate cannot travel in a URL. */
const decoded = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

/** The field the server names for a parameter holding NUL (see http/unread-input.ts). */
const nulField = (n: string): string => decoded(n).replaceAll('\u0000', '\\0').slice(0, 64);

const generatedQuery: fc.Arbitrary<{ text: string; pairs: [string, string][] }> = fc
  .tuple(fc.array(pair, { maxLength: 5 }), fc.array(fc.constantFrom(...JUNK), { maxLength: 2 }), fc.boolean())
  .map(([pairs, junk, bare]) => {
    const parts = pairs.map(([n, v], i) =>
      // Now and then a name alone, as in `?debug`: its value is ''.
      bare && i === 0 && v === '' ? pct(n) : `${pct(n)}=${pct(v)}`,
    );
    return { text: [...parts, ...junk].join('&'), pairs };
  });

/** No query at all now and then: the headers alone, and reads that are served. */
const query = fc.oneof(
  { arbitrary: fc.constant({ text: '', pairs: [] as [string, string][] }), weight: 1 },
  { arbitrary: generatedQuery, weight: 4 },
);

/** Header values Node's client will send (no CR, LF or NUL; bytes up to 0xFF). */
const headerSafe = (s: string): boolean => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);

const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom('127.0.0.2', '::1', 'unknown', '10.0.0.1, 127.0.0.3', 'for=192.0.2.60;proto=http'),
);

/** Extra headers: a forged client address, odd values, repeated names, huge ones. */
const headers: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    ipLike.map((ip) => ['x-forwarded-for', ip] as [string, string]),
    ipLike.map((ip) => ['x-real-ip', ip] as [string, string]),
    ipLike.map((ip) => ['forwarded', `for=${ip}`] as [string, string]),
    fc
      .tuple(
        fc.constantFrom(
          'user-agent',
          'accept',
          'accept-language',
          'cookie',
          'origin',
          'referer',
          'x-request-id',
          'if-none-match',
          'range',
          'x-http-method-override',
          'content-type',
        ),
        fc.oneof(nastyString, fc.string({ unit: 'binary-ascii', maxLength: 40 })).filter(headerSafe),
      )
      .map(([n, v]) => [n, v] as [string, string]),
    fc
      .tuple(fc.stringMatching(/^x-[a-z0-9!#$%&'*+.^_`|~-]{1,20}$/), fc.string().filter(headerSafe))
      .map(([n, v]) => [n, v] as [string, string]),
    fc
      .integer({ min: 1000, max: 20_000 })
      .map((n) => ['user-agent', String.fromCharCode(0xe9).repeat(n)] as [string, string]),
    fc.constantFrom<[string, string]>(['accept-encoding', 'gzip, br, zstd'], ['expect', '100-continue']),
  ),
  { maxLength: 4 },
);

/** Who asks: each role that can read, a service token, nobody, or a token of nobody. */
const authorization = (t: QueryTargets): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { arbitrary: fc.constant(`Bearer ${t.ownerToken}`), weight: 4 },
    { arbitrary: fc.constant(`Bearer ${t.viewerToken}`), weight: 2 },
    { arbitrary: fc.constant(`Bearer ${t.serviceToken}`), weight: 2 },
    fc.constant(undefined),
    fc.constantFrom('Bearer nope', `Bearer dst_${'0'.repeat(24)}_${'A'.repeat(43)}`, 'Basic eDp5'),
  );

const UNKNOWN_ID = 'ffffffffffffffffffffffff';
const MISSING_KEY = 'fuzz_query_no_such_key';

/** The path of a route: existing targets for reads, missing ones for anything that writes. */
function pathOf(route: RouteFuzz, t: QueryTargets, existing: boolean): string {
  const reads = route.method === 'GET';
  // The versioned key: `?version=1..3` reads exist.
  const key = reads && existing ? BASE_KEYS[2] : MISSING_KEY;
  const id = reads && existing ? (route.route.startsWith('/v1/tokens') ? t.tokenId : t.userId) : UNKNOWN_ID;
  return route.route.replace(':key', key).replace(':id', id);
}

/** A body that every writing route refuses (or, for a missing target, never reaches). */
const REFUSED_BODY = Buffer.from('{}');

/** Requests to one route with a generated query string and headers. */
export function queryCase(route: RouteFuzz, t: QueryTargets): fc.Arbitrary<QueryCase> {
  return fc
    .tuple(query, headers, authorization(t), fc.boolean(), fc.boolean())
    .map(([q, extra, auth, existing, head]) => {
      const method = head && route.method === 'GET' && extra.length === 0 ? 'HEAD' : route.method;
      const writes = route.method !== 'GET';
      const list: [string, string][] = [];
      if (auth !== undefined) list.push(['authorization', auth]);
      if (writes) list.push(['content-type', 'application/json']);
      list.push(...extra.filter(([n]) => !(writes && n === 'content-type')));
      const path = `${pathOf(route, t, existing)}${q.text === '' ? '' : `?${q.text}`}`;
      const request = fuzzRequest({
        method,
        path,
        headers: list,
        body: writes ? REFUSED_BODY : undefined,
        what: 'generated query and headers',
      });
      const nulNames = q.pairs.filter(([n, v]) => `${n}${v}`.includes('\u0000')).map(([n]) => nulField(n));
      return { route: `${route.method} ${route.route}`, request, pairs: q.pairs, nulNames };
    });
}

/** Header lines no HTTP client sends: control bytes in a value or a name. */
export const controlHeader: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('User-Agent', 'X-Forwarded-For', 'Accept', 'X-Any'),
    fc.string({ maxLength: 8 }).filter(headerSafe),
    fc.constantFrom('\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001f', '\u007f'),
    fc.boolean(),
  )
  .map(([n, v, c, inName]) => (inName ? `${n}${c}X: ${v}` : `${n}: ${v}${c}${v}`));
