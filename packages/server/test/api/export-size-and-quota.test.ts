/**
 * Bounds on what a workspace costs the server, on each backend (issue #13, item 5): an
 * export may carry at most DUCTAPE_EXPORT_MAX_BYTES of keys and values (413
 * EXPORT_TOO_LARGE, refused before any value is read, so no read is recorded), and a
 * workspace may hold at most DUCTAPE_WORKSPACE_QUOTA_BYTES of values, every recorded version
 * included (409 WORKSPACE_QUOTA_EXCEEDED on create, update, import and rollback; deleting
 * frees room). The byte count the quota reads is kept exact through inserts, new versions,
 * pruning (also at start, when fewer versions are to be kept) and deletes. How much memory an
 * export costs the server is measured by bench/export-memory.mjs, not asserted here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, storeEnv, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, type RawResponse } from '../helpers/http.js';
import { openRawDb, type RawDb } from '../helpers/raw-db.js';

const EXPORT_MAX = 65_536;
const QUOTA = 262_144;

/** A value of exactly `bytes` bytes, unlike any other. */
const valueOf = (bytes: number): string =>
  randomBytes(Math.ceil(bytes / 2))
    .toString('hex')
    .slice(0, bytes);

describeEachBackend('export size and storage quota', (backend) => {
  let store: Awaited<ReturnType<typeof storeEnv>>;
  let srv: TestServer;
  let db: RawDb;
  const tokens = new Map<string, string>();
  const values = new Set<string>();

  async function call(who: Credentials, method: string, path: string, body?: unknown): Promise<RawResponse> {
    let token = tokens.get(who.user_id);
    if (token === undefined) {
      token = await accessToken(srv.url, who);
      tokens.set(who.user_id, token);
    }
    return rawRequest(srv.url, method, path, { token, ...(body === undefined ? {} : { body }) });
  }

  async function create(who: Credentials, key: string, bytes: number, fields = {}): Promise<RawResponse> {
    const value = valueOf(bytes);
    values.add(value);
    return call(who, 'POST', '/v1/secrets', { key, value, ...fields });
  }

  function refusedWith(
    answer: RawResponse,
    status: number,
    code: string,
    limit: string,
    bytes: number,
  ): void {
    const body = assertErrorBody(answer, status, code);
    assert.ok(body.message.includes(limit) && body.message.includes(String(bytes)), body.message);
    for (const value of values) assert.equal(answer.text.includes(value), false, 'a value leaked');
  }

  /** What the workspace's counter says, and what its recorded versions really weigh. */
  async function usage(workspaceId: string): Promise<{ counted: number; actual: number }> {
    const [counted] = await db.query<{ value_bytes: number | string }>(
      'SELECT value_bytes FROM workspace_usage WHERE workspace_id = ?',
      [workspaceId],
    );
    const [actual] = await db.query<{ n: number | string | null }>(
      `SELECT SUM(length(v.sealed) - 33) AS n FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
       WHERE s.workspace_id = ?`,
      [workspaceId],
    );
    return { counted: Number(counted?.value_bytes ?? 0), actual: Number(actual?.n ?? 0) };
  }

  before(async () => {
    store = await storeEnv(backend, {
      DUCTAPE_EXPORT_MAX_BYTES: String(EXPORT_MAX),
      DUCTAPE_WORKSPACE_QUOTA_BYTES: String(QUOTA),
      DUCTAPE_KEEP_VERSIONS: '3',
    });
    srv = await startTestServer(store.env, backend);
    db = await openRawDb(backend, srv.env);
  });
  after(async () => {
    await db?.close();
    await srv?.stop();
  });

  it('an export over DUCTAPE_EXPORT_MAX_BYTES is refused with 413 naming the limit, and no read is recorded', async () => {
    const owner = await srv.newWorkspace('big export');
    for (const key of ['BIG_1', 'BIG_2', 'BIG_3'])
      assert.equal((await create(owner, key, 30_000)).status, 201);
    refusedWith(
      await call(owner, 'GET', '/v1/export'),
      413,
      'EXPORT_TOO_LARGE',
      'DUCTAPE_EXPORT_MAX_BYTES',
      EXPORT_MAX,
    );
    refusedWith(
      await call(owner, 'GET', '/v1/export?only=BIG_1,BIG_2,BIG_3&app=api'),
      413,
      'EXPORT_TOO_LARGE',
      'DUCTAPE_EXPORT_MAX_BYTES',
      EXPORT_MAX,
    );
    const token = await call(owner, 'POST', '/v1/tokens', { app: 'api', env: 'prd' });
    const tokenAnswer = await rawRequest(srv.url, 'GET', '/v1/export', {
      token: (token.json as { token: string }).token,
    });
    refusedWith(tokenAnswer, 413, 'EXPORT_TOO_LARGE', 'DUCTAPE_EXPORT_MAX_BYTES', EXPORT_MAX);

    const audit = await call(owner, 'GET', '/v1/audit?action=secret.export');
    const entries = (audit.json as { entries: { outcome: string; code: string | null }[] }).entries;
    assert.deepEqual(
      entries.map((e) => [e.outcome, e.code]),
      [
        ['refused', 'EXPORT_TOO_LARGE'],
        ['refused', 'EXPORT_TOO_LARGE'],
        ['refused', 'EXPORT_TOO_LARGE'],
      ],
      'refusals only: no value was read',
    );

    // Within the limit: as before, every value, each read on record.
    const two = await call(owner, 'GET', '/v1/export?only=BIG_1,BIG_2');
    assert.equal(two.status, 200, two.text.slice(0, 300));
    assert.equal((two.json as { secrets: unknown[] }).secrets.length, 2);
    const narrowed = await call(owner, 'PATCH', '/v1/secrets/BIG_3', { scope: ['api'] });
    assert.equal(narrowed.status, 200, narrowed.text);
    const web = await call(owner, 'GET', '/v1/export?app=web');
    assert.equal(web.status, 200, web.text.slice(0, 300));
    assert.deepEqual(
      (web.json as { secrets: { key: string }[] }).secrets.map((s) => s.key),
      ['BIG_1', 'BIG_2'],
    );
    // A revoked secret is skipped: its value does not count.
    assert.equal((await call(owner, 'POST', '/v1/secrets/BIG_1/revoke')).status, 200);
    const skipped = await call(owner, 'GET', '/v1/export?app=api');
    assert.equal(skipped.status, 200, skipped.text.slice(0, 300));
    assert.deepEqual(
      (skipped.json as { skipped: { key: string }[] }).skipped.map((s) => s.key),
      ['BIG_1'],
    );
  });

  it('create, update, import and rollback past DUCTAPE_WORKSPACE_QUOTA_BYTES are refused with 409; deleting frees room', async () => {
    const owner = await srv.newWorkspace('quota');
    assert.equal((await create(owner, 'ROLL', 20_000)).status, 201);
    assert.equal((await call(owner, 'PATCH', '/v1/secrets/ROLL', { value: valueOf(20_000) })).status, 200);
    for (const key of ['Q1', 'Q2', 'Q3']) assert.equal((await create(owner, key, 60_000)).status, 201);
    assert.equal((await call(owner, 'POST', '/v1/secrets/ROLL/rollback', { version: 1 })).status, 200);
    assert.equal((await create(owner, 'Q4', 20_000)).status, 201);
    const refuse = (answer: RawResponse): void =>
      refusedWith(answer, 409, 'WORKSPACE_QUOTA_EXCEEDED', 'DUCTAPE_WORKSPACE_QUOTA_BYTES', QUOTA);
    refuse(await create(owner, 'Q5', 60_000));
    assert.equal((await call(owner, 'GET', '/v1/secrets/Q5')).status, 404, 'nothing was created');
    const full = 260_000;
    assert.deepEqual(await usage(owner.workspace_id), { counted: full, actual: full });
    refuse(await call(owner, 'PATCH', '/v1/secrets/Q1', { value: valueOf(30_000) }));
    // A metadata change records the value again as a new version: it needs room too.
    refuse(await call(owner, 'PATCH', '/v1/secrets/Q1', { description: 'more' }));
    refuse(await call(owner, 'POST', '/v1/secrets/ROLL/rollback', { version: 2 }));
    const imported = await call(owner, 'POST', '/v1/secrets/import', {
      secrets: [
        { key: 'TINY', value: 'fits' },
        { key: 'HUGE', value: valueOf(10_000) },
      ],
    });
    assert.deepEqual(
      (imported.json as { results: { key: string; status: string; code?: string }[] }).results.map((r) => [
        r.key,
        r.status,
        r.code,
      ]),
      [
        ['TINY', 'created', undefined],
        ['HUGE', 'refused', 'WORKSPACE_QUOTA_EXCEEDED'],
      ],
    );
    // What adds nothing still works at the quota: revoke and restore; another workspace is unaffected.
    assert.equal((await call(owner, 'POST', '/v1/secrets/Q2/revoke')).status, 200);
    assert.equal((await call(owner, 'POST', '/v1/secrets/Q2/restore')).status, 200);
    assert.equal((await create(srv.owner, 'ELSEWHERE', 60_000)).status, 201);

    assert.equal((await call(owner, 'DELETE', '/v1/secrets/Q1')).status, 200);
    assert.deepEqual(await usage(owner.workspace_id), {
      counted: full + 4 - 60_000,
      actual: full + 4 - 60_000,
    });
    assert.equal((await create(owner, 'Q5', 60_000)).status, 201);
  });

  it('the byte count stays exact through versions, pruning (also at start) and deletes', async () => {
    const owner = await srv.newWorkspace('counted');
    assert.equal((await create(owner, 'KEPT', 1000)).status, 201);
    assert.equal((await create(owner, 'GONE', 2000)).status, 201);
    // Six versions of KEPT, three kept (DUCTAPE_KEEP_VERSIONS=3): the pruned ones leave the count.
    for (let v = 2; v <= 6; v++) {
      const answer = await call(owner, 'PATCH', '/v1/secrets/KEPT', { value: valueOf(1000 + v) });
      assert.equal(answer.status, 200, answer.text);
    }
    assert.equal((await call(owner, 'POST', '/v1/secrets/KEPT/rollback', { version: 5 })).status, 200);
    assert.equal((await call(owner, 'PATCH', '/v1/secrets/GONE', { expires_at: 4102444800 })).status, 200);
    assert.equal((await call(owner, 'DELETE', '/v1/secrets/GONE')).status, 200);
    const imported = await call(owner, 'POST', '/v1/secrets/import', {
      secrets: [
        { key: 'KEPT', value: valueOf(700) },
        { key: 'NEW', value: valueOf(300) },
      ],
      overwrite: true,
    });
    assert.equal(imported.status, 200, imported.text);
    const live = await usage(owner.workspace_id);
    assert.equal(live.counted, live.actual);
    assert.equal(live.actual, 1006 + 1005 + 700 + 300);

    // Fewer versions kept from the next start: the surplus goes, and leaves the count.
    await srv.server.close();
    srv = await startTestServer({ ...store.env, DUCTAPE_KEEP_VERSIONS: '1' }, backend);
    tokens.clear();
    assert.deepEqual(await usage(owner.workspace_id), { counted: 1000, actual: 1000 });
  });
});
