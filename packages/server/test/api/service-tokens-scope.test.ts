/**
 * What a service token bound to app `web` in `prd` can reach, route by route: only the
 * secrets whose scope and envs allow web/prd, by fetch, list, metadata, exists, resolve,
 * validate and export; and no writes, no token management, whatever it asks for.
 */
import Ductape from '@ductape/sdk';
import type { CreateSecretInput } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { assertErrorBody, rawRequest } from '../helpers/http.js';
import { PAST } from './rule-secrets.js';
import { expectError, tag, type Expected } from '../helpers/usage.js';

const SECRETS: Record<string, Omit<CreateSecretInput, 'key' | 'value'> & { revoke?: boolean }> = {
  IN_OPEN: {},
  IN_EXACT: { scope: ['web'], envs: ['prd'] },
  IN_APP: { scope: ['api', 'web'] },
  IN_ENV: { envs: ['stg', 'prd'] },
  IN_REVOKED: { scope: ['web'], revoke: true },
  IN_EXPIRED: { envs: ['prd'], expires_at: PAST },
  OUT_APP: { scope: ['api'] },
  OUT_ENV: { envs: ['dev'] },
  OUT_BOTH: { scope: ['api'], envs: ['dev'] },
  OUT_REVOKED: { scope: ['api'], revoke: true },
};
const USABLE = ['IN_APP', 'IN_ENV', 'IN_EXACT', 'IN_OPEN'];
const VISIBLE = [...USABLE, 'IN_EXPIRED', 'IN_REVOKED'].sort();
/**
 * A key outside the token's app or environment is answered as a missing key, so a token
 * cannot learn what else the workspace holds (security/service-token-scope-probing.test.ts).
 */
const outOfScope = (k: string): Expected => ({
  status: 404,
  code: 'SECRET_NOT_FOUND',
  message: `Secret '${k}' not found`,
});
const tokenForbidden: Expected = { status: 403, code: 'FORBIDDEN', message: /service token/ };

describeEachBackend('service token boundaries (web/prd)', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  let service: Ductape;
  let token: string;
  const values: Record<string, string> = {};
  const all = (): string[] => Object.values(values);
  /** Expects the token's call to fail exactly so, with no secret value in the error. */
  const refused = (call: Promise<unknown>, expected: Expected) =>
    expectError(call, { ...expected, absent: all() });

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
    for (const [key, { revoke, ...meta }] of Object.entries(SECRETS)) {
      values[key] = `${key.toLowerCase()}-${tag()}`;
      await owner.secrets.create({ key, value: values[key] as string, ...meta });
      if (revoke) await owner.secrets.revoke(key);
    }
    const admin = server.client(await server.newUser('admin'));
    token = (await admin.tokens.create({ app: 'web', env: 'prd' })).token;
    service = new Ductape({ token, url: server.url });
  });
  after(() => server.stop());

  it('fetch: in-scope values; out-of-scope keys as missing ones; the rest by the first rule it breaks', async () => {
    for (const key of USABLE) assert.equal((await service.secrets.fetch(key)).value, values[key]);
    await refused(service.secrets.fetch('OUT_APP'), outOfScope('OUT_APP'));
    await refused(service.secrets.fetch('OUT_ENV'), outOfScope('OUT_ENV'));
    await refused(service.secrets.fetch('OUT_BOTH'), outOfScope('OUT_BOTH'));
    await refused(service.secrets.fetch('OUT_REVOKED'), outOfScope('OUT_REVOKED'));
    await refused(service.secrets.fetch('IN_REVOKED'), { status: 410, code: 'SECRET_REVOKED' });
    await refused(service.secrets.fetch('IN_EXPIRED'), { status: 410, code: 'SECRET_EXPIRED' });
    await refused(service.secrets.fetch('NOPE'), { status: 404, code: 'SECRET_NOT_FOUND' });
  });

  it('list, metadata and exists show only what web/prd may use', async () => {
    const listed = await service.secrets.list();
    assert.deepEqual(listed.map((s) => s.key).sort(), VISIBLE);
    assert.equal(JSON.stringify(listed).includes('value'), false);
    const get = (path: string) => rawRequest(server.url, 'GET', path, { token });
    const inScope = await get('/v1/secrets/IN_EXACT/metadata');
    assert.equal(inScope.status, 200, inScope.text);
    assert.equal(
      assertErrorBody(await get('/v1/secrets/OUT_APP/metadata'), 404, 'SECRET_NOT_FOUND').message,
      outOfScope('OUT_APP').message,
    );
    assert.equal(
      assertErrorBody(await get('/v1/secrets/OUT_ENV/metadata'), 404, 'SECRET_NOT_FOUND').message,
      outOfScope('OUT_ENV').message,
    );
    assert.equal(await service.secrets.exists('IN_OPEN'), true);
    assert.equal(await service.secrets.exists('NOPE'), false);
    assert.equal(await service.secrets.exists('OUT_BOTH'), false, 'out of scope is as good as missing');
  });

  it('resolve acts as web/prd; naming another app or env is refused', async () => {
    const input = { a: '$Secret{IN_EXACT}', b: ['x $Token{IN_APP} y', '$Secret{IN_ENV}'] };
    const expected = { a: values.IN_EXACT, b: [`x ${values.IN_APP} y`, values.IN_ENV] };
    assert.deepEqual(await service.secrets.resolve(input), expected);
    assert.deepEqual(await service.secrets.resolve(input, { app: 'web', env: 'prd' }), expected);
    await refused(service.secrets.resolve(input, { app: 'api' }), {
      ...tokenForbidden,
      message: /app 'web'.*app 'api'/,
      field: 'app',
    });
    await refused(service.secrets.resolve(input, { env: 'dev' }), {
      ...tokenForbidden,
      message: /env 'prd'.*env 'dev'/,
      field: 'env',
    });
    await refused(service.secrets.resolve('$Secret{OUT_APP}', { env: 'prd' }), outOfScope('OUT_APP'));
    await refused(service.secrets.resolve(['$Secret{IN_OPEN}', '$Secret{OUT_ENV}']), outOfScope('OUT_ENV'));
    await refused(service.secrets.resolve('$Secret{OUT_BOTH}'), outOfScope('OUT_BOTH'));
  });

  it('validate reports out-of-scope references as not found, with no values', async () => {
    const report = await service.secrets.validate(Object.keys(SECRETS).map((k) => `$Secret{${k}}`));
    assert.equal(report.valid, false);
    const verdicts = Object.fromEntries(report.references.map((r) => [r.key, r.code ?? 'ok']));
    assert.deepEqual(verdicts, {
      IN_OPEN: 'ok',
      IN_EXACT: 'ok',
      IN_APP: 'ok',
      IN_ENV: 'ok',
      IN_REVOKED: 'SECRET_REVOKED',
      IN_EXPIRED: 'SECRET_EXPIRED',
      OUT_APP: 'SECRET_NOT_FOUND',
      OUT_ENV: 'SECRET_NOT_FOUND',
      OUT_BOTH: 'SECRET_NOT_FOUND',
      OUT_REVOKED: 'SECRET_NOT_FOUND',
    });
    assert.equal(
      all().some((v) => JSON.stringify(report).includes(v)),
      false,
    );
    await refused(service.secrets.validate('$Secret{IN_OPEN}', { app: 'api' }), tokenForbidden);
  });

  it('export gives only in-scope values, as web/prd', async () => {
    const answer = await service.secrets.export();
    assert.equal(answer.app, 'web');
    assert.equal(answer.env, 'prd');
    assert.deepEqual(
      answer.secrets.map((s) => [s.key, s.value]).sort(),
      USABLE.map((k) => [k, values[k]]),
    );
    assert.deepEqual(answer.skipped.map((s) => s.key).sort(), ['IN_EXPIRED', 'IN_REVOKED']);
    assert.deepEqual((await service.secrets.export({ only: ['IN_EXACT'] })).secrets, [
      { key: 'IN_EXACT', value: values.IN_EXACT },
    ]);
    await refused(service.secrets.export({ only: ['IN_OPEN', 'OUT_APP'] }), outOfScope('OUT_APP'));
    await refused(service.secrets.export({ app: 'api', env: 'dev' }), tokenForbidden);
    await refused(service.secrets.export({ env: 'dev', only: ['OUT_ENV'] }), tokenForbidden);
  });

  it('cannot create, update, delete, revoke, restore or import secrets', async () => {
    await refused(service.secrets.create({ key: 'BY_TOKEN', value: 'v' }), tokenForbidden);
    await refused(service.secrets.update('IN_OPEN', { value: 'changed' }), tokenForbidden);
    await refused(service.secrets.update('IN_OPEN', { scope: ['api'] }), tokenForbidden);
    await refused(service.secrets.delete('IN_OPEN'), tokenForbidden);
    await refused(service.secrets.revoke('IN_EXACT'), tokenForbidden);
    await refused(service.secrets.restore('IN_REVOKED'), tokenForbidden);
    await refused(
      service.secrets.import({ secrets: [{ key: 'IN_OPEN', value: 'x' }], overwrite: true }),
      tokenForbidden,
    );
    const open = await owner.secrets.fetch('IN_OPEN');
    assert.deepEqual([open.value, open.version, open.scope], [values.IN_OPEN, 1, []]);
    assert.equal(await owner.secrets.exists('BY_TOKEN'), false);
    assert.equal((await owner.secrets.fetch('IN_EXACT')).status, 'active');
    assert.equal((await owner.secrets.list()).find((s) => s.key === 'IN_REVOKED')?.status, 'revoked');
  });

  it('cannot mint, list or revoke tokens; whoami says what it is', async () => {
    await refused(service.tokens.create({ app: 'web', env: 'prd' }), tokenForbidden);
    await refused(service.tokens.create({ app: 'api', env: 'dev' }), tokenForbidden);
    await refused(service.tokens.list(), tokenForbidden);
    await refused(service.tokens.revoke(token.slice(4, 28)), tokenForbidden);
    const me = await service.whoami();
    assert.equal(me.kind, 'service_token');
    assert.equal('role' in me, false);
    assert.equal((await service.secrets.fetch('IN_OPEN')).value, values.IN_OPEN, 'the token still works');
  });
});
