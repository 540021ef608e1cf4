/**
 * What each scenario sends, and the one request that must be answered correctly before it
 * is timed. `request({ creds, count })` gets the seeded workspace's credentials and size. `seeds` names the seeded workspaces (see index.mjs):
 *   list   100 secrets  L0000000..L0000099
 *   main   10,000       S0000000..S0009999   (fetch, list, resolve, token exchange)
 *   writes 1,000        U0000000..U0000999   (create adds to it; update rewrites these)
 *   big    BENCH_BIG    B0000000..           (fetch at size; its own fresh store)
 */
import { call, expect, tokenBody } from './api.mjs';
import { keyName, seededValue } from './keys.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };
const RESOLVE_KEYS = [1, 2001, 4001, 6001, 8001].map((i) => keyName('S', i));
const RESOLVE_INPUT = RESOLVE_KEYS.map((k, n) => `V${n}=$Secret{${k}}`).join(' ');

function fetchScenario(id, label, seed, prefix) {
  return {
    id,
    label,
    seed,
    load: (settings) => ({ connections: settings.connections }),
    request: ({ count }) => ({
      method: 'GET',
      path: '/v1/secrets/{key}',
      keys: { prefix, count, order: 'random' },
    }),
    async check(url, token) {
      const { status, json } = await call(url, 'GET', `/v1/secrets/${keyName(prefix, 1)}`, { token });
      expect(status === 200 && json.value === seededValue(prefix, 1), 'fetch returns the seeded value', json);
    },
  };
}

/** A GET answered 200 whose body `check` accepts; `path` may hold `{key}` (a random seeded key). */
function getScenario(id, label, { anonymous = false, keys, path, accept }) {
  return {
    id,
    label,
    seed: 'main',
    anonymous,
    load: (s) => ({ connections: s.connections }),
    request: ({ count }) => ({ method: 'GET', path, ...(keys ? { keys: { ...keys, count } } : {}) }),
    async check(url, token) {
      const first = path.replace('{key}', keyName('S', 1));
      const { status, json } = await call(url, 'GET', first, anonymous ? {} : { token });
      expect(status === 200 && accept(json), `${label} answers`, json);
    },
  };
}

/** The scenarios run against the store seeded with the list, main and writes workspaces. */
export function baseScenarios() {
  return [
    getScenario('healthz', 'healthz', {
      anonymous: true,
      path: '/healthz',
      accept: (j) => j.status === 'ok',
    }),
    getScenario('me', 'me', { path: '/v1/me', accept: (j) => typeof j.workspace_id === 'string' }),
    getScenario('metadata', 'metadata (10k)', {
      path: '/v1/secrets/{key}/metadata',
      keys: { prefix: 'S', order: 'random' },
      accept: (j) => j.key === keyName('S', 1) && j.value === undefined,
    }),
    fetchScenario('fetch', 'fetch (10k)', 'main', 'S'),
    {
      id: 'list100',
      label: 'list (100)',
      seed: 'list',
      load: (s) => ({ connections: s.connections }),
      request: () => ({ method: 'GET', path: '/v1/secrets' }),
      async check(url, token) {
        const { status, json } = await call(url, 'GET', '/v1/secrets', { token });
        expect(status === 200 && json.secrets?.length === 100, 'list returns 100 secrets', status);
      },
    },
    {
      id: 'list10k',
      label: 'list (10k)',
      seed: 'main',
      // One connection: its latency is the server time of one list, not a queue behind others.
      load: () => ({ connections: 1 }),
      request: () => ({ method: 'GET', path: '/v1/secrets' }),
      async check(url, token) {
        const { status, json } = await call(url, 'GET', '/v1/secrets', { token });
        expect(status === 200 && json.secrets?.length === 10_000, 'list returns 10,000 secrets', status);
      },
    },
    {
      id: 'resolve',
      label: 'resolve (5 refs)',
      seed: 'main',
      load: (s) => ({ connections: s.connections }),
      request: () => ({
        method: 'POST',
        path: '/v1/resolve',
        headers: JSON_HEADERS,
        body: JSON.stringify({ input: RESOLVE_INPUT }),
      }),
      async check(url, token) {
        const { status, json } = await call(url, 'POST', '/v1/resolve', {
          token,
          body: { input: RESOLVE_INPUT },
        });
        const expected = RESOLVE_KEYS.map((k, n) => `V${n}=${seededValue('S', Number(k.slice(1)))}`).join(
          ' ',
        );
        expect(status === 200 && json.output === expected, 'resolve replaces the 5 references', json);
      },
    },
    {
      id: 'token',
      label: 'token exchange',
      seed: 'main',
      anonymous: true,
      load: (s) => ({ connections: s.connections }),
      request: ({ creds }) => ({
        method: 'POST',
        path: '/v1/auth/token',
        headers: JSON_HEADERS,
        body: JSON.stringify(tokenBody(creds)),
      }),
      async check(url, _token, creds) {
        const { status, json } = await call(url, 'POST', '/v1/auth/token', { body: tokenBody(creds) });
        expect(status === 200 && typeof json.access_token === 'string', 'sign-in issues a token', status);
      },
    },
    {
      id: 'create',
      label: 'create',
      seed: 'writes',
      load: (s) => ({ connections: s.connections }),
      request: () => ({
        method: 'POST',
        path: '/v1/secrets',
        headers: JSON_HEADERS,
        // cannon.mjs replaces [<id>] with a unique id per request.
        body: JSON.stringify({ key: 'C[<id>]', value: 'created-value-[<id>]' }),
        uniqueIds: true,
      }),
      async check(url, token) {
        const body = { key: 'CHECK', value: 'created-value' };
        const { status, json } = await call(url, 'POST', '/v1/secrets', { token, body });
        expect(status === 201, 'create answers 201', json);
      },
    },
    {
      id: 'update',
      label: 'update',
      seed: 'writes',
      load: (s) => ({ connections: s.connections }),
      request: ({ count }) => ({
        method: 'PATCH',
        path: '/v1/secrets/{key}',
        headers: JSON_HEADERS,
        body: JSON.stringify({ value: 'updated-value-[<id>]' }),
        uniqueIds: true,
        // Round-robin over the 1,000 seeded keys: 50 connections rarely touch the same one.
        keys: { prefix: 'U', count, order: 'cycle' },
      }),
      async check(url, token) {
        const path = `/v1/secrets/${keyName('U', 0)}`;
        const { status, json } = await call(url, 'PATCH', path, { token, body: { value: 'checked' } });
        expect(status === 200 && json.version === 2, 'update answers 200 with version 2', json);
      },
    },
  ];
}

/** The fetch against the big store (its own fresh data dir or schema). */
export function bigScenario(label) {
  return fetchScenario('fetchBig', label, 'big', 'B');
}
