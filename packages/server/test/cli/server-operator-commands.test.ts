/**
 * Operator commands against each backend: they act on the store directly, configured by the
 * same environment as the server.
 */
import type { UserWhoAmI } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite.js';
import { describeEachBackend, newMasterKey } from '../helpers/backends.js';
import { runOperator, startTestServer, storeEnv } from '../helpers/harness.js';

describeEachBackend('operator commands', (backend) => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ env, cleanup } = await storeEnv(backend));
  });
  after(() => cleanup());

  it('migrate brings a new database up to date, then has nothing to do', async () => {
    const first = await runOperator(['migrate', '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    const latest = SQLITE_MIGRATIONS.at(-1)?.version;
    assert.deepEqual(JSON.parse(first.stdout), { backend, from: 0, to: latest });
    const again = await runOperator(['migrate'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `The ${backend} schema is up to date (version ${latest}).\n`);
  });

  it('workspace create and user create print credentials that sign in', async () => {
    const ws = await runOperator(['workspace', 'create', '--name', 'ops', '--json'], { env });
    assert.equal(ws.code, 0, ws.stderr);
    const owner = JSON.parse(ws.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(owner).sort(), ['private_key', 'user_id', 'workspace_id']);
    const user = await runOperator(
      ['user', 'create', '--workspace', owner.workspace_id as string, '--role', 'viewer', '--json'],
      {
        env,
      },
    );
    assert.equal(user.code, 0, user.stderr);
    const viewer = JSON.parse(user.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(viewer).sort(), ['private_key', 'user_id']);

    const server = await startTestServer(env, backend);
    try {
      const client = server.client({ workspace_id: owner.workspace_id as string, ...viewer } as never);
      assert.equal(((await client.whoami()) as UserWhoAmI).role, 'viewer');
      assert.equal(((await server.client(owner as never).whoami()) as UserWhoAmI).role, 'owner');
    } finally {
      await server.server.close();
    }
  });

  it('without --json, says the key is shown once', async () => {
    const ws = await runOperator(['workspace', 'create', '--name', 'people'], { env });
    assert.equal(ws.code, 0, ws.stderr);
    assert.match(ws.stdout, /private_key\s+dtk_/);
    assert.match(ws.stdout, /shown only this once/);
  });

  it('refuses a bad role (usage, exit 2) and an unknown workspace (exit 1)', async () => {
    const role = await runOperator(['user', 'create', '--workspace', 'x', '--role', 'boss'], { env });
    assert.equal(role.code, 2);
    assert.match(role.stderr, /--role: must be one of/);
    const missing = await runOperator(['user', 'create', '--workspace', 'nope', '--role', 'admin'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /workspace 'nope' does not exist/);
  });

  it('names the bad variable when the configuration is wrong', async () => {
    const bad = await runOperator(['migrate'], {
      env: {
        ...env,
        DUCTAPE_PG_POOL_SIZE: '0',
        DATABASE_URL: 'postgres://x',
        DUCTAPE_MASTER_KEY: newMasterKey(),
      },
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /DUCTAPE_PG_POOL_SIZE/);
  });
});
