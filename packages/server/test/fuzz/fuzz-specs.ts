/**
 * Ductape's input rules seen from outside: values each field refuses, the body specs of every
 * route that reads a body, refused query strings and path segments. Kept apart from the
 * server's schemas on purpose: if a rule loosens, a value here gets a 2xx and the fuzz fails.
 */
import { ROLES, TOKEN_TYPES } from '@ductape/sdk';
import fc from 'fast-check';
import { invalidJsonBody, type BodySpec } from './fuzz-bodies.js';
import { JsonObject, nastyString, RawJson, type Json } from './fuzz-json.js';

/** The secrets the fuzzed workspace holds: an active one, a revoked one, one with three versions. */
export const BASE_KEYS = ['fuzz_base_alpha', 'fuzz_base_revoked', 'fuzz_base_versioned'] as const;

/** Put in every generated value: it must never come back in an answer. */
export const CANARY = 'canary-7d41e0-fuzz-value';

/** The owner's credentials, the body of a valid sign-in. */
export interface SignInBody {
  workspace_id: string;
  user_id: string;
  private_key: string;
}

const KEY = /^[A-Za-z0-9_.-]{1,128}$/;
const SLUG = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const isKey = (k: string): boolean => KEY.test(k) && k !== '.' && k !== '..';

export const badKey = fc.oneof(fc.string(), nastyString).filter((k) => !isKey(k));
export const badSlug = fc.oneof(fc.string(), nastyString).filter((s) => !SLUG.test(s));
const badSlugList = fc
  .tuple(fc.array(fc.constantFrom('app1', 'prd', 'x')), badSlug, fc.nat())
  .map(([list, bad, at]) => [
    ...list.slice(0, at % (list.length + 1)),
    bad,
    ...list.slice(at % (list.length + 1)),
  ]);
/** Numbers no version-taking field accepts for an existing version (1..3). */
const badVersionNumber: fc.Arbitrary<Json> = fc.oneof(
  fc.integer().filter((n) => n < 1 || n > 10),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.constantFrom(2_147_483_648, new RawJson('1e400', 'number'), new RawJson('-0', 'number')),
);
const badUnixSeconds: fc.Arbitrary<Json> = fc.oneof(
  fc.integer({ max: 0 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.bigInt({ min: 253_402_300_800n, max: 2n ** 60n }).map(Number),
  fc.constant(new RawJson('1e400', 'number')),
);

const string = ['string'] as const;
const nullableString = ['string', 'null'] as const;

export const createSecret: BodySpec = {
  fields: {
    key: { types: string, bad: fc.oneof(badKey, fc.constantFrom(...BASE_KEYS)) },
    value: {
      types: string,
      bad: fc.constantFrom('', '\ud800', 'a\udfffb', 'v'.repeat(65_537), 'é'.repeat(32_769)),
    },
    description: { types: nullableString, bad: fc.constantFrom('d'.repeat(1025), 'x\ud83d') },
    token_type: {
      types: nullableString,
      bad: fc.oneof(fc.string(), nastyString).filter((s) => !(TOKEN_TYPES as readonly string[]).includes(s)),
    },
    scope: { types: ['array'], bad: badSlugList },
    envs: { types: ['array'], bad: badSlugList },
    expires_at: { types: ['number', 'null'], bad: badUnixSeconds },
  },
  valid: [
    ['key', 'fuzz_new_key'],
    ['value', CANARY],
    ['description', 'made by the fuzz suite'],
    ['token_type', 'api'],
    ['scope', ['app1']],
    ['envs', ['prd']],
    ['expires_at', 4_102_444_800],
  ],
  required: ['key', 'value'],
};

export const updateSecret: BodySpec = {
  fields: Object.fromEntries(Object.entries(createSecret.fields).filter(([name]) => name !== 'key')),
  valid: [['description', 'changed by the fuzz suite']],
  required: '*',
};

export const importSecrets: BodySpec = {
  fields: {
    secrets: {
      types: ['array'],
      bad: fc.array(
        fc.oneof(
          invalidJsonBody(createSecret).map((b) => b.value),
          fc.constantFrom(...BASE_KEYS).map(
            (key) =>
              new JsonObject([
                ['key', key],
                ['value', CANARY],
              ]),
          ),
        ),
        { minLength: 1, maxLength: 6 },
      ),
    },
    overwrite: { types: ['boolean'] },
  },
  // An existing key without overwrite: refused inside the 200 even if nothing else were wrong.
  valid: [
    [
      'secrets',
      [
        new JsonObject([
          ['key', BASE_KEYS[0]],
          ['value', CANARY],
        ]),
      ],
    ],
    ['overwrite', false],
  ],
  required: ['secrets'],
};

export const rollback: BodySpec = {
  fields: { version: { types: ['number'], bad: badVersionNumber } },
  valid: [['version', 1]],
  required: ['version'],
};

export const signIn = (credentials: SignInBody): BodySpec => ({
  fields: {
    workspace_id: {
      types: string,
      bad: fc.oneof(fc.constant(''), fc.string({ minLength: 65 }), nastyString),
    },
    user_id: { types: string, bad: fc.oneof(fc.constant(''), fc.string({ minLength: 65 }), nastyString) },
    private_key: {
      types: string,
      bad: fc.oneof(fc.constant(''), fc.string({ minLength: 257 }), nastyString),
    },
  },
  valid: Object.entries(credentials),
  required: ['workspace_id', 'user_id', 'private_key'],
});

export const serviceToken: BodySpec = {
  fields: {
    app: { types: string, bad: badSlug },
    env: { types: string, bad: badSlug },
    ttl_seconds: {
      types: ['number'],
      bad: fc.oneof(fc.integer({ max: 59 }), fc.integer({ min: 5 * 366 * 24 * 3600 + 1 }), badUnixSeconds),
    },
    // Valid on its own, but never together with ttl_seconds (which the template has).
    expires_at: { types: ['number'], bad: fc.integer({ min: 1 }) },
    description: { types: nullableString, bad: fc.constantFrom('d'.repeat(201), '\udc00') },
  },
  valid: [
    ['app', 'app1'],
    ['env', 'prd'],
    ['ttl_seconds', 3600],
    ['description', 'fuzz'],
  ],
  required: ['app', 'env'],
};

export const webhook: BodySpec = {
  fields: {
    url: {
      types: string,
      bad: fc.constantFrom(
        'http://example.com/x',
        'https://u:p@example.com/x',
        'https://example.com/#f',
        'nope',
      ),
    },
    events: {
      types: ['array'],
      bad: fc.constantFrom([], ['secret.read'], ['secret.created', 'secret.created']),
    },
    app: { types: nullableString, bad: badSlug },
    env: { types: nullableString, bad: badSlug },
    description: { types: nullableString, bad: fc.constantFrom('d'.repeat(201), '\udc00') },
  },
  valid: [
    ['url', 'https://hooks.example.com/fuzz'],
    ['events', ['secret.created']],
  ],
  required: ['url', 'events'],
};

export const role: BodySpec = {
  fields: {
    role: {
      types: string,
      bad: fc.oneof(fc.string(), nastyString).filter((r) => !(ROLES as readonly string[]).includes(r)),
    },
  },
  valid: [['role', 'viewer']],
  required: ['role'],
};

export const usage = (refusesInput: boolean): BodySpec => ({
  fields: {
    input: {
      types: 'any',
      ...(refusesInput
        ? {
            bad: fc.oneof(
              fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/).map((k) => `$Secret{nope_${k}}`),
              fc.constantFrom('$Secret{', '$Secret{}', '$Token{a b}', `$Secret{${'K'.repeat(129)}}`),
            ),
          }
        : {}),
    },
    app: { types: string, bad: badSlug },
    env: { types: string, bad: badSlug },
  },
  valid: [
    ['input', `A=$Secret{${BASE_KEYS[0]}}`],
    ['app', 'app1'],
    ['env', 'prd'],
  ],
  required: ['input'],
});
