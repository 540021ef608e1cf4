/**
 * The access-token signing key rotates, and a stolen one stops minting tokens: issue 13, item 1.
 * The attacker held the master key once and a copy of the database (the signing key row), and
 * signs `dat_` tokens with any claims (helpers/attacker.ts). Two nodes on one store, each
 * suite once per backend: a forged long-lived token is refused even under the current key;
 * after `keys rotate-master` the old key is retired once the token lifetime has passed; a
 * token signed by node A after a rotation verifies on node B without a restart; and
 * `keys rotate-server --retire-now` ends every token of the previous key on every node.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, test } from 'node:test';
import {
  forgeAccessToken,
  tokenClaims,
  unwrapServerKeyRow,
  type ServerKeyRecord,
} from '../helpers/attacker.js';
import { describeEachBackend, newMasterKey } from '../helpers/backends.js';
import { runOperator, startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest, sleep } from '../helpers/http.js';
import { serverSql } from '../helpers/usage.js';

/** The access token lifetime of these servers and commands, in seconds. */
const TTL = 8;
const TEN_YEARS = 10 * 365 * 24 * 3600;

async function signingRows(server: TestServer): Promise<(ServerKeyRecord & { kek_id: string })[]> {
  const rows = (await serverSql(
    server,
    "SELECT * FROM server_keys WHERE name = 'access-token-signing'",
  )) as (ServerKeyRecord & { kek_id: string })[];
  return rows.sort((x, y) => Number(x.version ?? 1) - Number(y.version ?? 1));
}

async function command(args: string[], env: Record<string, string>): Promise<Record<string, unknown>> {
  const result = await runOperator([...args, '--json'], { env, cwd: tmpdir() });
  assert.equal(
    result.code,
    0,
    `ductape ${args.join(' ')}: exit ${result.code}\n${result.stderr}${result.stdout}`,
  );
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** The statuses of GET /v1/me and GET /v1/users with `token` on `node`. */
async function asOwner(node: TestServer, token: string): Promise<number[]> {
  const me = await rawRequest(node.url, 'GET', '/v1/me', { token });
  const users = await rawRequest(node.url, 'GET', '/v1/users', { token });
  return [me.status, users.status];
}

async function assertRefused(nodes: TestServer[], token: string, why: string): Promise<void> {
  for (const node of nodes) {
    const me = await rawRequest(node.url, 'GET', '/v1/me', { token });
    assert.equal(me.status, 401, `${why}: GET /v1/me answered ${me.status} ${me.text}`);
    assert.equal((me.json as { code?: string }).code, 'TOKEN_INVALID', me.text);
    assert.deepEqual(await asOwner(node, token), [401, 401], why);
  }
}

describeEachBackend('the access-token signing key rotates', (backend) => {
  const oldMaster = newMasterKey();
  const newMaster = newMasterKey();
  let a: TestServer;
  let b: TestServer;
  let stolen: Buffer;
  const now = (): number => Math.floor(Date.now() / 1000);
  const claims = (
    iat: number,
    exp: number,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    w: a.owner.workspace_id,
    u: a.owner.user_id,
    g: 1,
    iat,
    exp,
    ...extra,
  });

  before(async () => {
    // Nodes already accept the next master key for unwrapping (the rolling-restart procedure).
    a = await startTestServer(
      {
        DUCTAPE_MASTER_KEY: oldMaster,
        DUCTAPE_MASTER_KEY_PREVIOUS: newMaster,
        DUCTAPE_ACCESS_TOKEN_TTL: String(TTL),
      },
      backend,
    );
    b = await startTestServer(a.env, backend); // a second node on the same store
    // The attacker's copy of the database, opened with the master key of the time.
    const [row] = await signingRows(a);
    assert.ok(row);
    stolen = unwrapServerKeyRow(oldMaster, row);
  });
  after(async () => {
    await b.stop();
    await a.stop();
  });

  test('a forged token living longer than DUCTAPE_ACCESS_TOKEN_TTL is refused, even under the current key', async () => {
    // The control: within the lifetime, the current key signs (the key is the credential).
    const fair = forgeAccessToken(stolen, claims(now(), now() + TTL, { k: 1 }));
    assert.deepEqual(await asOwner(a, fair), [200, 200]);
    assert.deepEqual(await asOwner(b, fair), [200, 200]);

    const tenYears = forgeAccessToken(stolen, claims(now(), now() + TEN_YEARS, { k: 1 }));
    await assertRefused([a, b], tenYears, 'a 10-year token');
    // Within the lifetime, but issued ten years from now: it would work for ten years.
    const future = forgeAccessToken(stolen, claims(now() + TEN_YEARS - TTL, now() + TEN_YEARS, { k: 1 }));
    await assertRefused([a, b], future, 'a token issued in the future');
    const noIat = forgeAccessToken(stolen, { ...claims(now(), now() + TTL, { k: 1 }), iat: undefined });
    await assertRefused([a, b], noIat, 'a token without iat');
  });

  let rotatedAt = 0;

  test('after keys rotate-master, the signing key opened from an old copy with the old master key forges no long-lived token', async () => {
    const rotated = await command(['keys', 'rotate-master'], { ...a.env, DUCTAPE_NEW_MASTER_KEY: newMaster });
    rotatedAt = Date.now();
    assert.equal(rotated.complete, true);
    // The attack of the issue: 10 years, as owner, after the rotation.
    await assertRefused(
      [a, b],
      forgeAccessToken(stolen, claims(now(), now() + TEN_YEARS, { k: 1 })),
      '10 years',
    );
    await assertRefused(
      [a, b],
      forgeAccessToken(stolen, claims(now(), now() + TEN_YEARS)),
      '10 years, no key id',
    );
    const rows = await signingRows(a);
    assert.equal(rows.length, 2, 'the rotation added a signing key version');
    const [previous, current] = rows;
    assert.ok(previous && current);
    // The new key was never wrapped by the old master key: the old copy and key cannot open it.
    assert.throws(() => unwrapServerKeyRow(oldMaster, current));
    assert.equal(unwrapServerKeyRow(newMaster, current).length, 32);
    assert.equal(
      unwrapServerKeyRow(newMaster, previous).equals(stolen),
      true,
      'the old key is kept, retired',
    );
    const retiredAt = Number(previous.retired_at);
    assert.ok(retiredAt > Date.now() && retiredAt <= rotatedAt + TTL * 1000, String(previous.retired_at));
    // Until the lifetime has passed, tokens of the old key still work (those issued just before).
    const grace = forgeAccessToken(stolen, claims(now(), now() + TTL, { k: 1 }));
    assert.deepEqual(await asOwner(b, grace), [200, 200]);
  });

  test('once the token lifetime has passed since its replacement, the old signing key is refused on every node', async () => {
    assert.ok(rotatedAt > 0);
    await sleep(rotatedAt + TTL * 1000 + 300 - Date.now());
    const fresh = forgeAccessToken(stolen, claims(now(), now() + TTL, { k: 1 }));
    await assertRefused([a, b], fresh, 'a fresh token of the retired key');
    await assertRefused([a, b], forgeAccessToken(stolen, claims(now(), now() + TTL)), 'no key id');
    await assertRefused([a, b], forgeAccessToken(stolen, claims(now(), now() + TTL, { k: 2 })), 'key id 2');
  });

  test('nodes pick up a new signing key without a restart: a token signed by node A verifies on node B', async () => {
    const fromA = await accessToken(a.url, a.owner);
    assert.equal(tokenClaims(fromA).k, 2);
    assert.deepEqual(await asOwner(b, fromA), [200, 200]);
    const fromB = await accessToken(b.url, a.owner);
    assert.equal(tokenClaims(fromB).k, 2);
    assert.deepEqual(await asOwner(a, fromB), [200, 200]);
  });

  test('keys rotate-server --retire-now: tokens of the previous key are refused on every node; the SDK signs in again by itself', async () => {
    const client = a.client(a.owner);
    await client.secrets.create({ key: 'STAYS', value: 'stays-readable' });
    const before = await accessToken(a.url, a.owner);
    assert.deepEqual(await asOwner(b, before), [200, 200]);
    const env = { ...a.env, DUCTAPE_MASTER_KEY: newMaster, DUCTAPE_MASTER_KEY_PREVIOUS: oldMaster };
    const rotated = await command(['keys', 'rotate-server', '--retire-now'], env);
    assert.equal((rotated.signing_key as { version: number }).version, 3);
    // Every node sees the retirement within the 5 s it keeps server keys.
    const deadline = Date.now() + 7000;
    while (Date.now() < deadline) {
      const [onA] = await asOwner(a, before);
      const [onB] = await asOwner(b, before);
      if (onA === 401 && onB === 401) break;
      await sleep(200);
    }
    await assertRefused([a, b], before, 'a token of the retired key 2');
    assert.equal((await client.secrets.fetch('STAYS')).value, 'stays-readable');
    const after = await accessToken(b.url, a.owner);
    assert.equal(tokenClaims(after).k, 3);
    assert.deepEqual(await asOwner(a, after), [200, 200]);
  });
});
