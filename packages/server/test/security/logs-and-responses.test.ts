/**
 * What the logs and the responses give away. A server logging at `trace` into memory is
 * driven through every route with distinctive values (secret values, private keys, access
 * and service tokens, Authorization headers, malformed bodies); none of them may appear in
 * the log, raw or JSON-escaped. Every response carries the security headers and a request
 * id that the log lines carry too, and no error body has a stack.
 */
import type { ErrorBody } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logging.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { describeEachBackend } from '../helpers/backends.js';
import { storeEnv, type Credentials } from '../helpers/harness.js';
import { rawRequest, type RawOptions, type RawResponse } from '../helpers/http.js';

const SECURITY_HEADERS: Record<string, RegExp> = {
  'x-content-type-options': /^nosniff$/,
  'cache-control': /no-store/,
  'content-security-policy': /default-src 'none'/,
  'x-frame-options': /^DENY$/,
  'referrer-policy': /^no-referrer$/,
};

describeEachBackend('logs and responses', (backend) => {
  const lines: string[] = [];
  const responses: { what: string; response: RawResponse }[] = [];
  /** Every value that must never be logged. */
  const known = new Set<string>();
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let owner: Credentials;

  const call = async (method: string, path: string, options: RawOptions = {}): Promise<RawResponse> => {
    const response = await rawRequest(server.url, method, path, options);
    responses.push({ what: `${method} ${path} -> ${response.status}`, response });
    return response;
  };
  const ok = async (method: string, path: string, options: RawOptions = {}): Promise<unknown> => {
    const response = await call(method, path, options);
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.text}`);
    return response.json;
  };
  const remember = (value: string): string => {
    known.add(value);
    return value;
  };

  before(async () => {
    const store = await storeEnv(backend);
    cleanup = store.cleanup;
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'trace',
      DUCTAPE_SIGNIN_FAILURES_PER_USER: '3',
      ...store.env,
    });
    const destination = { write: (line: string) => void lines.push(line) };
    server = await startServer(config, createLogger(config, destination));
    owner = await server.runtime.members.createWorkspace('log workspace');
    remember(owner.private_key);

    // Sign-in: right key, wrong key, a made-up user until the limit answers 429.
    const signedIn = (await ok('POST', '/v1/auth/token', { body: owner })) as { access_token: string };
    const token = remember(signedIn.access_token);
    const wrongKey = remember('dtk_KNOWN-WRONG-PRIVATE-KEY-q8w7e6r5t4');
    await call('POST', '/v1/auth/token', { body: { ...owner, private_key: wrongKey } });
    for (let i = 0; i < 4; i++) {
      await call('POST', '/v1/auth/token', {
        body: { ...owner, user_id: 'ghost-user', private_key: wrongKey },
      });
    }
    assert.equal(responses.at(-1)?.response.status, 429);

    await ok('GET', '/healthz');
    await ok('GET', '/readyz');
    await ok('GET', '/v1/me', { token });

    // Secrets, every route.
    const v1 = remember('KNOWN-SECRET-VALUE-ONE-a1b2c3d4e5');
    const v2 = remember('KNOWN-SECRET-VALUE-TWO-f6g7h8i9j0 with "quotes" and \\ backslash');
    const v3 = remember('KNOWN-SECRET-VALUE-THREE-k1l2m3n4o5\nnewline');
    await ok('POST', '/v1/secrets', { token, body: { key: 'LOG_A', value: v1, description: 'public text' } });
    await ok('GET', '/v1/secrets', { token });
    await ok('GET', '/v1/secrets/LOG_A', { token });
    await ok('GET', '/v1/secrets/LOG_A/metadata', { token });
    await ok('PATCH', '/v1/secrets/LOG_A?if_version=1', { token, body: { value: v2 } });
    await ok('GET', '/v1/secrets/LOG_A/versions', { token });
    await ok('GET', '/v1/secrets/LOG_A?version=1', { token });
    await ok('POST', '/v1/secrets/LOG_A/rollback', { token, body: { version: 1 } });
    await ok('POST', '/v1/secrets/import', {
      token,
      body: { secrets: [{ key: 'LOG_B', value: v3, scope: ['web'], envs: ['prod'] }], overwrite: true },
    });
    await ok('POST', '/v1/resolve', {
      token,
      body: { input: { a: '$Secret{LOG_A}', b: '$Secret{LOG_B}' }, app: 'web', env: 'prod' },
    });
    await ok('POST', '/v1/validate', { token, body: { input: 'x=$Secret{LOG_A} y=$Secret{MISSING}' } });
    await ok('GET', '/v1/export', { token });
    await ok('POST', '/v1/secrets/LOG_A/revoke', { token });
    await call('GET', '/v1/secrets/LOG_A', { token });
    await ok('POST', '/v1/secrets/LOG_A/restore', { token });

    // Service tokens.
    const created = (await ok('POST', '/v1/tokens', { token, body: { app: 'web', env: 'prod' } })) as Record<
      string,
      unknown
    >;
    const serviceToken = Object.values(created).find((v) => typeof v === 'string' && v.startsWith('dst_'));
    assert.equal(typeof serviceToken, 'string', JSON.stringify(Object.keys(created)));
    remember(serviceToken as string);
    await ok('GET', '/v1/tokens', { token });
    await ok('GET', '/v1/export?app=web&env=prod', { token: serviceToken as string });
    await ok('GET', '/v1/me', { token: serviceToken as string });
    await ok('DELETE', `/v1/tokens/${String(created.id ?? created.token_id)}`, { token });
    await call('GET', '/v1/export?app=web&env=prod', { token: serviceToken as string });

    // Users.
    await ok('GET', '/v1/users', { token });
    const user = (await ok('POST', '/v1/users', { token, body: { role: 'developer' } })) as Credentials;
    remember(user.private_key);
    await ok('PATCH', `/v1/users/${user.user_id}`, { token, body: { role: 'viewer' } });
    const rotated = (await ok('POST', `/v1/users/${user.user_id}/rotate-key`, { token })) as Credentials;
    remember(rotated.private_key);
    const userToken = (await ok('POST', '/v1/auth/token', { body: rotated })) as { access_token: string };
    remember(userToken.access_token);
    await call('GET', '/v1/secrets/LOG_A', { token: userToken.access_token });
    await ok('DELETE', `/v1/users/${user.user_id}`, { token });
    await call('GET', '/v1/me', { token: userToken.access_token });
    await ok('DELETE', '/v1/secrets/LOG_B', { token });

    // Errors: unknown route, malformed and refused bodies holding values, bogus Authorization.
    await call('GET', '/v1/no-such-route', { token });
    await call('GET', '/v1/secrets/LOG_A/nope');
    const malformed = remember('KNOWN-MALFORMED-BODY-VALUE-z9y8x7w6');
    await call('POST', '/v1/secrets', { token, body: `{"key":"LOG_C","value":"${malformed}"` });
    await call('POST', '/v1/auth/token', { body: `{"private_key":"${wrongKey}",` });
    await call('PATCH', '/v1/secrets/LOG_A', { token, body: `{"value": ${malformed}}` });
    const refused = remember('KNOWN-REFUSED-VALUE-p0o9i8u7');
    await call('POST', '/v1/secrets', { token, body: { key: 'bad key!', value: refused } });
    await call('POST', '/v1/secrets', { token, body: { key: 'LOG_D', value: refused, extra: refused } });
    await call('POST', '/v1/secrets', { token, body: { key: 'LOG_A', value: refused } });
    await call('POST', '/v1/secrets', { token, body: refused, contentType: 'text/plain' });
    const bogus = remember('KNOWN-BOGUS-BEARER-m1n2b3v4c5');
    await call('GET', '/v1/secrets', { token: bogus });
    await call('GET', '/v1/secrets', {
      headers: { authorization: remember('Basic KNOWN-BASIC-AUTH-x1c2v3') },
    });
    await call('GET', '/v1/secrets', { token: remember('dst_KNOWNBOGUS_serviceTokenShaped0123456789') });
    await call('GET', '/v1/secrets', { headers: { authorization: `Bearer ${bogus} trailing` } });
    await call('GET', '/v1/secrets');
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  it('the log holds none of the known values, raw or JSON-escaped', () => {
    const log = lines.join('');
    assert.ok(lines.length > responses.length, `only ${lines.length} log lines`);
    for (const value of known) {
      const forms = new Set([value, JSON.stringify(value).slice(1, -1), value.slice(-16)]);
      for (const form of forms) {
        assert.equal(log.includes(form), false, `the log holds ${JSON.stringify(form)}`);
      }
    }
  });

  it('every request is logged once, in one access line with its request id, status and no headers', () => {
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = entries.filter((e) => e.msg === 'request');
    assert.ok(requestLines.length >= responses.length, `${requestLines.length} request lines`);
    for (const entry of requestLines) {
      assert.equal(typeof entry.reqId, 'string', JSON.stringify(entry));
      assert.equal(typeof entry.status, 'number', JSON.stringify(entry));
      assert.equal('headers' in entry || 'req' in entry, false, JSON.stringify(entry));
    }
    const byId = new Map<unknown, number>();
    for (const e of requestLines) byId.set(e.reqId, (byId.get(e.reqId) ?? 0) + 1);
    for (const { what, response } of responses) {
      const id = response.headers.get('x-request-id');
      assert.equal(id ? byId.get(id) : undefined, 1, `${what}: request id ${id} not logged exactly once`);
      const line = requestLines.find((e) => e.reqId === id);
      assert.equal(line?.status, response.status, `${what}: logged status`);
    }
  });

  it('every response carries the security headers, and no error body a stack', () => {
    const statuses = new Set(responses.map((r) => r.response.status));
    for (const status of [200, 201, 400, 401, 403, 404, 409, 410, 415, 429]) {
      assert.ok(statuses.has(status), `no ${status} was driven (got ${[...statuses].join(', ')})`);
    }
    for (const { what, response } of responses) {
      for (const [name, pattern] of Object.entries(SECURITY_HEADERS)) {
        assert.match(response.headers.get(name) ?? '', pattern, `${what}: ${name}`);
      }
      if (response.status >= 400) {
        const body = response.json as ErrorBody;
        const extra = Object.keys(body).filter((k) => !['code', 'message', 'field'].includes(k));
        assert.deepEqual(extra, [], `${what}: ${response.text}`);
        assert.equal('stack' in body, false, what);
        assert.doesNotMatch(response.text, /\bat .+:\d+:\d+/, `${what}: a stack frame`);
      }
    }
  });
});
