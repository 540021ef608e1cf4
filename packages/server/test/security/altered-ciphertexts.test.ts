/**
 * Altered stored bytes, on each backend. The sealed value of a secret is changed directly in
 * the database (a flipped byte anywhere, truncated, swapped with another secret's, copied
 * from another workspace) and a workspace's data key row is replaced by one another master
 * key wrapped. Whatever touches an altered secret (fetch, an old version, rollback,
 * resolve, export) answers its integrity error, never garbage and never another secret's
 * value; every other secret, list and metadata go on working. A workspace whose data key
 * this server cannot open fails alone, with its own error. A damaged server key row stops
 * the server at start, saying so.
 */
import type { ErrorBody, SecretWithValue } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { keyId, toKeyObject, wrapDataKey } from '../../src/crypto/envelope.js';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, storeEnv, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, type RawResponse } from '../helpers/http.js';
import { openRawDb, type RawDb } from '../helpers/raw-db.js';
import { killAllServers, spawnServer } from '../helpers/server-process.js';

describeEachBackend('altered ciphertexts and foreign data keys', (backend) => {
  let store: Awaited<ReturnType<typeof storeEnv>>;
  let srv: TestServer;
  let db: RawDb;
  /** The owner of the workspace most cases use (a restarted test server makes another). */
  let owner: Credentials;
  /** Every value this suite wrote: none may ever show up in an error answer. */
  const written = new Set<string>();
  const tokens = new Map<Credentials, string>();

  async function call(who: Credentials, method: string, path: string, body?: unknown): Promise<RawResponse> {
    let token = tokens.get(who);
    if (token === undefined) {
      token = await accessToken(srv.url, who);
      tokens.set(who, token);
    }
    return rawRequest(srv.url, method, path, { token, ...(body === undefined ? {} : { body }) });
  }

  async function create(who: Credentials, key: string): Promise<string> {
    const value = `value-of-${key}-${randomBytes(8).toString('hex')}`;
    written.add(value);
    const answer = await call(who, 'POST', '/v1/secrets', { key, value });
    assert.equal(answer.status, 201, answer.text);
    return value;
  }

  async function assertValue(who: Credentials, key: string, value: string): Promise<void> {
    const answer = await call(who, 'GET', `/v1/secrets/${key}`);
    assert.equal(answer.status, 200, answer.text);
    assert.equal((answer.json as SecretWithValue).value, value);
  }

  /** The error answer, with no value this suite ever wrote in it. */
  function assertError(answer: RawResponse, code: string, mentions?: string): ErrorBody {
    const body = assertErrorBody(answer, 500, code);
    for (const value of written) assert.equal(answer.text.includes(value), false, 'a value leaked');
    if (mentions !== undefined) assert.ok(body.message.includes(`'${mentions}'`), body.message);
    return body;
  }

  const integrityError = (answer: RawResponse, key: string): ErrorBody =>
    assertError(answer, 'SECRET_INTEGRITY_ERROR', key);

  const sealedOf = async (workspaceId: string, key: string): Promise<Buffer> => {
    const [row] = await db.query<{ sealed: Buffer }>(
      'SELECT sealed FROM secrets WHERE workspace_id = ? AND key = ?',
      [workspaceId, key],
    );
    assert.ok(row, `no row for ${key}`);
    return Buffer.from(row.sealed);
  };
  const setSealed = (workspaceId: string, key: string, sealed: Buffer): Promise<unknown> =>
    db.query('UPDATE secrets SET sealed = ? WHERE workspace_id = ? AND key = ?', [sealed, workspaceId, key]);

  before(async () => {
    store = await storeEnv(backend);
    srv = await startTestServer(store.env, backend);
    owner = srv.owner;
    db = await openRawDb(backend, srv.env);
  });
  after(async () => {
    killAllServers();
    await db?.close();
    await srv?.stop();
    await store?.cleanup();
  });

  it('a flipped byte anywhere (format, data key version, nonce, ciphertext, tag): SECRET_INTEGRITY_ERROR for that secret alone', async () => {
    const ws = owner.workspace_id;
    const good = await create(owner, 'GOOD');
    const length = (await sealedOf(ws, 'GOOD')).length;
    // 0 format, 1-4 data key version (4: its low byte), 5 and 16 nonce, then the ciphertext, last the tag.
    for (const at of [0, 1, 4, 5, 16, 17, 25, length - 16, length - 1]) {
      const key = `FLIPPED_${at}`;
      await create(owner, key);
      const sealed = await sealedOf(ws, key);
      sealed[at] = (sealed[at] as number) ^ 0xff;
      await setSealed(ws, key, sealed);
      integrityError(await call(owner, 'GET', `/v1/secrets/${key}`), key);
      // The metadata does not need the value.
      assert.equal((await call(owner, 'GET', `/v1/secrets/${key}/metadata`)).status, 200);
    }
    await assertValue(owner, 'GOOD', good);
    const listed = await call(owner, 'GET', '/v1/secrets');
    assert.equal(listed.status, 200, listed.text);
  });

  it('truncated (empty, part of the header, no nonce, one byte short): SECRET_INTEGRITY_ERROR', async () => {
    const ws = owner.workspace_id;
    for (const keep of [0, 3, 5, 17, -1]) {
      const key = `TRUNCATED_${keep < 0 ? 'SHORT' : keep}`;
      await create(owner, key);
      const sealed = await sealedOf(ws, key);
      await setSealed(ws, key, sealed.subarray(0, keep < 0 ? sealed.length + keep : keep));
      integrityError(await call(owner, 'GET', `/v1/secrets/${key}`), key);
    }
  });

  it("two secrets' sealed values swapped: each reports the error, neither shows the other's value", async () => {
    const ws = owner.workspace_id;
    await create(owner, 'SWAP_A');
    await create(owner, 'SWAP_B');
    const [a, b] = [await sealedOf(ws, 'SWAP_A'), await sealedOf(ws, 'SWAP_B')];
    await setSealed(ws, 'SWAP_A', b);
    await setSealed(ws, 'SWAP_B', a);
    integrityError(await call(owner, 'GET', '/v1/secrets/SWAP_A'), 'SWAP_A');
    integrityError(await call(owner, 'GET', '/v1/secrets/SWAP_B'), 'SWAP_B');
  });

  it("another workspace's ciphertext copied in: the error, never that value; the other workspace still works", async () => {
    const other = await srv.newWorkspace('other');
    const theirs = await create(other, 'SAME_NAME');
    await create(owner, 'SAME_NAME');
    await setSealed(owner.workspace_id, 'SAME_NAME', await sealedOf(other.workspace_id, 'SAME_NAME'));
    integrityError(await call(owner, 'GET', '/v1/secrets/SAME_NAME'), 'SAME_NAME');
    await assertValue(other, 'SAME_NAME', theirs);
  });

  it('resolve and export touching an altered secret report the error; without it they work', async () => {
    const good = await create(owner, 'USED_GOOD');
    const resolve = (input: unknown): Promise<RawResponse> => call(owner, 'POST', '/v1/resolve', { input });
    integrityError(await resolve({ a: '$Secret{USED_GOOD}', b: '$Secret{SWAP_A}' }), 'SWAP_A');
    const resolved = await resolve({ a: '$Secret{USED_GOOD}' });
    assert.equal(resolved.status, 200, resolved.text);
    assert.deepEqual(resolved.json, { output: { a: good } });
    // validate never opens a value.
    const validated = await call(owner, 'POST', '/v1/validate', { input: '$Secret{SWAP_A}' });
    assert.equal((validated.json as { valid: boolean }).valid, true, validated.text);

    assertError(await call(owner, 'GET', '/v1/export'), 'SECRET_INTEGRITY_ERROR');
    integrityError(await call(owner, 'GET', '/v1/export?only=USED_GOOD,FLIPPED_0'), 'FLIPPED_0');
    const exported = await call(owner, 'GET', '/v1/export?only=USED_GOOD');
    assert.equal(exported.status, 200, exported.text);
    assert.deepEqual((exported.json as { secrets: unknown[] }).secrets, [{ key: 'USED_GOOD', value: good }]);
  });

  it('an altered old version: fetching it and rolling back to it report the error; nothing is written', async () => {
    await create(owner, 'HISTORY');
    const second = `second-${randomBytes(8).toString('hex')}`;
    written.add(second);
    assert.equal((await call(owner, 'PATCH', '/v1/secrets/HISTORY', { value: second })).status, 200);
    const [meta] = await db.query<{ id: string }>(
      'SELECT id FROM secrets WHERE workspace_id = ? AND key = ?',
      [owner.workspace_id, 'HISTORY'],
    );
    const [v1] = await db.query<{ sealed: Buffer }>(
      'SELECT sealed FROM secret_versions WHERE secret_id = ? AND version = 1',
      [meta?.id],
    );
    const altered = Buffer.from(v1?.sealed ?? []);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 0x01;
    await db.query('UPDATE secret_versions SET sealed = ? WHERE secret_id = ? AND version = 1', [
      altered,
      meta?.id,
    ]);

    integrityError(await call(owner, 'GET', '/v1/secrets/HISTORY?version=1'), 'HISTORY');
    integrityError(await call(owner, 'POST', '/v1/secrets/HISTORY/rollback', { version: 1 }), 'HISTORY');
    const current = await call(owner, 'GET', '/v1/secrets/HISTORY');
    assert.equal((current.json as SecretWithValue).version, 2);
    assert.equal((current.json as SecretWithValue).value, second);
  });

  it('a workspace data key another master key wrapped, or altered: only that workspace fails, with WORKSPACE_KEY_ERROR', async () => {
    const foreign = await srv.newWorkspace('foreign key');
    const damaged = await srv.newWorkspace('damaged key');
    await create(foreign, 'FOREIGN_SECRET');
    await create(damaged, 'DAMAGED_SECRET');
    const good = await create(owner, 'STILL_GOOD');

    // A row from another deployment: the same workspace and version, wrapped by another master key.
    const otherMaster = randomBytes(32);
    const wrapped = wrapDataKey(toKeyObject(otherMaster), foreign.workspace_id, 1, randomBytes(32));
    await db.query('UPDATE workspace_keys SET kek_id = ?, wrapped = ? WHERE workspace_id = ?', [
      keyId(otherMaster),
      wrapped,
      foreign.workspace_id,
    ]);
    // The right master key's id, but the wrapped key altered.
    const [row] = await db.query<{ wrapped: Buffer }>(
      'SELECT wrapped FROM workspace_keys WHERE workspace_id = ?',
      [damaged.workspace_id],
    );
    const altered = Buffer.from(row?.wrapped ?? []);
    altered[20] = (altered[20] as number) ^ 0xff;
    await db.query('UPDATE workspace_keys SET wrapped = ? WHERE workspace_id = ?', [
      altered,
      damaged.workspace_id,
    ]);

    // A new server process: nothing cached from before (as on another node, or after a restart).
    await srv.server.close();
    srv = await startTestServer(store.env, backend);

    for (const [who, key] of [
      [foreign, 'FOREIGN_SECRET'],
      [damaged, 'DAMAGED_SECRET'],
    ] as const) {
      const body = assertError(await call(who, 'GET', `/v1/secrets/${key}`), 'WORKSPACE_KEY_ERROR');
      assert.match(body.message, /this workspace's data key cannot be opened with this server's master key/i);
      assertError(
        await call(who, 'POST', '/v1/secrets', { key: 'NEW', value: 'never-stored' }),
        'WORKSPACE_KEY_ERROR',
      );
      assertError(
        await call(who, 'PATCH', `/v1/secrets/${key}`, { value: 'never-stored' }),
        'WORKSPACE_KEY_ERROR',
      );
      assertError(
        await call(who, 'POST', '/v1/resolve', { input: `$Secret{${key}}` }),
        'WORKSPACE_KEY_ERROR',
      );
      // Metadata needs no key: the list still shows what is there, and nothing was added.
      const listed = await call(who, 'GET', '/v1/secrets');
      assert.deepEqual(
        (listed.json as { secrets: { key: string; version: number }[] }).secrets.map((s) => [
          s.key,
          s.version,
        ]),
        [[key, 1]],
      );
    }
    await assertValue(owner, 'STILL_GOOD', good);
  });

  it("a damaged server key row (the master key's id matches): the server refuses to start, saying so", async () => {
    const [row] = await db.query<{ wrapped: Buffer }>('SELECT wrapped FROM server_keys');
    const altered = Buffer.from(row?.wrapped ?? []);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 0x01;
    await db.query('UPDATE server_keys SET wrapped = ?', [altered]);
    const node = spawnServer({ ...srv.env, LOG_LEVEL: 'info' }, 0);
    assert.equal((await node.exited).code, 1, node.output());
    assert.match(node.output(), /could not start: the master key does not open this database's keys/);
  });
});
