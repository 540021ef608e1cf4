/**
 * The audit log, end to end over real HTTP, once per backend: every action writes exactly the
 * entries expected (successes and refusals), no entry holds a value or a credential, and
 * admins page through it with filters.
 */
import type { AuditEntry } from '@ductape/sdk';
import Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { envOf } from '../helpers/cli-session.js';
import { runCli, startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken } from '../helpers/http.js';
import { expectError, serverSql } from '../helpers/usage.js';

/** Every entry of the owner's workspace, oldest first, through the SDK's paging. */
async function wholeLog(client: Ductape): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await client.audit.list({ limit: 7, cursor });
    entries.push(...page.entries);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return entries.reverse();
}

type Row = [
  action: string,
  key: string | null,
  version: number | null,
  outcome: string,
  code: string | null,
  actor: string,
];

const rowOf = (e: AuditEntry): Row => [e.action, e.key, e.version, e.outcome, e.code, e.actor.type];

describeEachBackend('audit log', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  const values = [
    'audit-value-one-7f3a',
    'audit-value-two-91bc',
    'audit-value-three-c2d4',
    'audit-import-5e6f',
  ];

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
  });
  after(() => server.stop());

  test('every action writes exactly the entries expected, in order, with no value or credential', async () => {
    const [v1, v2, v3, v4] = values as [string, string, string, string];
    await owner.init();
    await owner.secrets.create({ key: 'A', value: v1, scope: ['billing'], envs: ['prd'] });
    await owner.secrets.fetch('A');
    await owner.secrets.update('A', { value: v2 });
    await owner.secrets.update('A', { description: 'the billing key' });
    await owner.secrets.fetch('A', { version: 1 });
    await owner.secrets.rollback('A', 1);
    await owner.secrets.revoke('A');
    await owner.secrets.revoke('A');
    await owner.secrets.restore('A');
    await owner.secrets.create({ key: 'B', value: v3 });
    await owner.secrets.resolve({ a: '$Secret{A}', b: 'x $Secret{B}' }, { app: 'billing', env: 'prd' });
    await owner.secrets.export({ app: 'billing', env: 'prd' });
    await owner.secrets.import({
      secrets: [
        { key: 'C', value: v4 },
        { key: 'B', value: v4 },
      ],
    });
    const minted = await owner.tokens.create({ app: 'billing', env: 'prd' });
    const service = new Ductape({ token: minted.token, url: server.url });
    await service.secrets.fetch('A');
    await expectError(service.secrets.create({ key: 'Z', value: 'z' }), { status: 403, code: 'FORBIDDEN' });
    await owner.tokens.revoke(minted.token_id);
    const viewer = await owner.users.create({ role: 'viewer' });
    const viewerClient = server.client(viewer);
    await expectError(viewerClient.secrets.fetch('A'), { status: 403, code: 'FORBIDDEN' });
    await owner.users.setRole(viewer.user_id, 'developer');
    const rotated = await owner.users.rotateKey(viewer.user_id);
    await owner.users.remove(viewer.user_id);
    const wrong = server.client({ ...server.owner, private_key: 'dtk_' + 'f'.repeat(64) });
    await expectError(wrong.init(), { status: 401, code: 'INVALID_CREDENTIALS' });
    const bearer = await accessToken(server.url, server.owner);
    await owner.secrets.delete('C');
    await expectError(owner.secrets.fetch('C'), { status: 404, code: 'SECRET_NOT_FOUND' });

    const log = await wholeLog(owner);
    const expected: Row[] = [
      ['workspace.create', null, null, 'success', null, 'operator'],
      ['auth.sign_in', null, null, 'success', null, 'user'],
      ['secret.create', 'A', 1, 'success', null, 'user'],
      ['secret.read', 'A', 1, 'success', null, 'user'],
      ['secret.update', 'A', 2, 'success', null, 'user'],
      ['secret.update', 'A', 3, 'success', null, 'user'],
      ['secret.read', 'A', 1, 'success', null, 'user'],
      ['secret.rollback', 'A', 4, 'success', null, 'user'],
      ['secret.revoke', 'A', 4, 'success', null, 'user'],
      ['secret.revoke', 'A', 4, 'success', null, 'user'],
      ['secret.restore', 'A', 4, 'success', null, 'user'],
      ['secret.create', 'B', 1, 'success', null, 'user'],
      ['secret.resolve', 'A', 4, 'success', null, 'user'],
      ['secret.resolve', 'B', 1, 'success', null, 'user'],
      ['secret.export', 'A', 4, 'success', null, 'user'],
      ['secret.export', 'B', 1, 'success', null, 'user'],
      ['secret.create', 'C', 1, 'success', null, 'user'],
      ['secret.create', 'B', null, 'refused', 'SECRET_EXISTS', 'user'],
      ['token.create', null, null, 'success', null, 'user'],
      ['secret.read', 'A', 4, 'success', null, 'token'],
      ['secret.create', 'Z', null, 'refused', 'FORBIDDEN', 'token'],
      ['token.revoke', null, null, 'success', null, 'user'],
      ['user.create', null, null, 'success', null, 'user'],
      ['auth.sign_in', null, null, 'success', null, 'user'],
      ['secret.read', 'A', null, 'refused', 'FORBIDDEN', 'user'],
      ['user.set_role', null, null, 'success', null, 'user'],
      ['user.rotate_key', null, null, 'success', null, 'user'],
      ['user.remove', null, null, 'success', null, 'user'],
      ['auth.sign_in', null, null, 'refused', 'INVALID_CREDENTIALS', 'anonymous'],
      ['auth.sign_in', null, null, 'success', null, 'user'],
      ['secret.delete', 'C', null, 'success', null, 'user'],
      ['secret.read', 'C', null, 'refused', 'SECRET_NOT_FOUND', 'user'],
    ];
    assert.deepEqual(log.map(rowOf), expected);

    // Numbered from 1 without gaps, each naming its workspace, request and client.
    assert.deepEqual(
      log.map((e) => e.seq),
      expected.map((_, i) => i + 1),
    );
    for (const entry of log.slice(1)) {
      assert.equal(entry.workspace_id, server.owner.workspace_id);
      assert.match(entry.request_id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(entry.client_ip, '127.0.0.1');
    }
    const byAction = (action: string) => log.filter((e) => e.action === action);
    assert.equal(byAction('secret.update')[0]?.detail?.fields, 'value');
    assert.equal(byAction('secret.update')[1]?.detail?.fields, 'description');
    assert.equal(byAction('secret.rollback')[0]?.detail?.from_version, 1);
    assert.equal(byAction('secret.revoke')[1]?.detail?.unchanged, true);
    assert.deepEqual(byAction('secret.resolve')[0]?.detail, { app: 'billing', env: 'prd' });
    assert.equal(byAction('user.set_role')[0]?.detail?.role, 'developer');
    assert.equal(byAction('user.remove')[0]?.detail?.user_id, viewer.user_id);
    assert.equal(byAction('token.create')[0]?.detail?.token_id, minted.token_id);
    const tokenRead = log.find((e) => e.actor.type === 'token');
    assert.equal(tokenRead?.actor.id, minted.token_id);
    const failed = byAction('auth.sign_in').find((e) => e.outcome === 'refused');
    assert.equal(failed?.actor.id, server.owner.user_id, 'a failed sign-in names the user id as sent');
    assert.equal(log[2]?.actor.role, 'owner');

    // Nothing secret in any stored entry: values, private keys, the service token, a bearer.
    const rows = await serverSql(server, 'SELECT * FROM audit_log');
    const stored = JSON.stringify(rows, (_k, v: unknown) =>
      v && typeof v === 'object' && 'type' in v && (v as { type: string }).type === 'Buffer' ? '<bytes>' : v,
    );
    const sensitive = [
      ...values,
      server.owner.private_key,
      viewer.private_key,
      rotated.private_key,
      minted.token,
      minted.token.split('_').slice(2).join('_'), // the secret part (base64url may hold '_' itself)
      bearer,
    ];
    for (const needle of sensitive) assert.ok(!stored.includes(needle), 'an audit entry holds a secret');
  });

  test('reading the log is itself recorded, and filters and paging work', async () => {
    const first = await owner.audit.list({ limit: 1 });
    const again = await owner.audit.list({ limit: 1 });
    assert.equal(again.entries[0]?.action, 'audit.list');
    assert.equal(again.entries[0]?.seq, (first.entries[0]?.seq ?? 0) + 1);

    const reads = await owner.audit.list({ key: 'A', action: 'secret.read', limit: 1000 });
    assert.ok(reads.entries.length >= 3);
    assert.ok(reads.entries.every((e) => e.key === 'A' && e.action === 'secret.read'));
    const seqs = reads.entries.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
      'newest first',
    );

    const future = await owner.audit.list({ since: new Date(Date.now() + 3_600_000) });
    assert.deepEqual(future.entries, []);
    const past = await owner.audit.list({ until: '2000-01-01T00:00:00Z' });
    assert.deepEqual(past.entries, []);
    const byOwner = await owner.audit.list({ actor: server.owner.user_id, limit: 1000 });
    assert.ok(
      byOwner.entries.length > 10 && byOwner.entries.every((e) => e.actor.id === server.owner.user_id),
    );
  });

  test('only admins and owners read the log; another workspace sees only its own', async () => {
    const dev = server.client(await server.newUser('developer'));
    await expectError(dev.audit.list(), { status: 403, code: 'FORBIDDEN' });
    const admin = server.client(await server.newUser('admin'));
    assert.ok((await admin.audit.list()).entries.length > 0);

    const other = server.client(await server.newWorkspace('elsewhere'));
    const page = await other.audit.list({ limit: 1000 });
    const mine = page.entries.map((e) => e.workspace_id);
    assert.ok(mine.length > 0 && mine.every((id) => id !== server.owner.workspace_id));
  });

  test('reads by `ductape run` are recorded as such, one entry per value', async () => {
    await owner.secrets.create({ key: 'RUN_ME', value: 'run-value-83d1' });
    const ran = await runCli(
      ['run', '--app', 'web', '--env', 'dev', '--only', 'RUN_ME', '--', 'node', '-e', ''],
      {
        env: { PATH: process.env.PATH, DUCTAPE_URL: server.url, ...envOf(server.owner) },
      },
    );
    assert.equal(ran.code, 0, ran.stderr);
    const page = await owner.audit.list({ key: 'RUN_ME', action: 'secret.export' });
    assert.equal(page.entries.length, 1);
    assert.equal(page.entries[0]?.user_agent, 'ductape-cli/0.1.0 run');
  });

  test('a failed sign-in or import never records what was sent in a wrong field', async () => {
    const pasted = 'dtk_' + 'k'.repeat(43);
    const wrongField = new Ductape({
      workspace_id: server.owner.workspace_id,
      user_id: pasted,
      private_key: server.owner.private_key,
      url: server.url,
    });
    await expectError(wrongField.init(), { status: 401, code: 'INVALID_CREDENTIALS' });
    const notAKey = 'looks like a value: ' + 'v'.repeat(20);
    const imported = await owner.secrets.import({ secrets: [{ key: notAKey, value: 'x' }] });
    assert.equal(imported.results[0]?.status, 'refused');
    const rows = await serverSql(server, 'SELECT * FROM audit_log');
    const stored = JSON.stringify(rows);
    assert.ok(!stored.includes(pasted), 'a pasted private key reached the audit log');
    assert.ok(!stored.includes(notAKey), 'an invalid key reached the audit log');
    const page = await owner.audit.list({ action: 'auth.sign_in', limit: 1000 });
    const refusedSignIn = page.entries.find((e) => e.outcome === 'refused' && e.actor.id === null);
    assert.ok(refusedSignIn, 'the failed sign-in is still recorded, without the id sent');
  });

  test('bad filters are 400s naming the field', async () => {
    await expectError(owner.audit.list({ limit: 0 }), { status: 400, code: 'VALIDATION_ERROR' });
    await expectError(owner.audit.list({ since: 'yesterday' }), { status: 400, code: 'VALIDATION_ERROR' });
    await expectError(owner.audit.list({ action: 'secret.steal' as never }), {
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    await expectError(owner.audit.list({ cursor: '-1' }), { status: 400, code: 'VALIDATION_ERROR' });
  });

  test('a sign-in to a workspace that does not exist goes to the system chain', async () => {
    const nowhere = new Ductape({
      workspace_id: '0'.repeat(24),
      user_id: server.owner.user_id,
      private_key: server.owner.private_key,
      url: server.url,
    });
    await expectError(nowhere.init(), { status: 401, code: 'INVALID_CREDENTIALS' });
    const rows = (await serverSql(
      server,
      "SELECT action, outcome, code, actor_id FROM audit_log WHERE workspace_id = 'system'",
    )) as { action: string; outcome: string; code: string; actor_id: string }[];
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [
        {
          action: 'auth.sign_in',
          outcome: 'refused',
          code: 'INVALID_CREDENTIALS',
          actor_id: server.owner.user_id,
        },
      ],
    );
  });
});
