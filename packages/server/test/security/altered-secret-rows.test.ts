/**
 * Rows changed behind the server's back, on each backend (issue #13, item 8). Whoever can
 * write the database swaps two rows' keys and scopes, so that a development token's key
 * names the production row; or widens a scope, un-revokes, un-expires, or replays an older
 * value under its old version number. Every read of such a row's value (fetch, fetch of a
 * version, rollback, update, resolve, export, `ductape run`) is refused with the integrity
 * error naming the key, and no value of it ever shows in an answer. Putting the row back as
 * it was makes it readable again: the MAC is about the row's content, nothing else.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { runCli, startTestServer, storeEnv, tempDir, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, type RawResponse } from '../helpers/http.js';
import { openRawDb, type RawDb } from '../helpers/raw-db.js';

interface RawRow {
  id: string;
  key: string;
  scope: unknown;
  envs: unknown;
  expires_at: number | null;
  revoked_at: number | null;
  version: number;
  sealed: Buffer;
  mac: Buffer | null;
}

describeEachBackend('secret rows altered in the database', (backend) => {
  let store: Awaited<ReturnType<typeof storeEnv>>;
  let srv: TestServer;
  let db: RawDb;
  let owner: string;
  /** Every value this suite wrote: none of a tampered row may show up in an answer. */
  const values = new Map<string, string>();

  const ws = (): string => srv.owner.workspace_id;
  const call = (token: string, method: string, path: string, body?: unknown): Promise<RawResponse> =>
    rawRequest(srv.url, method, path, { token, ...(body === undefined ? {} : { body }) });

  async function create(key: string, fields: Record<string, unknown> = {}): Promise<string> {
    const value = `value-of-${key}-${randomBytes(8).toString('hex')}`;
    values.set(key, value);
    const answer = await call(owner, 'POST', '/v1/secrets', { key, value, ...fields });
    assert.equal(answer.status, 201, answer.text);
    return value;
  }

  async function serviceToken(app: string, env: string): Promise<string> {
    const answer = await call(owner, 'POST', '/v1/tokens', { app, env });
    assert.equal(answer.status, 201, answer.text);
    return (answer.json as { token: string }).token;
  }

  const rowOf = async (key: string): Promise<RawRow> => {
    const [row] = await db.query<RawRow>('SELECT * FROM secrets WHERE workspace_id = ? AND key = ?', [
      ws(),
      key,
    ]);
    assert.ok(row, `no row for ${key}`);
    return row;
  };
  const setColumns = (id: string, columns: Record<string, unknown>): Promise<unknown> =>
    db.query(
      `UPDATE secrets SET ${Object.keys(columns)
        .map((c) => `${c} = ?`)
        .join(', ')} WHERE id = ?`,
      [...Object.values(columns), id],
    );

  /** The integrity error naming `key`, with no value of any secret in it. */
  function assertIntegrity(answer: RawResponse, key: string): void {
    const body = assertErrorBody(answer, 500, 'SECRET_INTEGRITY_ERROR');
    assert.ok(body.message.includes(`'${key}'`), body.message);
    for (const value of values.values()) assert.equal(answer.text.includes(value), false, 'a value leaked');
  }

  before(async () => {
    store = await storeEnv(backend);
    srv = await startTestServer(store.env, backend);
    db = await openRawDb(backend, srv.env);
    owner = await accessToken(srv.url, srv.owner);
  });
  after(async () => {
    await db?.close();
    await srv?.stop();
  });

  it("keys and scopes of a development and a production row swapped: a web/dev token's fetch, export, resolve and run are refused", async () => {
    const devValue = await create('DB_PASSWORD', { scope: ['web'], envs: ['dev'] });
    await create('PROD_DB_PASSWORD', { scope: ['web'], envs: ['prd'] });
    const token = await serviceToken('web', 'dev');
    const ok = await call(token, 'GET', '/v1/secrets/DB_PASSWORD');
    assert.equal((ok.json as { value: string }).value, devValue, ok.text);

    const [dev, prod] = [await rowOf('DB_PASSWORD'), await rowOf('PROD_DB_PASSWORD')];
    await setColumns(dev.id, { key: 'SWAPPING' });
    await setColumns(prod.id, { key: dev.key, scope: dev.scope, envs: dev.envs });
    await setColumns(dev.id, { key: prod.key, scope: prod.scope, envs: prod.envs });

    // The production row now answers to the development key, in the development scope.
    assertIntegrity(await call(token, 'GET', '/v1/secrets/DB_PASSWORD'), 'DB_PASSWORD');
    assertIntegrity(await call(token, 'GET', '/v1/export'), 'DB_PASSWORD');
    assertIntegrity(await call(token, 'GET', '/v1/export?only=DB_PASSWORD'), 'DB_PASSWORD');
    assertIntegrity(
      await call(token, 'POST', '/v1/resolve', { input: { db: '$Secret{DB_PASSWORD}' } }),
      'DB_PASSWORD',
    );
    assertIntegrity(await call(owner, 'GET', '/v1/secrets/PROD_DB_PASSWORD'), 'PROD_DB_PASSWORD');

    const run = await runCli(
      ['run', '--', 'node', '-e', 'process.stdout.write(process.env.DB_PASSWORD ?? "")'],
      {
        env: { DUCTAPE_URL: srv.url, DUCTAPE_TOKEN: token, HOME: tempDir() },
      },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /Secret 'DB_PASSWORD' failed its integrity check/);
    for (const value of values.values()) {
      assert.equal(run.stdout.includes(value) || run.stderr.includes(value), false, 'a value leaked');
    }

    // Swapped back, both rows are what the server wrote: readable again.
    await setColumns(prod.id, { key: 'SWAPPING' });
    await setColumns(dev.id, { key: dev.key, scope: dev.scope, envs: dev.envs });
    await setColumns(prod.id, { key: prod.key, scope: prod.scope, envs: prod.envs });
    const back = await call(token, 'GET', '/v1/secrets/DB_PASSWORD');
    assert.equal((back.json as { value: string }).value, devValue, back.text);
  });

  it('a widened scope or environment list, an un-revoke, a new expiry, a new key: every read is refused', async () => {
    const empty = backend === 'sqlite' ? '[]' : [];
    const token = await serviceToken('api', 'prd');
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['SCOPED', { scope: ['web'] }, { scope: empty }],
      ['ENVS', { envs: ['dev'] }, { envs: empty }],
      ['EXPIRY', { expires_at: Math.floor(Date.now() / 1000) + 3600 }, { expires_at: 4102444800 }],
      ['NO_EXPIRY', { expires_at: Math.floor(Date.now() / 1000) + 3600 }, { expires_at: null }],
      ['RENAMED', {}, { key: 'RENAMED_BEHIND' }],
    ];
    for (const [key, fields, tampered] of cases) {
      await create(key, fields);
      await setColumns((await rowOf(key)).id, tampered);
      const named = (tampered.key as string | undefined) ?? key;
      assertIntegrity(await call(owner, 'GET', `/v1/secrets/${named}`), named);
      if (key === 'SCOPED' || key === 'ENVS') {
        // What the attack is for: a token of another app or environment now in scope.
        assertIntegrity(await call(token, 'GET', `/v1/secrets/${key}`), key);
        assertIntegrity(await call(token, 'GET', '/v1/export'), key);
      }
    }

    await create('REVOKED');
    assert.equal((await call(owner, 'POST', '/v1/secrets/REVOKED/revoke')).status, 200);
    await setColumns((await rowOf('REVOKED')).id, { revoked_at: null });
    assertIntegrity(await call(owner, 'GET', '/v1/secrets/REVOKED'), 'REVOKED');
    assertIntegrity(await call(owner, 'POST', '/v1/resolve', { input: '$Secret{REVOKED}' }), 'REVOKED');
  });

  it('an older value replayed under its old version number: fetch, versions, rollback and update refused, nothing written', async () => {
    await create('REPLAYED');
    const newest = `newest-${randomBytes(8).toString('hex')}`;
    values.set('REPLAYED@2', newest);
    assert.equal((await call(owner, 'PATCH', '/v1/secrets/REPLAYED', { value: newest })).status, 200);
    const row = await rowOf('REPLAYED');
    const [first] = await db.query<{ sealed: Buffer }>(
      'SELECT sealed FROM secret_versions WHERE secret_id = ? AND version = 1',
      [row.id],
    );
    // Version 1's ciphertext opens under version number 1: only the row MAC can tell.
    await setColumns(row.id, { version: 1, sealed: first?.sealed });
    assertIntegrity(await call(owner, 'GET', '/v1/secrets/REPLAYED'), 'REPLAYED');
    assertIntegrity(await call(owner, 'GET', '/v1/secrets/REPLAYED?version=2'), 'REPLAYED');
    assertIntegrity(await call(owner, 'POST', '/v1/secrets/REPLAYED/rollback', { version: 2 }), 'REPLAYED');
    assertIntegrity(await call(owner, 'PATCH', '/v1/secrets/REPLAYED', { description: 'x' }), 'REPLAYED');
    assertIntegrity(await call(owner, 'PATCH', '/v1/secrets/REPLAYED', { value: 'overwrite' }), 'REPLAYED');
    assertIntegrity(await call(owner, 'POST', '/v1/secrets/REPLAYED/restore'), 'REPLAYED');
    const after = await rowOf('REPLAYED');
    assert.equal(after.version, 1, 'nothing was written over the altered row');
    assert.deepEqual(after.mac, row.mac);
  });

  it("a missing MAC, or another row's, is refused; the row's own MAC put back makes it readable", async () => {
    const value = await create('MAC_GONE');
    await create('MAC_DONOR');
    const row = await rowOf('MAC_GONE');
    await setColumns(row.id, { mac: null });
    assertIntegrity(await call(owner, 'GET', '/v1/secrets/MAC_GONE'), 'MAC_GONE');
    await setColumns(row.id, { mac: (await rowOf('MAC_DONOR')).mac });
    assertIntegrity(await call(owner, 'GET', '/v1/secrets/MAC_GONE'), 'MAC_GONE');
    await setColumns(row.id, { mac: row.mac });
    const back = await call(owner, 'GET', '/v1/secrets/MAC_GONE');
    assert.equal((back.json as { value: string }).value, value, back.text);
  });

  it('rows the server changes keep verifying: update, revoke, restore, rollback, import overwrite', async () => {
    const first = await create('CHANGED');
    for (const [method, path, body] of [
      ['PATCH', '/v1/secrets/CHANGED', { scope: ['web'], envs: ['dev', 'prd'], description: 'd' }],
      ['POST', '/v1/secrets/CHANGED/revoke', undefined],
      ['POST', '/v1/secrets/CHANGED/restore', undefined],
      ['PATCH', '/v1/secrets/CHANGED', { value: 'second value' }],
      ['POST', '/v1/secrets/CHANGED/rollback', { version: 1 }],
      [
        'POST',
        '/v1/secrets/import',
        { secrets: [{ key: 'CHANGED', value: first, expires_at: 4102444800 }], overwrite: true },
      ],
    ] as const) {
      const answer = await call(owner, method, path, body);
      assert.equal(answer.status < 300, true, `${method} ${path}: ${answer.text}`);
    }
    const read = await call(owner, 'GET', '/v1/secrets/CHANGED');
    assert.equal(read.status, 200, read.text);
    assert.equal((read.json as { value: string }).value, first);
  });
});
