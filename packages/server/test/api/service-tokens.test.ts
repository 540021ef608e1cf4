/**
 * Service tokens over a real port: who may mint them, what minting answers, listing without
 * the token, using one from the SDK (option or DUCTAPE_TOKEN), revoke and expiry taking
 * effect at the next request, other workspaces, storage as a hash only, and lifetime bounds.
 * What a token may reach, route by route, is in service-tokens-scope.test.ts.
 */
import Ductape from '@ductape/sdk';
import type { CreateTokenInput, TokenWhoAmI } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { assertErrorBody, rawRequest, sleep } from '../helpers/http.js';
import { expectError, serverSql } from '../helpers/usage.js';
import { ECHO_WAIT_MS, PRINCIPAL_CHANNEL } from '../../src/store/backends/postgres/principal-listener.js';

const SHAPE = /^dst_([0-9a-f]{24})_[A-Za-z0-9_-]{43}$/;
const now = (): number => Math.floor(Date.now() / 1000);

describeEachBackend('service tokens', (backend) => {
  let server: TestServer;
  let adminCredentials: Credentials;
  let admin: Ductape;
  const tokenClient = (token: string): Ductape => new Ductape({ token, url: server.url });

  before(async () => {
    server = await startTestServer({}, backend);
    adminCredentials = await server.newUser('admin');
    admin = server.client(adminCredentials);
    await admin.secrets.create({ key: 'OPEN', value: 'open-value' });
  });
  after(() => server.stop());

  it('only an admin or the owner mints, lists and revokes; others get 403 naming admin', async () => {
    for (const role of ['viewer', 'developer'] as const) {
      const user = server.client(await server.newUser(role));
      const forbidden = { status: 403, code: 'FORBIDDEN', message: new RegExp(`\\badmin\\b.*\\b${role}\\b`) };
      await expectError(user.tokens.create({ app: 'web', env: 'prd' }), forbidden);
      await expectError(user.tokens.list(), forbidden);
      await expectError(user.tokens.revoke('0123456789abcdef01234567'), forbidden);
    }
    const byOwner = await server.client(server.owner).tokens.create({ app: 'web', env: 'prd' });
    assert.equal(byOwner.created_by, server.owner.user_id);
  });

  it('minting answers the token once, with its binding and expiry', async () => {
    const before = now();
    const created = await admin.tokens.create({
      app: 'web',
      env: 'prd',
      ttl_seconds: 3600,
      description: 'ci',
    });
    const match = SHAPE.exec(created.token);
    assert.ok(match, created.token);
    assert.equal(match[1], created.token_id);
    assert.equal(created.app, 'web');
    assert.equal(created.env, 'prd');
    assert.equal(created.status, 'active');
    assert.equal(created.revoked_at, null);
    assert.equal(created.description, 'ci');
    assert.equal(created.created_by, adminCredentials.user_id);
    assert.equal(created.workspace_id, server.owner.workspace_id);
    assert.ok(created.expires_at >= before + 3600 && created.expires_at <= now() + 3600);
    assert.ok(Math.abs(Date.parse(created.created_at) - Date.now()) < 60_000);
    const byDefault = await admin.tokens.create({ app: 'web', env: 'prd' });
    assert.ok(Math.abs(byDefault.expires_at - (now() + 30 * 86400)) <= 5, 'default lifetime is 30 days');
    assert.notEqual(byDefault.token, created.token);
  });

  it('list gives metadata only: never the token', async () => {
    const created = await admin.tokens.create({ app: 'api', env: 'dev', ttl_seconds: 600 });
    const listed = await admin.tokens.list();
    const mine = listed.find((t) => t.token_id === created.token_id);
    const { token, ...metadata } = created;
    assert.deepEqual(mine, metadata);
    const text = JSON.stringify(listed);
    assert.equal(text.includes(token), false);
    assert.equal(text.includes(token.slice(29)), false, 'not even the secret part');
    assert.ok(listed.every((t) => !('token' in t) && !('token_hash' in t)));
  });

  it('works in place of user credentials: { token, url } and DUCTAPE_TOKEN', async () => {
    const created = await admin.tokens.create({ app: 'web', env: 'prd' });
    const me = (await tokenClient(created.token).whoami()) as TokenWhoAmI;
    assert.deepEqual(me, {
      kind: 'service_token',
      workspace_id: server.owner.workspace_id,
      workspace_name: 'test workspace',
      token_id: created.token_id,
      app: 'web',
      env: 'prd',
      expires_at: created.expires_at,
    });
    const saved = { token: process.env.DUCTAPE_TOKEN, url: process.env.DUCTAPE_URL };
    process.env.DUCTAPE_TOKEN = created.token;
    process.env.DUCTAPE_URL = server.url;
    try {
      const fromEnv = new Ductape();
      assert.equal(fromEnv.url, server.url);
      assert.equal(((await fromEnv.whoami()) as TokenWhoAmI).token_id, created.token_id);
      assert.equal((await fromEnv.secrets.fetch('OPEN')).value, 'open-value');
      // the option wins over the environment
      process.env.DUCTAPE_TOKEN = `dst_${'0'.repeat(24)}_${'A'.repeat(43)}`;
      assert.equal((await new Ductape({ token: created.token }).secrets.fetch('OPEN')).value, 'open-value');
      await expectError(new Ductape().whoami(), { status: 401, code: 'TOKEN_INVALID' });
    } finally {
      for (const [name, value] of [
        ['DUCTAPE_TOKEN', saved.token],
        ['DUCTAPE_URL', saved.url],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('revoke takes effect at the very next request', async () => {
    const created = await admin.tokens.create({ app: 'web', env: 'prd' });
    const service = tokenClient(created.token);
    assert.equal((await service.secrets.fetch('OPEN')).value, 'open-value');
    assert.equal(await admin.tokens.revoke(created.token_id), true);
    await expectError(service.secrets.fetch('OPEN'), {
      status: 401,
      code: 'TOKEN_INVALID',
      absent: ['open-value'],
    });
    await expectError(service.whoami(), { status: 401, code: 'TOKEN_INVALID' });
    const listed = (await admin.tokens.list()).find((t) => t.token_id === created.token_id);
    assert.equal(listed?.status, 'revoked');
    assert.ok(listed?.revoked_at);
    assert.equal(await admin.tokens.revoke(created.token_id), true, 'revoking again is harmless');
    const again = (await admin.tokens.list()).find((t) => t.token_id === created.token_id);
    assert.equal(again?.revoked_at, listed?.revoked_at, 'the first revoke time is kept');
    await expectError(admin.tokens.revoke('0123456789abcdef01234567'), {
      status: 404,
      code: 'TOKEN_NOT_FOUND',
    });
    await expectError(admin.tokens.revoke('not-a-token-id'), {
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'id',
    });
  });

  it('an expired token is 401 TOKEN_EXPIRED', async () => {
    const created = await admin.tokens.create({ app: 'web', env: 'prd', ttl_seconds: 60 });
    const service = tokenClient(created.token);
    assert.equal((await service.secrets.fetch('OPEN')).value, 'open-value');
    await serverSql(server, 'UPDATE service_tokens SET expires_at = $1 WHERE id = $2', [
      now() - 1,
      created.token_id,
    ]);
    if (backend === 'postgres') {
      // SQL behind the server's back: on SQLite the server notices another connection's
      // commit by itself; on PostgreSQL it hears of it when announced as the store announces
      // its own changes (see principal-listener.ts), else only after the cache's maximum age.
      const payload = `token ${created.token_id} test ${server.env.DUCTAPE_PG_SCHEMA as string}`;
      await serverSql(server, 'SELECT pg_notify($1, $2)', [PRINCIPAL_CHANNEL, payload]);
      await sleep(ECHO_WAIT_MS);
    }
    await expectError(service.secrets.fetch('OPEN'), {
      status: 401,
      code: 'TOKEN_EXPIRED',
      absent: ['open-value'],
    });
    await expectError(service.secrets.resolve('$Secret{OPEN}'), { status: 401, code: 'TOKEN_EXPIRED' });
    const listed = (await admin.tokens.list()).find((t) => t.token_id === created.token_id);
    assert.equal(listed?.status, 'expired');
  });

  it("a token of another workspace sees nothing of this workspace's secrets", async () => {
    const otherOwner = server.client(await server.newWorkspace());
    const foreign = await otherOwner.tokens.create({ app: 'web', env: 'prd' });
    const service = tokenClient(foreign.token);
    await expectError(service.secrets.fetch('OPEN'), {
      status: 404,
      code: 'SECRET_NOT_FOUND',
      absent: ['open-value'],
    });
    await expectError(service.secrets.resolve('$Secret{OPEN}'), { status: 404, code: 'SECRET_NOT_FOUND' });
    assert.deepEqual(await service.secrets.list(), []);
    assert.deepEqual((await service.secrets.export()).secrets, []);
    await expectError(admin.tokens.revoke(foreign.token_id), { status: 404, code: 'TOKEN_NOT_FOUND' });
    assert.equal(
      (await admin.tokens.list()).some((t) => t.token_id === foreign.token_id),
      false,
    );
  });

  it('is stored only as its SHA-256: the token is nowhere in the database', async () => {
    const created = await admin.tokens.create({ app: 'web', env: 'prd', description: 'hash check' });
    const secretPart = created.token.slice(29);
    const digest = createHash('sha256').update(created.token).digest();
    const [row] = (await serverSql(server, 'SELECT token_hash FROM service_tokens WHERE id = $1', [
      created.token_id,
    ])) as { token_hash: Buffer }[];
    assert.deepEqual(Buffer.from(row?.token_hash ?? []), digest);
    const needles = [created.token, secretPart, Buffer.from(secretPart, 'base64url').toString('hex')];
    if (backend === 'sqlite') {
      const files = readdirSync(server.dataDir).map((f) => readFileSync(join(server.dataDir, f)));
      assert.ok(
        files.some((b) => b.includes(digest)),
        'the scan sees the stored hash',
      );
      for (const needle of [...needles.map((n) => Buffer.from(n)), Buffer.from(secretPart, 'base64url')]) {
        assert.equal(
          files.some((b) => b.includes(needle)),
          false,
          'the token is stored in clear',
        );
      }
    } else {
      const tables = (await serverSql(
        server,
        'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()',
      )) as { table_name: string }[];
      assert.ok(tables.some((t) => t.table_name === 'service_tokens'));
      let dump = '';
      for (const { table_name } of tables) {
        const rows = (await serverSql(server, `SELECT t::text AS r FROM "${table_name}" t`)) as {
          r: string;
        }[];
        dump += rows.map((x) => x.r).join('\n');
      }
      assert.ok(dump.includes(digest.toString('hex')), 'the scan sees the stored hash');
      for (const needle of needles)
        assert.equal(dump.includes(needle), false, 'the token is stored in clear');
    }
  });

  it('garbage and altered dst_ tokens are 401', async () => {
    const created = await admin.tokens.create({ app: 'web', env: 'prd' });
    const last = created.token.at(-1) === 'A' ? 'B' : 'A';
    const other = await admin.tokens.create({ app: 'web', env: 'prd' });
    const garbage = [
      'dst_',
      'dst_garbage',
      `dst_${'0'.repeat(24)}_${'A'.repeat(43)}`,
      created.token.slice(0, -1) + last,
      created.token + 'x',
      `dst_${created.token_id}_${other.token.slice(29)}`,
      created.token.toUpperCase(),
    ];
    for (const bearer of garbage) {
      const answer = await rawRequest(server.url, 'GET', '/v1/secrets/OPEN', { token: bearer });
      assert.equal(assertErrorBody(answer, 401).code.startsWith('TOKEN_'), true, bearer);
      assert.equal(answer.text.includes('open-value'), false);
    }
    assert.equal((await tokenClient(created.token).secrets.fetch('OPEN')).value, 'open-value');
  });

  it('bounds the lifetime and checks every field, naming it', async () => {
    const bad = (input: Record<string, unknown>, field: string | undefined) =>
      expectError(admin.tokens.create(input as unknown as CreateTokenInput), {
        status: 400,
        code: 'VALIDATION_ERROR',
        message: field === undefined ? /^request body: / : new RegExp(`^${field}: `),
        ...(field === undefined ? {} : { field }),
      });
    const base = { app: 'web', env: 'prd' };
    await bad({ ...base, ttl_seconds: 10 }, 'ttl_seconds');
    await bad({ ...base, ttl_seconds: 59 }, 'ttl_seconds');
    await bad({ ...base, ttl_seconds: 5 * 366 * 86400 + 1 }, 'ttl_seconds');
    await bad({ ...base, ttl_seconds: 90.5 }, 'ttl_seconds');
    await bad({ ...base, ttl_seconds: '3600' }, 'ttl_seconds');
    await bad({ ...base, expires_at: now() - 10 }, 'expires_at');
    await bad({ ...base, expires_at: Date.now() + 86_400_000 }, 'expires_at');
    await bad({ ...base, ttl_seconds: 3600, expires_at: now() + 3600 }, undefined);
    await bad({ ...base, app: 'Web App' }, 'app');
    await bad({ app: 'web' }, 'env');
    await bad({ ...base, scope: ['web'] }, 'scope');
    await bad({ ...base, description: 'half a pair \ud83d here' }, 'description');
    await bad({ ...base, description: 'd'.repeat(201) }, 'description');
    const longest = await admin.tokens.create({ ...base, ttl_seconds: 5 * 366 * 86400 });
    assert.ok(longest.expires_at >= now() + 5 * 366 * 86400 - 2);
    const shortest = await admin.tokens.create({ ...base, ttl_seconds: 60 });
    assert.equal(shortest.status, 'active');
    const dated = await admin.tokens.create({ ...base, expires_at: now() + 7200 });
    assert.ok(Math.abs(dated.expires_at - (now() + 7200)) <= 2);
  });
});
