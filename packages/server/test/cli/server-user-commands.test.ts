/**
 * The operator's user commands against each backend (`ductape-server user list | rotate-key |
 * remove`): they act on the store directly, and a running server sees the change at its
 * next request: a replaced key or a removed user's access token is refused at once.
 */
import type { User, UserWhoAmI } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import {
  runOperator,
  startTestServer,
  storeEnv,
  type Credentials,
  type TestServer,
} from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';

const USER_FIELDS = ['created_at', 'removed_at', 'role', 'status', 'user_id', 'workspace_id'];

describeEachBackend('operator user commands', (backend) => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let server: TestServer;
  let owner: Credentials;

  const cli = async (args: string[], code = 0) => {
    const result = await runOperator(args, { env });
    assert.equal(result.code, code, `ductape-server ${args.join(' ')}: ${result.stderr}`);
    return result;
  };
  const newUser = async (role: string): Promise<Credentials> => {
    const made = await cli(['user', 'create', '--workspace', owner.workspace_id, '--role', role, '--json']);
    return {
      workspace_id: owner.workspace_id,
      ...(JSON.parse(made.stdout) as Omit<Credentials, 'workspace_id'>),
    };
  };
  const signIn = (c: Credentials) => rawRequest(server.url, 'POST', '/v1/auth/token', { body: c });
  const me = (token: string) => rawRequest(server.url, 'GET', '/v1/me', { token });

  before(async () => {
    ({ env, cleanup } = await storeEnv(backend));
    const made = await runOperator(['workspace', 'create', '--name', 'operators', '--json'], { env });
    assert.equal(made.code, 0, made.stderr);
    owner = JSON.parse(made.stdout) as Credentials;
    // A server on the same store, running while the commands change it.
    server = await startTestServer(env, backend);
  });
  after(async () => {
    await server.server.close();
    await cleanup();
  });

  it('user list prints every member of the workspace, never a key', async () => {
    const viewer = await newUser('viewer');
    const listed = await cli(['user', 'list', '--workspace', owner.workspace_id, '--json']);
    const users = JSON.parse(listed.stdout) as User[];
    assert.deepEqual(
      users.slice(0, 2).map((u) => [u.user_id, u.role, u.status]),
      [
        [owner.user_id, 'owner', 'active'],
        [viewer.user_id, 'viewer', 'active'],
      ],
    );
    for (const u of users) {
      assert.deepEqual(Object.keys(u).sort(), USER_FIELDS);
      assert.equal(u.workspace_id, owner.workspace_id);
    }
    for (const key of [owner.private_key, viewer.private_key])
      assert.equal(listed.stdout.includes(key), false);
    assert.equal(/key_hash|private_key/.test(listed.stdout), false);

    const table = await cli(['user', 'list', '--workspace', owner.workspace_id]);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^USER\s+ROLE\s+STATUS\s+CREATED$/);
    assert.ok(
      rows.some((r) => r.startsWith(viewer.user_id) && /\bviewer\s+active\b/.test(r)),
      table.stdout,
    );
    assert.equal(rows.length, users.length);
  });

  it('user list refuses a workspace that does not exist', async () => {
    const missing = await cli(['user', 'list', '--workspace', 'ffffffffffffffffffffffff'], 1);
    assert.match(missing.stderr, /workspace 'ffffffffffffffffffffffff' does not exist/);
    assert.equal(missing.stdout, '');
  });

  it('user rotate-key prints a new key; the old key and its access tokens stop at once', async () => {
    const developer = await newUser('developer');
    const token = await accessToken(server.url, developer);
    assert.equal((await me(token)).status, 200);

    const rotated = await cli(['user', 'rotate-key', '--user', developer.user_id, '--json']);
    const fresh = JSON.parse(rotated.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(fresh).sort(), ['private_key', 'user_id']);
    assert.equal(fresh.user_id, developer.user_id);
    assert.notEqual(fresh.private_key, developer.private_key);

    assertErrorBody(await me(token), 401, 'TOKEN_INVALID');
    assertErrorBody(await signIn(developer), 401, 'INVALID_CREDENTIALS');
    const renewed = { ...developer, private_key: fresh.private_key as string };
    assert.equal((await signIn(renewed)).status, 200);
    assert.equal(((await server.client(renewed).whoami()) as UserWhoAmI).role, 'developer');
  });

  it('without --json, rotate-key says the key is shown once', async () => {
    const admin = await newUser('admin');
    const rotated = await cli(['user', 'rotate-key', '--user', admin.user_id]);
    assert.match(rotated.stdout, new RegExp(`user_id\\s+${admin.user_id}`));
    assert.match(rotated.stdout, /private_key\s+dtk_/);
    assert.match(rotated.stdout, /shown only this once/);
    assertErrorBody(await signIn(admin), 401, 'INVALID_CREDENTIALS');
  });

  it('user remove locks the user out at once and lists them as removed', async () => {
    const developer = await newUser('developer');
    const token = await accessToken(server.url, developer);
    const client = server.client(developer);
    await client.whoami();

    const removed = await cli(['user', 'remove', '--user', developer.user_id]);
    assert.equal(removed.stdout, `Removed user ${developer.user_id}.\n`);
    assertErrorBody(await me(token), 401, 'TOKEN_INVALID');
    assertErrorBody(await signIn(developer), 401, 'INVALID_CREDENTIALS');
    await assert.rejects(client.whoami(), { status: 401 });

    const users = JSON.parse(
      (await cli(['user', 'list', '--workspace', owner.workspace_id, '--json'])).stdout,
    ) as User[];
    const entry = users.find((u) => u.user_id === developer.user_id);
    assert.equal(entry?.status, 'removed');
    assert.ok(entry?.removed_at);
    const again = await cli(['user', 'rotate-key', '--user', developer.user_id], 1);
    assert.match(again.stderr, new RegExp(developer.user_id));
  });

  it("user remove refuses the workspace's last owner, who keeps working", async () => {
    const token = await accessToken(server.url, owner);
    const refused = await cli(['user', 'remove', '--user', owner.user_id], 1);
    assert.match(refused.stderr, new RegExp(`'${owner.user_id}' is the workspace's last owner`));
    assert.equal(refused.stdout, '');
    assert.equal((await me(token)).status, 200);
    assert.equal((await signIn(owner)).status, 200);

    // With a second owner, the first may go.
    const second = await newUser('owner');
    await cli(['user', 'remove', '--user', owner.user_id]);
    assertErrorBody(await me(token), 401, 'TOKEN_INVALID');
    const last = await cli(['user', 'remove', '--user', second.user_id], 1);
    assert.match(last.stderr, /last owner/);
    assert.equal((await signIn(second)).status, 200);
  });

  it('an unknown user is refused with exit 1 naming it; a missing --user is a usage error', async () => {
    for (const command of ['rotate-key', 'remove']) {
      const unknown = await cli(['user', command, '--user', '0123456789abcdef01234567'], 1);
      assert.match(unknown.stderr, /user '0123456789abcdef01234567' does not exist/);
      assert.equal(unknown.stdout, '');
      const usage = await cli(['user', command], 2);
      assert.match(usage.stderr, /--user/);
    }
  });
});
