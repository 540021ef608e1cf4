/**
 * `secrets.import` over a real port (created / updated / refused per item, overwrite, item
 * validation, the batch limit), and an export -> import -> export round trip of awkward
 * values that must come back byte for byte.
 */
import type Ductape from '@ductape/sdk';
import type { CreateSecretInput, ImportResult } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { expectError } from '../helpers/usage.js';

/** Values that break careless escaping, encoding or truncation. */
const AWKWARD: Record<string, string> = {
  AWK_NEWLINES: 'line 1\nline 2\r\nline 3\rend\n',
  AWK_QUOTES: `"double" 'single' \`back\` “curly” «guillemets»`,
  AWK_BACKSLASH: 'C:\\path\\to\\file \\n is not a newline \\u0041 \\',
  AWK_DOLLAR: "$Secret{AWK_QUOTES} $Token{X} $ $$ $& $1 $' $`",
  AWK_UNICODE: 'Grüße, 秘密の値, café (e\u0301), Ελληνικά, עברית, ﷽',
  AWK_EMOJI: '🔑🚀 👩‍👩‍👧 🏳️‍🌈 🇫🇷',
  AWK_CONTROL: '\u0000nul\ttab\u0001\u001f\u007f\u2028\u2029',
  AWK_BOM_SPACES: '\uFEFF  leading and trailing  ',
  AWK_JSON: '{"a": [1, "two", null], "b": "\\"q\\""}',
  // exactly 65536 bytes of UTF-8, the largest value allowed
  AWK_64K_EMOJI: '🔑'.repeat(16384),
  AWK_64K_ESCAPES: '"\\\n'.repeat(21845) + 'x',
};

const statuses = (results: ImportResult[]): [string, string][] => results.map((r) => [r.key, r.status]);

describeEachBackend('import', (backend) => {
  let server: TestServer;
  let owner: Ductape;

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
  });
  after(() => server.stop());

  it('creates new keys and refuses existing ones without overwrite; updates them with it', async () => {
    await owner.secrets.create({ key: 'EXISTING', value: 'old-value', description: 'kept', envs: ['dev'] });
    const first = await owner.secrets.import({
      secrets: [
        { key: 'NEW_ONE', value: 'new-1', scope: ['web'] },
        { key: 'EXISTING', value: 'clobbered' },
      ],
    });
    assert.deepEqual(statuses(first.results), [
      ['NEW_ONE', 'created'],
      ['EXISTING', 'refused'],
    ]);
    assert.equal(first.results[1]?.code, 'SECRET_EXISTS');
    assert.match(first.results[1]?.message ?? '', /'EXISTING' already exists.*overwrite/);
    assert.equal((await owner.secrets.fetch('EXISTING')).value, 'old-value');
    assert.deepEqual((await owner.secrets.fetch('NEW_ONE')).scope, ['web']);

    const second = await owner.secrets.import({
      secrets: [
        { key: 'EXISTING', value: 'new-value', envs: ['prd'] },
        { key: 'NEW_TWO', value: 'new-2' },
      ],
      overwrite: true,
    });
    assert.deepEqual(statuses(second.results), [
      ['EXISTING', 'updated'],
      ['NEW_TWO', 'created'],
    ]);
    const updated = await owner.secrets.fetch('EXISTING');
    assert.equal(updated.value, 'new-value');
    assert.equal(updated.version, 2);
    assert.deepEqual(updated.envs, ['prd']);
    assert.equal(updated.description, 'kept', 'metadata not given is kept');
  });

  it('refuses invalid items with a message naming the field, and still creates the valid ones', async () => {
    const items = [
      { key: 'BATCH_OK_1', value: 'ok-1' },
      { key: 'bad key', value: 'x' },
      { key: 'BATCH_EMPTY', value: '' },
      42,
      { key: 'BATCH_EXTRA', value: 'x', colour: 'red' },
      { key: 'BATCH_SCOPE', value: 'x', scope: ['Web App'] },
      { value: 'no key' },
      { key: 'BATCH_OK_2', value: 'ok-2', envs: ['dev'] },
    ];
    const { results } = await owner.secrets.import({ secrets: items as CreateSecretInput[] });
    assert.deepEqual(statuses(results), [
      ['BATCH_OK_1', 'created'],
      ['bad key', 'refused'],
      ['BATCH_EMPTY', 'refused'],
      ['#3', 'refused'],
      ['BATCH_EXTRA', 'refused'],
      ['BATCH_SCOPE', 'refused'],
      ['#6', 'refused'],
      ['BATCH_OK_2', 'created'],
    ]);
    const messages = results.filter((r) => r.status === 'refused').map((r) => [r.code, r.message]);
    assert.deepEqual(
      messages.map(([code]) => code),
      Array(6).fill('VALIDATION_ERROR'),
    );
    const text = messages.map(([, m]) => m);
    assert.match(text[0] ?? '', /^key: /);
    assert.match(text[1] ?? '', /^value: must not be empty/);
    assert.match(text[2] ?? '', /secrets\[3\].*object/);
    assert.match(text[3] ?? '', /^colour: unknown field/);
    assert.match(text[4] ?? '', /^scope\[0\]: /);
    assert.match(text[5] ?? '', /^key: /);
    const keys = (await owner.secrets.list()).map((s) => s.key);
    assert.ok(keys.includes('BATCH_OK_1') && keys.includes('BATCH_OK_2'));
    assert.equal(keys.filter((k) => k.startsWith('BATCH_') && !k.startsWith('BATCH_OK')).length, 0);
  });

  it('500 items are accepted; 501 are a 400 and nothing is created', async () => {
    const batch = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ key: `${prefix}_${i}`, value: `v${i}` }));
    await expectError(owner.secrets.import({ secrets: batch(501, 'TOO_MANY') }), {
      status: 400,
      code: 'VALIDATION_ERROR',
      message: /^secrets: .*500/,
      field: 'secrets',
    });
    assert.equal((await owner.secrets.list()).filter((s) => s.key.startsWith('TOO_MANY')).length, 0);
    const { results } = await owner.secrets.import({ secrets: batch(500, 'FULL') });
    assert.equal(results.filter((r) => r.status === 'created').length, 500);
    await expectError(owner.secrets.import({ secrets: [] }), {
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'secrets',
    });
  });

  it('a viewer cannot import', async () => {
    const viewer = server.client(await server.newUser('viewer'));
    await expectError(viewer.secrets.import({ secrets: [{ key: 'BY_VIEWER', value: 'v' }] }), {
      status: 403,
      code: 'FORBIDDEN',
      message: /\bdeveloper\b/,
    });
    assert.equal(await owner.secrets.exists('BY_VIEWER'), false);
  });

  it('export -> import into another workspace -> export gives back awkward values exactly', async () => {
    const entries = Object.entries(AWKWARD);
    for (const [, value] of entries) assert.ok(Buffer.byteLength(value) <= 65536);
    assert.equal(Buffer.byteLength(AWKWARD.AWK_64K_EMOJI as string), 65536);
    const created = await owner.secrets.import({
      secrets: entries.map(([key, value]) => ({ key, value, scope: ['rt'], envs: ['prd'] })),
    });
    assert.ok(
      created.results.every((r) => r.status === 'created'),
      JSON.stringify(created.results),
    );

    const exported = await owner.secrets.export({ app: 'rt', env: 'prd', only: Object.keys(AWKWARD) });
    assert.deepEqual(Object.fromEntries(exported.secrets.map((s) => [s.key, s.value])), AWKWARD);

    const other = server.client(await server.newWorkspace('round trip'));
    const imported = await other.secrets.import({
      secrets: exported.secrets.map((s) => ({ ...s, envs: ['prd'] })),
    });
    assert.ok(imported.results.every((r) => r.status === 'created'));
    const again = await other.secrets.export({ env: 'prd' });
    assert.equal(again.secrets.length, entries.length);
    for (const { key, value } of again.secrets) {
      assert.ok(value === AWKWARD[key], `${key} changed on the way`);
      assert.equal((await other.secrets.fetch(key)).value, AWKWARD[key]);
    }
    // and resolved inside a longer string, each value lands verbatim
    for (const [key, value] of entries) {
      assert.equal(await other.secrets.resolve(`<$Secret{${key}}>`, { env: 'prd' }), `<${value}>`);
    }
    // overwriting with the same values changes nothing but the version
    const overwritten = await other.secrets.import({ secrets: exported.secrets, overwrite: true });
    assert.ok(overwritten.results.every((r) => r.status === 'updated'));
    assert.deepEqual(
      Object.fromEntries((await other.secrets.export({ env: 'prd' })).secrets.map((s) => [s.key, s.value])),
      AWKWARD,
    );
  });
});
