/**
 * `secrets.validate` over a real port: every reference with whether it would resolve and the
 * rule's code and message when not, every malformed reference, and never a value, for
 * any role that can list (a viewer too).
 */
import type Ductape from '@ductape/sdk';
import type { ReferenceReport, ValidateResponse } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { seedRuleSecrets, type Seeded } from './rule-secrets.js';
import { assertAbsent } from '../helpers/usage.js';

const ok = (
  key: string,
  path: string,
  position: number,
  syntax: 'Secret' | 'Token' = 'Secret',
): ReferenceReport => ({
  key,
  syntax,
  path,
  position,
  resolvable: true,
});
const no = (
  key: string,
  path: string,
  position: number,
  code: ReferenceReport['code'],
  message: string,
  syntax: 'Secret' | 'Token' = 'Secret',
): ReferenceReport => ({ key, syntax, path, position, resolvable: false, code, message });

describeEachBackend('validate', (backend) => {
  let server: TestServer;
  let seeded: Seeded;
  let viewer: Ductape;
  let dev: Ductape;

  /** Validates, and checks that the answer holds no value whatever it says. */
  async function validate(client: Ductape, input: unknown, ctx = {}): Promise<ValidateResponse> {
    const report = await client.secrets.validate(input, ctx);
    assertAbsent(JSON.stringify(report), seeded.all, 'a validate report');
    return report;
  }

  before(async () => {
    server = await startTestServer({}, backend);
    seeded = await seedRuleSecrets(server.client(server.owner));
    viewer = server.client(await server.newUser('viewer'));
    dev = server.client(await server.newUser('developer'));
  });
  after(() => server.stop());

  it('reports each reference: resolvable, or the code and message of the first rule it breaks', async () => {
    const input = {
      url: 'https://x/$Secret{OPEN}?k=$Token{WEB_DEV}',
      list: ['$Secret{REVOKED}', { inner: 'a $Secret{EXPIRED} b $Secret{NOPE}' }],
      both: '$Secret{WEB_PRD}',
      pair: '$Secret{REVOKED_EXPIRED}$Secret{EXPIRED_PRD}',
      bad: 'x $Secret{} $Token{OPEN',
    };
    const report = await validate(viewer, input, { app: 'web', env: 'dev' });
    assert.equal(report.valid, false);
    assert.deepEqual(report.references, [
      ok('OPEN', '$.url', 10),
      ok('WEB_DEV', '$.url', 26, 'Token'),
      no('REVOKED', '$.list[0]', 0, 'SECRET_REVOKED', "Secret 'REVOKED' has been revoked"),
      no('EXPIRED', '$.list[1].inner', 2, 'SECRET_EXPIRED', "Secret 'EXPIRED' has expired"),
      no('NOPE', '$.list[1].inner', 21, 'SECRET_NOT_FOUND', "Secret 'NOPE' not found"),
      no(
        'WEB_PRD',
        '$.both',
        0,
        'SECRET_ENV_DENIED',
        "Secret 'WEB_PRD' is not available in environment 'dev'",
      ),
      no('REVOKED_EXPIRED', '$.pair', 0, 'SECRET_REVOKED', "Secret 'REVOKED_EXPIRED' has been revoked"),
      no(
        'EXPIRED_PRD',
        '$.pair',
        24,
        'SECRET_ENV_DENIED',
        "Secret 'EXPIRED_PRD' is not available in environment 'dev'",
      ),
    ]);
    assert.deepEqual(
      report.malformed.map((m) => [m.path, m.position]),
      [
        ['$.bad', 2],
        ['$.bad', 12],
      ],
    );
    assert.match(report.malformed[0]?.message ?? '', /empty/);
    assert.match(report.malformed[1]?.message ?? '', /not closed/);
  });

  it('the same input for another app: scope is reported before env', async () => {
    const report = await validate(viewer, ['$Secret{WEB_PRD}', '$Secret{REVOKED_WEB}', '$Secret{OPEN}'], {
      app: 'api',
      env: 'dev',
    });
    assert.deepEqual(report.references, [
      no('WEB_PRD', '$[0]', 0, 'SECRET_SCOPE_DENIED', "Secret 'WEB_PRD' is not accessible by app 'api'"),
      no(
        'REVOKED_WEB',
        '$[1]',
        0,
        'SECRET_SCOPE_DENIED',
        "Secret 'REVOKED_WEB' is not accessible by app 'api'",
      ),
      ok('OPEN', '$[2]', 0),
    ]);
    assert.equal(report.valid, false);
  });

  it('valid is true only when every reference resolves and none is malformed', async () => {
    const good = await validate(
      dev,
      { a: '$Secret{WEB_DEV}', b: ['$Token{ANY_PRD}'] },
      { app: 'web', env: 'prd' },
    );
    assert.equal(good.references.length, 2);
    assert.equal(good.references[0]?.resolvable, false);
    const all = await validate(
      dev,
      { a: '$Secret{WEB_ANY}', b: ['$Token{OPEN}', '$Secret{NESTED}'] },
      { app: 'web' },
    );
    assert.deepEqual(all, {
      valid: true,
      references: [ok('WEB_ANY', '$.a', 0), ok('OPEN', '$.b[0]', 0, 'Token'), ok('NESTED', '$.b[1]', 0)],
      malformed: [],
      malformed_total: 0,
    });
    assert.deepEqual(await validate(dev, { n: 1, s: 'no refs, $5' }), {
      valid: true,
      references: [],
      malformed: [],
      malformed_total: 0,
    });
    const onlyMalformed = await validate(dev, '$Secret{OPEN} $Secret{}');
    assert.equal(onlyMalformed.valid, false);
    assert.deepEqual(onlyMalformed.references, [ok('OPEN', '$', 0)]);
    assert.equal(onlyMalformed.malformed.length, 1);
    assert.equal(onlyMalformed.malformed_total, 1);
  });

  it('lists the first 100 malformed references and counts them all', async () => {
    const report = await validate(dev, '$Secret{} '.repeat(250));
    assert.equal(report.valid, false);
    assert.equal(report.malformed.length, 100);
    assert.equal(report.malformed_total, 250);
    assert.equal(report.malformed[99]?.position, 99 * 10);
  });

  it('without app or env, restricted secrets are reported as refused, unrestricted ones pass', async () => {
    const report = await validate(viewer, ['$Secret{OPEN}', '$Secret{WEB_ANY}', '$Secret{ANY_PRD}']);
    assert.equal(report.valid, false);
    const [open, webAny, anyPrd] = report.references;
    assert.equal(open?.resolvable, true);
    assert.equal(webAny?.code, 'SECRET_SCOPE_DENIED');
    assert.match(webAny?.message ?? '', /'WEB_ANY'.*\bapp\b/);
    assert.equal(anyPrd?.code, 'SECRET_ENV_DENIED');
    assert.match(anyPrd?.message ?? '', /'ANY_PRD'.*\benv/);
  });

  it('never carries a value, even when everything resolves and for every secret at once', async () => {
    const every = Object.keys(seeded.values).map((k) => `$Secret{${k}}`);
    for (const client of [viewer, dev]) {
      for (const ctx of [{}, { app: 'web', env: 'dev' }, { app: 'web', env: 'prd' }]) {
        const report = await validate(client, { every, joined: every.join('|') }, ctx);
        assert.equal(report.references.length, every.length * 2);
        assert.equal('output' in report, false);
      }
    }
  });
});
