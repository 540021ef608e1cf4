/**
 * The principal cache (services/identity/principal-cache.ts): authentication reads users and service
 * tokens from memory, yet a revoke, removal, role change or key rotation made anywhere is
 * honoured by the very next request:
 * - the cache on its own, against a scripted store;
 * - SQLite: a server process, with changes made from other processes and connections (the
 *   `ductape` operator commands, raw SQL) while it runs;
 * - PostgreSQL: two server processes on one schema, changes through one and the next request
 *   through the other, many times over, also while their listener connections are cut.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { PrincipalCache } from '../../src/services/identity/principal-cache.js';
import type { PrincipalWatcher, ServiceTokenRow, UserRow } from '../../src/store/types.js';
import { freshPgSchema, newMasterKey, pgSql as sql, PG_SKIP_REASON, PG_URL } from '../helpers/backends.js';
import { runOperator, startTestServer, tempDir, type Credentials } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, sleep } from '../helpers/http.js';
import { openRawDb, type RawDb } from '../helpers/raw-db.js';
import { killAllServers, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const user = (id: string, role: UserRow['role'] = 'developer'): UserRow => ({
  id,
  workspaceId: 'w',
  role,
  keyHash: Buffer.alloc(32),
  keyGeneration: 1,
  createdAt: 1,
  removedAt: null,
});

/** A store whose rows, freshness and read timing the test controls. */
function scriptedStore() {
  const rows = new Map<string, UserRow>();
  const script = {
    rows,
    reads: 0,
    fresh: true,
    watcher: undefined as PrincipalWatcher | undefined,
    /** When set, a read waits for it before answering (with the row as it was asked). */
    gate: undefined as Promise<void> | undefined,
    stopped: false,
  };
  const store = {
    async getUser(id: string): Promise<UserRow | undefined> {
      script.reads++;
      const row = rows.get(id);
      if (script.gate) await script.gate;
      return row;
    },
    async getServiceToken(): Promise<ServiceTokenRow | undefined> {
      script.reads++;
      return undefined;
    },
    watchPrincipals(watcher: PrincipalWatcher) {
      script.watcher = watcher;
      return {
        fresh: () => script.fresh,
        stop: async () => {
          script.stopped = true;
        },
      };
    },
  };
  return { store, script };
}

describe('principal cache, against a scripted store', () => {
  it('answers from memory until told of a change to that id, or of a reset', async () => {
    const { store, script } = scriptedStore();
    const cache = new PrincipalCache(store);
    script.rows.set('u1', user('u1'));
    script.rows.set('u2', user('u2'));
    await cache.getUser('u1');
    await cache.getUser('u2');
    assert.equal((await cache.getUser('u1'))?.role, 'developer');
    assert.equal(script.reads, 2, 'the second read of u1 came from memory');

    script.rows.set('u1', user('u1', 'viewer'));
    script.watcher?.changed('user', 'u1');
    assert.equal((await cache.getUser('u1'))?.role, 'viewer');
    assert.equal(script.reads, 3);
    await cache.getUser('u2');
    assert.equal(script.reads, 3, 'a change to u1 leaves u2 cached');
    script.watcher?.changed('token', 'u2');
    await cache.getUser('u2');
    assert.equal(script.reads, 3, 'a token of the same id is another entry');

    script.watcher?.reset();
    await cache.getUser('u1');
    await cache.getUser('u2');
    assert.equal(script.reads, 5, 'a reset forgets everything');
    await cache.close();
    assert.equal(script.stopped, true);
  });

  it('while the store cannot vouch for it (not fresh), every read goes to the store and nothing is kept', async () => {
    const { store, script } = scriptedStore();
    const cache = new PrincipalCache(store);
    script.rows.set('u1', user('u1'));
    script.fresh = false;
    await cache.getUser('u1');
    await cache.getUser('u1');
    assert.equal(script.reads, 2);
    assert.equal(cache.size, 0);
    script.fresh = true;
    await cache.getUser('u1');
    await cache.getUser('u1');
    assert.equal(script.reads, 3);
  });

  it('a read that raced a change keeps nothing: the old row it may hold is never cached', async () => {
    const { store, script } = scriptedStore();
    const cache = new PrincipalCache(store);
    script.rows.set('u1', user('u1', 'owner'));
    let open!: () => void;
    script.gate = new Promise((resolve) => (open = resolve));
    const racing = cache.getUser('u1'); // reads the owner row, then waits
    script.rows.set('u1', user('u1', 'viewer'));
    script.watcher?.changed('user', 'u1');
    open();
    assert.equal((await racing)?.role, 'owner', 'the racing read answers what it read');
    script.gate = undefined;
    assert.equal((await cache.getUser('u1'))?.role, 'viewer', 'but did not cache it');
  });

  it('unknown ids are never cached; entries expire after maxAgeMs; at most maxEntries are kept', async () => {
    const { store, script } = scriptedStore();
    let now = 1000;
    const cache = new PrincipalCache(store, { maxAgeMs: 50, maxEntries: 3, now: () => now });
    await cache.getUser('nobody');
    await cache.getUser('nobody');
    assert.equal(script.reads, 2);

    for (const id of ['a', 'b', 'c', 'd']) script.rows.set(id, user(id));
    for (const id of ['a', 'b', 'c']) await cache.getUser(id);
    await cache.getUser('a'); // a is now the most recently used
    assert.equal(script.reads, 5);
    await cache.getUser('d'); // evicts b, the least recently used
    assert.equal(cache.size, 3);
    await cache.getUser('a');
    await cache.getUser('c');
    assert.equal(script.reads, 6);
    await cache.getUser('b');
    assert.equal(script.reads, 7, 'b was evicted');

    now += 50;
    await cache.getUser('a');
    assert.equal(script.reads, 8, 'a was too old');
  });
});

describe('principal cache in a server on SQLite', () => {
  it('the server reads its principals from the cache', async () => {
    const server = await startTestServer();
    try {
      const token = await accessToken(server.url, server.owner);
      for (let i = 0; i < 3; i++) {
        assert.equal((await rawRequest(server.url, 'GET', '/v1/me', { token })).status, 200);
      }
      assert.equal(server.server.runtime.principals?.size, 1);
    } finally {
      await server.stop();
    }
  });

  describe('changes from other processes while the server runs', () => {
    let dataDir: string;
    let env: Record<string, string>;
    let node: ServerProcess;
    let owner: Credentials;
    let raw: RawDb;

    const operator = async (args: string[]): Promise<Record<string, string>> => {
      const result = await runOperator([...args, '--json'], { env, cwd: tmpdir() });
      assert.equal(result.code, 0, `ductape-server ${args.join(' ')}:\n${result.stderr}${result.stdout}`);
      return JSON.parse(result.stdout) as Record<string, string>;
    };
    const newUser = async (role: string): Promise<Credentials> => {
      const made = await operator(['user', 'create', '--workspace', owner.workspace_id, '--role', role]);
      return { workspace_id: owner.workspace_id, user_id: made.user_id!, private_key: made.private_key! };
    };
    const me = (token: string) => rawRequest(node.url, 'GET', '/v1/me', { token });

    before(async () => {
      dataDir = tempDir();
      env = { DUCTAPE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', DUCTAPE_TOKEN_EXCHANGES_PER_IP: '100000' };
      node = await startServerProcess(env);
      const created = await operator(['workspace', 'create', '--name', 'cache']);
      owner = {
        workspace_id: created.workspace_id!,
        user_id: created.user_id!,
        private_key: created.private_key!,
      };
      raw = await openRawDb('sqlite', env);
    });

    after(async () => {
      await raw?.close();
      await node?.stop();
      killAllServers();
    });

    it('a role changed by another connection is seen by the very next request, 100 times over', async () => {
      const member = await newUser('developer');
      const token = await accessToken(node.url, member);
      for (let i = 0; i < 100; i++) {
        const role = i % 2 === 0 ? 'viewer' : 'developer';
        await raw.query('UPDATE users SET role = ? WHERE id = ?', [role, member.user_id]);
        const answer = await me(token);
        assert.equal(answer.status, 200, answer.text);
        assert.equal((answer.json as { role: string }).role, role, `iteration ${i}`);
        // Once more from the cache, unchanged.
        assert.equal(((await me(token)).json as { role: string }).role, role);
      }
    });

    it('the same while 30 other connections keep the server busy (one turn of its loop serves many requests)', async () => {
      // The store shares a read transaction among reads until the next request arrives or
      // the turn ends (read-snapshot.ts). Under load, with reads and no writes of its own,
      // the server must still end it: a request sent after the commit sees it.
      const member = await newUser('developer');
      const token = await accessToken(node.url, member);
      const busy = await accessToken(node.url, owner);
      let stop = false;
      let served = 0;
      const load = async (): Promise<void> => {
        while (!stop) {
          assert.equal((await me(busy)).status, 200);
          served++;
        }
      };
      const loaders = Array.from({ length: 30 }, load);
      try {
        for (let i = 0; i < 60; i++) {
          const role = i % 2 === 0 ? 'viewer' : 'developer';
          await raw.query('UPDATE users SET role = ? WHERE id = ?', [role, member.user_id]);
          const answer = await me(token);
          assert.equal((answer.json as { role: string }).role, role, `iteration ${i}`);
        }
      } finally {
        stop = true;
        await Promise.all(loaders);
      }
      assert.ok(served > 300, `the other connections were served meanwhile (${served})`);
    });

    it('`ductape-server user remove` in another process: the next request with their token is refused', async () => {
      const member = await newUser('developer');
      const token = await accessToken(node.url, member);
      assert.equal((await me(token)).status, 200);
      assert.equal((await me(token)).status, 200); // cached by now
      const result = await runOperator(['user', 'remove', '--user', member.user_id], { env, cwd: tmpdir() });
      assert.equal(result.code, 0, result.stderr);
      assertErrorBody(await me(token), 401, 'TOKEN_INVALID');
    });

    it('`ductape-server user rotate-key` in another process: the next request with an old token is refused', async () => {
      const member = await newUser('viewer');
      const token = await accessToken(node.url, member);
      assert.equal((await me(token)).status, 200);
      assert.equal((await me(token)).status, 200);
      const rotated = await operator(['user', 'rotate-key', '--user', member.user_id]);
      assertErrorBody(await me(token), 401, 'TOKEN_INVALID');
      const fresh = await accessToken(node.url, { ...member, private_key: rotated.private_key! });
      assert.equal((await me(fresh)).status, 200);
    });

    it('a service token revoked by another connection is refused by the next request', async () => {
      const ownerToken = await accessToken(node.url, owner);
      for (let i = 0; i < 20; i++) {
        const created = await rawRequest(node.url, 'POST', '/v1/tokens', {
          token: ownerToken,
          body: { app: 'web', env: 'prd' },
        });
        assert.equal(created.status, 201, created.text);
        const { token, token_id } = created.json as { token: string; token_id: string };
        assert.equal((await me(token)).status, 200);
        assert.equal((await me(token)).status, 200);
        await raw.query('UPDATE service_tokens SET revoked_at = ? WHERE id = ?', [Date.now(), token_id]);
        assertErrorBody(await me(token), 401, 'TOKEN_INVALID');
      }
    });
  });
});

describe('principal cache on two server nodes on one PostgreSQL', { skip: PG_SKIP_REASON }, () => {
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let env: Record<string, string>;
  let a: ServerProcess;
  let b: ServerProcess;
  let owner: Credentials;
  let ownerToken: string;
  const listenerName = (): string => `ductape-listener ${schema.schema}`.slice(0, 63);
  const listeners = async (): Promise<number> =>
    (
      await sql<{ n: number }>(
        "SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND (query LIKE 'LISTEN %' OR query LIKE 'SELECT pg_notify%')",
        [listenerName()],
      )
    )[0]!.n;
  const me = (node: ServerProcess, token: string) => rawRequest(node.url, 'GET', '/v1/me', { token });

  /** A new member, signed in on A, with a token already cached by B. */
  async function member(role: string): Promise<{ id: string; token: string; key: string }> {
    const made = await rawRequest(a.url, 'POST', '/v1/users', { token: ownerToken, body: { role } });
    assert.equal(made.status, 201, made.text);
    const { user_id, private_key } = made.json as { user_id: string; private_key: string };
    const token = await accessToken(a.url, { workspace_id: owner.workspace_id, user_id, private_key });
    assert.equal((await me(b, token)).status, 200);
    assert.equal((await me(b, token)).status, 200);
    return { id: user_id, token, key: private_key };
  }

  /** Role changes through A, each seen by B's very next request. */
  async function flipRoles(times: number): Promise<void> {
    const { id, token } = await member('developer');
    for (let i = 0; i < times; i++) {
      const role = i % 2 === 0 ? 'viewer' : 'developer';
      const changed = await rawRequest(a.url, 'PATCH', `/v1/users/${id}`, {
        token: ownerToken,
        body: { role },
      });
      assert.equal(changed.status, 200, changed.text);
      const seen = await me(b, token);
      assert.equal(seen.status, 200, seen.text);
      assert.equal((seen.json as { role: string }).role, role, `iteration ${i}`);
      assert.equal(((await me(b, token)).json as { role: string }).role, role);
    }
  }

  /** Service tokens revoked through A, each refused by B's very next request. */
  async function revokeTokens(times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const created = await rawRequest(a.url, 'POST', '/v1/tokens', {
        token: ownerToken,
        body: { app: 'web', env: 'prd' },
      });
      assert.equal(created.status, 201, created.text);
      const { token, token_id } = created.json as { token: string; token_id: string };
      assert.equal((await me(b, token)).status, 200);
      assert.equal((await me(b, token)).status, 200);
      const revoked = await rawRequest(a.url, 'DELETE', `/v1/tokens/${token_id}`, { token: ownerToken });
      assert.equal(revoked.status, 200, revoked.text);
      assertErrorBody(await me(b, token), 401, 'TOKEN_INVALID');
    }
  }

  async function waitForListeners(n: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    while ((await listeners()) !== n) {
      assert.ok(Date.now() < deadline, `expected ${n} listening connections`);
      await sleep(50);
    }
  }

  before(async () => {
    schema = await freshPgSchema();
    env = {
      DATABASE_URL: PG_URL,
      DUCTAPE_PG_SCHEMA: schema.schema,
      DUCTAPE_MASTER_KEY: newMasterKey(),
      LOG_LEVEL: 'error',
      DUCTAPE_SIGNIN_FAILURES_PER_IP: '100000',
      DUCTAPE_SIGNIN_FAILURES_PER_USER: '100000',
      DUCTAPE_TOKEN_EXCHANGES_PER_IP: '100000',
    };
    a = await startServerProcess(env);
    b = await startServerProcess(env);
    const made = await runOperator(['workspace', 'create', '--name', 'cache', '--json'], {
      env,
      cwd: tmpdir(),
    });
    assert.equal(made.code, 0, made.stderr);
    owner = JSON.parse(made.stdout) as Credentials;
    ownerToken = await accessToken(a.url, owner);
    await waitForListeners(2);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    killAllServers();
    await schema?.drop();
  });

  it('each node keeps one LISTEN connection of its own', async () => {
    assert.equal(await listeners(), 2);
  });

  it('a role changed through A is seen by B’s very next request, 100 times over', async () => {
    await flipRoles(100);
  });

  it('a service token revoked through A is refused by B’s very next request, 30 times over', async () => {
    await revokeTokens(30);
  });

  it('a user removed or a key rotated through A: B refuses their token at the next request', async () => {
    for (let i = 0; i < 10; i++) {
      const removed = await member('viewer');
      assert.equal(
        (await rawRequest(a.url, 'DELETE', `/v1/users/${removed.id}`, { token: ownerToken })).status,
        200,
      );
      assertErrorBody(await me(b, removed.token), 401, 'TOKEN_INVALID');

      const rotated = await member('developer');
      // Your own key: rotated with proof of the current one (see own-key-rotation-needs-current-key.test.ts).
      const answer = await rawRequest(a.url, 'POST', `/v1/users/${rotated.id}/rotate-key`, {
        token: rotated.token,
        body: { private_key: rotated.key },
      });
      assert.equal(answer.status, 200, answer.text);
      assertErrorBody(await me(b, rotated.token), 401, 'TOKEN_INVALID');
    }
  });

  it('an operator command against the database is honoured by both nodes at once', async () => {
    const { id, token } = await member('developer');
    assert.equal((await me(a, token)).status, 200);
    const result = await runOperator(['user', 'remove', '--user', id], { env, cwd: tmpdir() });
    assert.equal(result.code, 0, result.stderr);
    assertErrorBody(await me(a, token), 401, 'TOKEN_INVALID');
    assertErrorBody(await me(b, token), 401, 'TOKEN_INVALID');
  });

  it('with the listeners cut, requests stay right while they are down and after they are back', async () => {
    const cut = async (): Promise<void> => {
      const killed = await sql<{ ok: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [listenerName()],
      );
      assert.equal(killed.length, 2, 'both nodes had a listener');
    };
    await cut();
    await flipRoles(20); // at once: reconnecting, the nodes read from the database
    await revokeTokens(5);
    await waitForListeners(2);
    await flipRoles(20);
    await revokeTokens(5);
    // Cut again mid-way, with entries cached, and again after.
    await cut();
    await flipRoles(10);
    await waitForListeners(2);
    await flipRoles(10);
    for (const node of [a, b]) {
      assert.equal(node.child.exitCode, null, 'the node is still running');
      assert.equal((await fetch(`${node.url}/readyz`)).status, 200);
    }
  });
});
