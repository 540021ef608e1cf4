/**
 * `secrets.resolve` over a real port through the SDK: every rule with its exact message, in
 * both orders of failure, empty scope/envs, missing app/env, deep JSON, both syntaxes,
 * malformed references, roles, and that no error ever carries a value.
 * Round trips and input bounds are in resolve-round-trip-and-bounds.test.ts.
 */
import type Ductape from '@ductape/sdk';
import type { UsageContext } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { seedRuleSecrets, type Seeded } from './rule-secrets.js';
import { expectError, type Expected } from '../helpers/usage.js';

const WEB_DEV: UsageContext = { app: 'web', env: 'dev' };

const notFound = (k: string): Expected => ({
  status: 404,
  code: 'SECRET_NOT_FOUND',
  message: `Secret '${k}' not found`,
});
const scope = (k: string, app: string): Expected => ({
  status: 403,
  code: 'SECRET_SCOPE_DENIED',
  message: `Secret '${k}' is not accessible by app '${app}'`,
});
const envDenied = (k: string, env: string): Expected => ({
  status: 403,
  code: 'SECRET_ENV_DENIED',
  message: `Secret '${k}' is not available in environment '${env}'`,
});
const revoked = (k: string): Expected => ({
  status: 410,
  code: 'SECRET_REVOKED',
  message: `Secret '${k}' has been revoked`,
});
const expired = (k: string): Expected => ({
  status: 410,
  code: 'SECRET_EXPIRED',
  message: `Secret '${k}' has expired`,
});

describeEachBackend('resolve: rules and messages', (backend) => {
  let server: TestServer;
  let dev: Ductape;
  let seeded: Seeded;
  let v: Seeded['values'];

  /** Expects resolving `input` for `ctx` to fail exactly so, with no value in the error. */
  const refused = (input: unknown, ctx: UsageContext, expected: Expected) =>
    expectError(dev.secrets.resolve(input, ctx), { ...expected, absent: seeded.all });

  before(async () => {
    server = await startTestServer({}, backend);
    seeded = await seedRuleSecrets(server.client(server.owner));
    v = seeded.values;
    dev = server.client(await server.newUser('developer'));
  });
  after(() => server.stop());

  it('a string that is exactly one reference becomes the value', async () => {
    assert.equal(await dev.secrets.resolve('$Secret{WEB_DEV}', WEB_DEV), v.WEB_DEV);
    assert.equal(await dev.secrets.resolve('$Secret{OPEN}', WEB_DEV), v.OPEN);
  });

  it('references inside longer strings, several per string, repeats, and both syntaxes', async () => {
    assert.equal(await dev.secrets.resolve('Bearer $Secret{OPEN}', WEB_DEV), `Bearer ${v.OPEN}`);
    assert.equal(
      await dev.secrets.resolve('$Secret{OPEN}:$Token{WEB_DEV}/$Secret{OPEN}$Token{OPEN}', WEB_DEV),
      `${v.OPEN}:${v.WEB_DEV}/${v.OPEN}${v.OPEN}`,
    );
    assert.equal(await dev.secrets.resolve('$Token{WEB_ANY}', { app: 'web' }), v.WEB_ANY);
    assert.equal(await dev.secrets.resolve('legacy $Token{OPEN} only'), `legacy ${v.OPEN} only`);
  });

  it('walks objects in arrays in objects; everything else comes back untouched', async () => {
    const input = {
      headers: {
        Authorization: 'Bearer $Secret{OPEN}',
        'X-Plain': 'no $ reference here',
        '$Secret{OPEN}': 'name',
      },
      body: [1, 2.5, true, false, null, { auth: ['$Token{WEB_DEV}', { deeper: 'k=$Secret{WEB_ANY};' }] }, ''],
      webhook: { signing: '$Secret{OPEN}', retries: 3 },
      nothing: null,
    };
    assert.deepEqual(await dev.secrets.resolve(input, WEB_DEV), {
      headers: {
        Authorization: `Bearer ${v.OPEN}`,
        'X-Plain': 'no $ reference here',
        '$Secret{OPEN}': 'name',
      },
      body: [1, 2.5, true, false, null, { auth: [v.WEB_DEV, { deeper: `k=${v.WEB_ANY};` }] }, ''],
      webhook: { signing: v.OPEN, retries: 3 },
      nothing: null,
    });
    for (const plain of [42, true, null, 'plain text', ['a', { b: 1 }], {}]) {
      assert.deepEqual(await dev.secrets.resolve(plain), plain);
    }
  });

  it('a value that looks like a reference is returned as is, never resolved again', async () => {
    assert.equal(await dev.secrets.resolve('$Secret{NESTED}'), '$Secret{OPEN}');
    assert.deepEqual(await dev.secrets.resolve(['$Secret{NESTED}', '$Secret{OPEN}']), [
      '$Secret{OPEN}',
      v.OPEN,
    ]);
  });

  it('each rule fails with its own status, code and message', async () => {
    await refused('$Secret{NOPE}', WEB_DEV, notFound('NOPE'));
    await refused('$Secret{WEB_DEV}', { app: 'api', env: 'dev' }, scope('WEB_DEV', 'api'));
    await refused('$Secret{WEB_DEV}', { app: 'web', env: 'prd' }, envDenied('WEB_DEV', 'prd'));
    await refused('$Secret{REVOKED}', WEB_DEV, revoked('REVOKED'));
    await refused('$Secret{EXPIRED}', WEB_DEV, expired('EXPIRED'));
  });

  it('keys are exact and case-sensitive', async () => {
    await refused('$Secret{open}', WEB_DEV, notFound('open'));
    await refused('$Secret{OPEN_}', WEB_DEV, notFound('OPEN_'));
  });

  it('two rules broken by one secret: the earlier rule decides', async () => {
    // scope before env
    await refused('$Secret{WEB_PRD}', { app: 'api', env: 'dev' }, scope('WEB_PRD', 'api'));
    // scope before revoked
    await refused('$Secret{REVOKED_WEB}', { app: 'api', env: 'dev' }, scope('REVOKED_WEB', 'api'));
    await refused('$Secret{REVOKED_WEB}', { app: 'web', env: 'dev' }, revoked('REVOKED_WEB'));
    // env before expired
    await refused('$Secret{EXPIRED_PRD}', WEB_DEV, envDenied('EXPIRED_PRD', 'dev'));
    await refused('$Secret{EXPIRED_PRD}', { app: 'web', env: 'prd' }, expired('EXPIRED_PRD'));
    // revoked before expired
    await refused('$Secret{REVOKED_EXPIRED}', WEB_DEV, revoked('REVOKED_EXPIRED'));
  });

  it('several failing references: the first one in the input decides, in either order', async () => {
    await refused('$Secret{WEB_DEV} $Secret{NOPE}', { app: 'web', env: 'prd' }, envDenied('WEB_DEV', 'prd'));
    await refused('$Secret{NOPE} $Secret{WEB_DEV}', { app: 'web', env: 'prd' }, notFound('NOPE'));
    await refused(['$Secret{EXPIRED}', { a: '$Secret{REVOKED}' }], WEB_DEV, expired('EXPIRED'));
    await refused([{ a: '$Secret{REVOKED}' }, '$Secret{EXPIRED}'], WEB_DEV, revoked('REVOKED'));
    // one failing reference among good ones fails the whole call
    await refused(
      { ok: '$Secret{OPEN}', also: '$Secret{WEB_DEV}', bad: '$Secret{REVOKED}' },
      WEB_DEV,
      revoked('REVOKED'),
    );
  });

  it('an empty scope means every app, empty envs every environment', async () => {
    for (const ctx of [{}, { app: 'any-app' }, { env: 'qa' }, { app: 'x', env: 'y.z' }]) {
      assert.equal(await dev.secrets.resolve('$Secret{OPEN}', ctx), v.OPEN);
    }
    for (const env of ['dev', 'prd', 'staging']) {
      assert.equal(await dev.secrets.resolve('$Secret{WEB_ANY}', { app: 'web', env }), v.WEB_ANY);
    }
    for (const app of ['web', 'api', 'billing']) {
      assert.equal(await dev.secrets.resolve('$Secret{ANY_PRD}', { app, env: 'prd' }), v.ANY_PRD);
    }
  });

  it('a restricted secret with no app or no env given is refused, not passed', async () => {
    const noApp = { status: 403, code: 'SECRET_SCOPE_DENIED', message: /'WEB_ANY'.*\bapp\b/, field: 'app' };
    await refused('$Secret{WEB_ANY}', {}, noApp);
    await refused('$Secret{WEB_ANY}', { env: 'dev' }, noApp);
    const noEnv = { status: 403, code: 'SECRET_ENV_DENIED', message: /'ANY_PRD'.*\benv/, field: 'env' };
    await refused('$Secret{ANY_PRD}', {}, noEnv);
    await refused('$Secret{ANY_PRD}', { app: 'web' }, noEnv);
    await refused('$Secret{WEB_DEV}', { env: 'dev' }, { ...noApp, message: /'WEB_DEV'.*\bapp\b/ });
    await refused('$Secret{WEB_DEV}', { app: 'web' }, { ...noEnv, message: /'WEB_DEV'.*\benv/ });
  });

  it('a malformed reference is a 400 naming its path and position, before any lookup', async () => {
    const malformed = (path: string, position: number, what: RegExp): Expected => ({
      status: 400,
      code: 'MALFORMED_REFERENCE',
      message: new RegExp(
        `^Malformed reference at ${path.replace(/[$[\]]/g, '\\$&')}, position ${position}: .*${what.source}`,
      ),
    });
    await refused('$Secret{}', WEB_DEV, malformed('$', 0, /empty/));
    await refused('x $Token{}', WEB_DEV, malformed('$', 2, /empty/));
    await refused('Bearer $Secret{OPEN', WEB_DEV, malformed('$', 7, /not closed/));
    await refused(
      { h: { auth: ['ok', 'key=$Secret{BAD KEY}'] } },
      WEB_DEV,
      malformed('$.h.auth[1]', 4, /" "/),
    );
    await refused(`$Secret{${'K'.repeat(129)}}`, WEB_DEV, malformed('$', 0, /128/));
    // malformed wins over a failing (or passing) reference elsewhere
    await refused(
      ['$Secret{REVOKED}', '$Secret{OPEN} $Secret{'],
      WEB_DEV,
      malformed('$[1]', 14, /not closed/),
    );
  });

  it('a viewer cannot resolve (403 naming developer); a developer and an admin can', async () => {
    const viewer = server.client(await server.newUser('viewer'));
    await expectError(viewer.secrets.resolve('$Secret{OPEN}'), {
      status: 403,
      code: 'FORBIDDEN',
      message: /\bdeveloper\b/,
      absent: seeded.all,
    });
    await expectError(viewer.secrets.resolve('no references at all'), { status: 403, code: 'FORBIDDEN' });
    const report = await viewer.secrets.validate('$Secret{OPEN}', WEB_DEV);
    assert.deepEqual([report.valid, report.references[0]?.resolvable], [true, true]);
    const admin = server.client(await server.newUser('admin'));
    assert.equal(await admin.secrets.resolve('$Secret{OPEN}'), v.OPEN);
  });
});
