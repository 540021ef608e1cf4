/**
 * Several stateless nodes on one PostgreSQL: two real server processes share a schema and a
 * master key; whatever goes through one is seen, honoured and raced correctly through the
 * other, with tokens issued by either. Also: operator commands against PostgreSQL, nodes
 * migrating a brand-new schema at the same time, and the starts that must be refused.
 */
import Ductape from '@ductape/sdk';
import type { SecretWithValue } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { POSTGRES_MIGRATIONS } from '../../src/store/migrations/postgres.js';
import { freshPgSchema, newMasterKey, pgSql as sql, PG_SKIP_REASON, PG_URL } from '../helpers/backends.js';
import { runOperator, type Credentials } from '../helpers/harness.js';
import { accessToken, assertErrorBody, freePort, rawRequest, type RawResponse } from '../helpers/http.js';
import {
  killAllServers,
  spawnServer,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js';

/** Runs an operator command and returns its JSON output. */
async function operator(args: string[], env: Record<string, string>): Promise<Record<string, string>> {
  const result = await runOperator([...args, '--json'], { env, cwd: tmpdir() });
  assert.equal(result.code, 0, `ductape-server ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as Record<string, string>;
}

describe('two server nodes on one PostgreSQL', { skip: PG_SKIP_REASON }, () => {
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let env: Record<string, string>;
  let a: ServerProcess;
  let b: ServerProcess;
  let owner: Credentials;
  let token: string;
  /** `node` answers `method path` with A's token. */
  const call = (node: ServerProcess, method: string, path: string, body?: unknown): Promise<RawResponse> =>
    rawRequest(node.url, method, path, { token, ...(body === undefined ? {} : { body }) });

  before(async () => {
    schema = await freshPgSchema();
    env = {
      DATABASE_URL: PG_URL,
      DUCTAPE_PG_SCHEMA: schema.schema,
      DUCTAPE_MASTER_KEY: newMasterKey(),
      LOG_LEVEL: 'warn',
    };
    // Both nodes start at once on a schema that does not exist yet: they race to migrate it.
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });

  after(async () => {
    killAllServers();
    await schema.drop();
  });

  it('nodes started together on a brand-new schema both come up; each migration is applied once', async () => {
    for (const node of [a, b]) assert.equal((await fetch(`${node.url}/readyz`)).status, 200, node.url);
    const rows = await sql<{ version: number }>(
      `SELECT version FROM ${schema.schema}.schema_migrations ORDER BY version`,
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      POSTGRES_MIGRATIONS.map((m) => m.version),
    );
  });

  it('operator commands work against PostgreSQL: workspace create and user create', async () => {
    const created = await operator(['workspace', 'create', '--name', 'x'], env);
    owner = {
      workspace_id: created.workspace_id as string,
      user_id: created.user_id as string,
      private_key: created.private_key as string,
    };
    const user = await operator(
      ['user', 'create', '--workspace', owner.workspace_id, '--role', 'developer'],
      env,
    );
    // Both people exist for both nodes: their keys are exchanged for tokens on either.
    await accessToken(b.url, owner);
    await accessToken(a.url, {
      workspace_id: owner.workspace_id,
      user_id: user.user_id as string,
      private_key: user.private_key as string,
    });
  });

  it('a secret created through A is fetched, updated, revoked and deleted through B with A’s token', async () => {
    token = await accessToken(a.url, owner);
    // B checks tokens for real: one it did not sign is refused.
    const forged = await rawRequest(b.url, 'GET', '/v1/secrets', { token: `${token.slice(0, -4)}AAAA` });
    assertErrorBody(forged, 401);

    assert.equal((await call(a, 'POST', '/v1/secrets', { key: 'CROSS_NODE', value: 'from-a' })).status, 201);
    const fetched = await call(b, 'GET', '/v1/secrets/CROSS_NODE');
    assert.equal(fetched.status, 200, fetched.text);
    assert.equal((fetched.json as SecretWithValue).value, 'from-a');

    const updated = await call(b, 'PATCH', '/v1/secrets/CROSS_NODE', { value: 'from-b' });
    assert.equal(updated.status, 200, updated.text);
    const seenByA = (await call(a, 'GET', '/v1/secrets/CROSS_NODE')).json as SecretWithValue;
    assert.equal(seenByA.value, 'from-b');
    assert.equal(seenByA.version, 2);

    assert.equal((await call(b, 'POST', '/v1/secrets/CROSS_NODE/revoke')).status, 200);
    assertErrorBody(await call(a, 'GET', '/v1/secrets/CROSS_NODE'), 410, 'SECRET_REVOKED');

    const deleted = await call(b, 'DELETE', '/v1/secrets/CROSS_NODE');
    assert.equal(deleted.status, 200, deleted.text);
    assert.deepEqual(deleted.json, { deleted: true });
    assertErrorBody(await call(a, 'GET', '/v1/secrets/CROSS_NODE'), 404, 'SECRET_NOT_FOUND');
  });

  it('the SDK on B sees what A wrote; a revoke on A is honoured by B at once, a restore on B by A', async () => {
    const sdkA = new Ductape({ ...owner, url: a.url });
    const sdkB = new Ductape({ ...owner, url: b.url });
    await sdkA.secrets.create({ key: 'SDK_CROSS', value: 'written-by-a', envs: ['prd'] });
    const read = await sdkB.secrets.fetch('SDK_CROSS');
    assert.equal(read.value, 'written-by-a');
    assert.deepEqual(read.envs, ['prd']);
    assert.ok((await sdkB.secrets.list()).some((s) => s.key === 'SDK_CROSS'));

    assert.equal(await sdkA.secrets.revoke('SDK_CROSS'), true);
    await assert.rejects(sdkB.secrets.fetch('SDK_CROSS'), (error: unknown) => {
      const e = error as { response?: { status?: number }; code?: string };
      assert.equal(e.response?.status, 410);
      assert.equal(e.code, 'SECRET_REVOKED');
      return true;
    });

    assert.equal(await sdkB.secrets.restore('SDK_CROSS'), true);
    assert.equal((await sdkA.secrets.fetch('SDK_CROSS')).value, 'written-by-a');
  });

  it('40 concurrent creates of one key split across both nodes: one 201, 39 409s, one row', async () => {
    const values = Array.from({ length: 40 }, (_, i) => `raced-across-nodes-${i}`);
    const answers = await Promise.all(
      values.map((value, i) => call(i % 2 === 0 ? a : b, 'POST', '/v1/secrets', { key: 'NODE_RACE', value })),
    );
    const won = answers.flatMap((r, i) => (r.status === 201 ? [i] : []));
    assert.equal(won.length, 1, `expected one winner: ${answers.map((r) => r.status).join(' ')}`);
    for (const [i, answer] of answers.entries()) {
      if (i !== won[0]) assertErrorBody(answer, 409, 'SECRET_EXISTS');
    }
    for (const node of [a, b]) {
      const listed = (await call(node, 'GET', '/v1/secrets')).json as { secrets: { key: string }[] };
      assert.equal(listed.secrets.filter((s) => s.key === 'NODE_RACE').length, 1);
    }
    const stored = (await call(b, 'GET', '/v1/secrets/NODE_RACE')).json as SecretWithValue;
    assert.equal(stored.value, values[won[0] as number], 'the stored value is the winner’s');
    assert.equal(stored.version, 1);
  });

  it('concurrent value updates split across both nodes: no lost version, a written value', async () => {
    assert.equal((await call(a, 'POST', '/v1/secrets', { key: 'NODE_UPDATES', value: 'v0' })).status, 201);
    const values = Array.from({ length: 30 }, (_, i) => `node-update-${i}`);
    const answers = await Promise.all(
      values.map((value, i) => call(i % 2 === 0 ? b : a, 'PATCH', '/v1/secrets/NODE_UPDATES', { value })),
    );
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    const versionOf = new Map<number, string>();
    for (const [i, answer] of answers.entries()) {
      const { version } = answer.json as { version: number };
      assert.equal(versionOf.has(version), false, `version ${version} given twice`);
      versionOf.set(version, values[i] as string);
    }
    for (const node of [a, b]) {
      const final = (await call(node, 'GET', '/v1/secrets/NODE_UPDATES')).json as SecretWithValue;
      assert.equal(final.version, 1 + values.length);
      assert.ok(values.includes(final.value), `unexpected final value ${final.value}`);
      assert.equal(final.value, versionOf.get(final.version), 'the value belongs to its version');
    }
  });

  it('a node with a different master key on the same schema refuses to start', async () => {
    const otherKey = newMasterKey();
    const node = spawnServer({ ...env, DUCTAPE_MASTER_KEY: otherKey }, await freePort());
    const { code } = await node.exited;
    assert.notEqual(code, 0);
    assert.notEqual(code, null);
    assert.match(node.output(), /master key does not match/i);
    assert.equal(node.output().includes(otherKey), false, 'the given key was printed');
    assert.equal((await fetch(`${a.url}/readyz`)).status, 200, 'the refused start disturbed node A');
  });

  it('a node whose schema was migrated by a newer server refuses to start', async () => {
    const table = `${schema.schema}.schema_migrations`;
    await sql(`INSERT INTO ${table} (version, name, applied_at) VALUES (999, 'from the future', $1)`, [
      Date.now(),
    ]);
    try {
      const node = spawnServer(env, await freePort());
      const { code } = await node.exited;
      assert.notEqual(code, 0);
      assert.notEqual(code, null);
      assert.match(node.output(), /newer than this server knows/);
    } finally {
      await sql(`DELETE FROM ${table} WHERE version = 999`);
    }
  });

  it('SIGTERM stops both nodes with exit 0', async () => {
    const exits = await Promise.all([a.stop(), b.stop()]);
    assert.deepEqual(exits, [
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
  });
});
