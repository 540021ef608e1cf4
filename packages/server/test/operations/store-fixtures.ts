/**
 * What the backup, restore and store-move suites need: a store with a bit of everything in it
 * (several workspaces, users, a service token, secrets with versions, a revoked and a deleted
 * one, audit entries), a fresh empty store to restore into, and the check that a restored
 * store serves every secret and every version exactly.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MASTER_KEY_FILE } from '../../src/crypto/key-provider.js';
import type { BackendName } from '../helpers/backends.js';
import { storeEnv, startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

/** Every value written, by workspace owner and key: each version's value in order. */
export type Written = Map<Credentials, Map<string, string[]>>;

export async function fillStore(srv: TestServer): Promise<{ written: Written; owners: Credentials[] }> {
  const second = await srv.newWorkspace('second');
  const owners = [srv.owner, second];
  const written: Written = new Map();
  for (const owner of owners) {
    const client = srv.client(owner);
    // A webhook first, so the changes below leave outbox events and deliveries to copy too
    // (to a closed port: they stay pending, retried).
    const hook = await rawRequest(srv.url, 'POST', '/v1/webhooks', {
      token: await accessToken(srv.url, owner),
      body: { url: 'http://127.0.0.1:9/hook', events: ['secret.created', 'secret.updated'] },
    });
    assert.equal(hook.status, 201, hook.text);
    const values = new Map<string, string[]>();
    for (let i = 0; i < 6; i++) {
      const key = `KEY_${i}`;
      const history = [`first value of ${key} in ${owner.workspace_id} ${Math.random()}`];
      await client.secrets.create({
        key,
        value: history[0] as string,
        scope: i % 2 ? ['api'] : [],
        envs: ['prod'],
      });
      for (let v = 1; v < (i % 3) + 1; v++) {
        const next = `value ${v + 1} of ${key} ${Math.random()}`;
        await client.secrets.update(key, { value: next });
        history.push(next);
      }
      values.set(key, history);
    }
    await client.secrets.revoke('KEY_1');
    await client.secrets.create({ key: 'GONE', value: 'deleted before the backup' });
    await client.secrets.delete('GONE');
    await client.tokens.create({ app: 'billing', env: 'prod' });
    await client.users.create({ role: 'viewer' });
    await client.secrets.fetch('KEY_0');
    written.set(owner, values);
  }
  return { written, owners };
}

/** Every secret's every version reads back exactly through a server on `env`. */
export async function assertServes(
  env: Record<string, string>,
  backend: BackendName,
  written: Written,
): Promise<void> {
  const srv = await startTestServer(env, backend);
  try {
    for (const [owner, values] of written) {
      const client = srv.client(owner);
      for (const [key, history] of values) {
        if (key === 'KEY_1') {
          assert.equal((await client.secrets.metadata(key)).version, history.length);
          continue; // revoked: its value is refused, as before the backup
        }
        const current = await client.secrets.fetch(key);
        assert.equal(current.value, history.at(-1), `${key} current`);
        for (let v = 1; v <= history.length; v++) {
          assert.equal(
            (await client.secrets.fetch(key, { version: v })).value,
            history[v - 1],
            `${key} v${v}`,
          );
        }
      }
      assert.equal(await client.secrets.exists('GONE'), false);
      const hooks = await rawRequest(srv.url, 'GET', '/v1/webhooks', {
        token: await accessToken(srv.url, owner),
      });
      assert.equal((hooks.json as { webhooks: unknown[] }).webhooks.length, 1, 'the webhook came along');
    }
  } finally {
    await srv.server.close();
  }
}

/**
 * An empty store of `backend` to restore into, with the master key of `from`: the same
 * DUCTAPE_MASTER_KEY, or a copy of the data dir's master.key (as an operator would copy it).
 */
export async function emptyStoreLike(
  backend: BackendName,
  from: { env: Record<string, string>; dataDir: string },
): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const fileKey = join(from.dataDir, MASTER_KEY_FILE);
  const key =
    from.env.DUCTAPE_MASTER_KEY ??
    (backend === 'postgres' ? readFileSync(fileKey, 'utf8').trim() : undefined);
  const target = await storeEnv(backend, key === undefined ? {} : { DUCTAPE_MASTER_KEY: key });
  if (key === undefined) {
    const dir = target.env.DUCTAPE_DATA_DIR as string;
    mkdirSync(dir, { recursive: true });
    copyFileSync(fileKey, join(dir, MASTER_KEY_FILE));
  }
  return target;
}
