/**
 * Path segments and query strings that must be refused: traversal, SQL, broken
 * percent-encoding, ids of nothing, unknown or repeated parameters, values out of rule.
 */
import fc from 'fast-check';
import { nastyString, pct } from './fuzz-json.js';
import { badKey, badSlug, BASE_KEYS } from './fuzz-specs.js';

/** Pieces of path traversal, broken percent-encoding and SQL, joined at random. */
const TRAVERSAL = [
  '..',
  '.',
  '/',
  '%2e%2e',
  '%2f',
  '%2F',
  '%5c',
  '\\',
  '%00',
  '%',
  '%zz',
  '%c0%af',
  '%ff',
  '%ed%a0%80',
  'etc',
];
const SQLISH = ["'", '%27', '--', ';', '%20OR%201=1', 'DROP%20TABLE%20secrets', '*', '"', '%22', '=', '+'];
/** A path segment that names no existing secret: traversal, SQL, broken encoding, odd keys. */
export const refusedKeySegment = (keys: readonly string[] = BASE_KEYS): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .oneof(fc.string(), nastyString)
      .filter((s) => s !== '' && !keys.includes(s))
      .map(pct),
    fc
      .array(fc.constantFrom(...TRAVERSAL, ...SQLISH), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.join(''))
      // "x/" is "x" to the router (trailing slashes are ignored): never a bare slash at the end.
      .filter((s) => !s.endsWith('/')),
    fc.integer({ min: 129, max: 400 }).map((n) => 'K'.repeat(n)),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/).map((s) => `nope_${s}`),
    fc
      .tuple(
        fc.constantFrom(...keys),
        fc.constantFrom('%00', '%20', '/..', '/.', '%2F', ';', '.', '%0a', '%3F', '%23'),
      )
      .map(([key, junk]) => key + junk),
    fc.tuple(fc.constantFrom(...keys), fc.constantFrom('./', '../', '..%2F', '%2e/')).map(([k, p]) => p + k),
    fc.constantFrom(...keys).map((k) => k.toUpperCase()),
  );

/** A user or token id that names nothing: malformed, or well-formed and unknown. */
export const refusedId: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{24}$/),
  fc.stringMatching(/^[0-9A-F]{24}$/).filter((s) => /[A-F]/.test(s)),
  fc.stringMatching(/^[0-9a-f]{1,23}$|^[0-9a-f]{25,40}$/),
  fc
    .oneof(fc.string(), nastyString)
    .filter((s) => s !== '')
    .map(pct),
  fc
    .array(fc.constantFrom(...TRAVERSAL, ...SQLISH), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(''))
    .filter((s) => !s.endsWith('/')),
);

export const versionQuery = (name: string): fc.Arbitrary<string> =>
  fc
    .array(
      fc.oneof(
        fc
          .oneof(nastyString, fc.integer().map(String), fc.double().map(String))
          .filter((v) => {
            const n = Number(v);
            return !(Number.isInteger(n) && n >= 1 && n <= 10);
          })
          .map((v) => `${name}=${pct(v)}`),
        fc.tuple(fc.nat(3), fc.nat(3)).map(([a, b]) => `${name}=${a}&${name}=${b}`),
        extraQueryParam([name]),
      ),
      { minLength: 1, maxLength: 3 },
    )
    .chain((parts) => withQueryJunk(parts));

const extraQueryParam = (allowed: string[]): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'VERSION', 'a[b]'), fc.string()),
      nastyString,
    )
    .filter(([name]) => !allowed.includes(name) && name !== '')
    .map(([name, value]) => `${pct(name)}=${pct(value)}`);

/** Adds separators and empty pairs around the parts, which must change nothing. */
const withQueryJunk = (parts: string[]): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom('', '&', '&&'), { minLength: parts.length, maxLength: parts.length })
    .map((seps) => parts.map((p, i) => `${seps[i]}${p}`).join('&'));

export const exportQuery: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      badSlug.map((s) => `app=${pct(s)}`),
      badSlug.map((s) => `env=${pct(s)}`),
      fc
        .tuple(
          fc.array(fc.constantFrom(...BASE_KEYS)),
          // Empty entries are skipped: a bad one must have something in it, and no comma.
          fc.oneof(
            badKey.filter((k) => k !== '' && !k.includes(',')),
            fc.constant('nope_missing'),
          ),
        )
        .map(([keys, bad]) => `only=${pct([...keys, bad].join(','))}`),
      fc.constantFrom(
        'only=',
        'only=,,,',
        `only=${new Array<string>(1001)
          .fill('k')
          .map((k, i) => k + i)
          .join(',')}`,
      ),
      fc.constantFrom('app=a&app=b', 'only=a&only=b'),
      extraQueryParam(['app', 'env', 'only']),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .chain((parts) => withQueryJunk(['app=app1', 'env=prd', ...parts]));

/** Any query string at all: pairs of nasty names and values, and raw junk. */
export const junkQuery: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.tuple(nastyString, nastyString).map(([k, v]) => `${pct(k)}=${pct(v)}`),
      fc.constantFrom(
        '%zz',
        '&&',
        '=',
        'a[b][c]=1',
        '__proto__[polluted]=1',
        'constructor.prototype.x=1',
        '%ff=%fe',
      ),
    ),
    { maxLength: 4 },
  )
  .map((parts) => parts.join('&'));

/** `GET /v1/audit` queries with at least one refused part. */
export const auditQuery: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc
        .oneof(nastyString, fc.constantFrom('yesterday', '2026-13-45', '', '1e400'))
        .filter((v) => Number.isNaN(Date.parse(v)) || v.length > 40)
        .chain((v) => fc.constantFrom(`since=${pct(v)}`, `until=${pct(v)}`)),
      fc
        .oneof(nastyString, fc.constantFrom('0', '1001', '-1', '1.5', 'NaN', '1e3x'))
        .filter((v) => {
          const n = Number(v);
          return !(v.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= 1000);
        })
        .map((v) => `limit=${pct(v)}`),
      fc
        .oneof(nastyString, fc.constantFrom('0', '-1', 'abc', '1234567890123456', '1.0'))
        .filter((v) => !/^[1-9][0-9]{0,14}$/.test(v))
        .map((v) => `cursor=${pct(v)}`),
      fc
        .oneof(nastyString, fc.constantFrom('secret.steal', 'SECRET.READ', 'audit'))
        .filter((v) => !/^(auth|workspace|secret|user|token|key|audit)\.[a-z_]+$/.test(v))
        .map((v) => `action=${pct(v)}`),
      badKey.filter((k) => k !== '').map((k) => `key=${pct(k)}`),
      fc.constantFrom('limit=1&limit=2', 'since=2026-01-01&since=2026-01-02'),
      extraQueryParam(['since', 'until', 'key', 'actor', 'action', 'limit', 'cursor']),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .chain((parts) => withQueryJunk(parts));
