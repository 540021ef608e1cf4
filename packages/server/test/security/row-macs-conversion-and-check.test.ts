/**
 * Row MACs over time, on each backend: a workspace from before them (legacy data keys, rows
 * without a MAC) is converted when a server starts, and from then on a cleared MAC is refused,
 * never filled in again, whatever is done to the database; rotations keep what the data keys
 * say. `ductape integrity check` lists exactly the rows altered behind the server's back and
 * shows no value.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { toKeyObject, unwrapDataKey, wrapDataKey } from '../../src/crypto/envelope.js';
import { checkSecrets, convertLegacyWorkspaces } from '../../src/services/secrets/secret-integrity.js';
import { describeEachBackend, newMasterKey } from '../helpers/backends.js';
import {
  runOperator,
  startTestServer,
  storeEnv,
  type Credentials,
  type TestServer,
} from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';
import { openRawDb, type RawDb } from '../helpers/raw-db.js';

interface Finding {
  workspace_id: string;
  key: string | null;
  version: number | null;
  problem: string;
}

describeEachBackend('row MACs: conversion, rotations and the integrity check', (backend) => {
  const masterKey = newMasterKey();
  let store: Awaited<ReturnType<typeof storeEnv>>;
  let srv: TestServer;
  let db: RawDb;
  const values = new Set<string>();

  async function fill(who: Credentials, keys: string[]): Promise<Map<string, string>> {
    const token = await accessToken(srv.url, who);
    const written = new Map<string, string>();
    for (const key of keys) {
      const value = `value-of-${key}-${randomBytes(8).toString('hex')}`;
      values.add(value);
      written.set(key, value);
      const answer = await rawRequest(srv.url, 'POST', '/v1/secrets', { token, body: { key, value } });
      assert.equal(answer.status, 201, answer.text);
    }
    return written;
  }

  async function read(
    who: Credentials,
    key: string,
  ): Promise<{ status: number; value?: string; code?: string }> {
    const answer = await rawRequest(srv.url, 'GET', `/v1/secrets/${key}`, {
      token: await accessToken(srv.url, who),
    });
    const json = answer.json as { value?: string; code?: string };
    return { status: answer.status, value: json.value, code: json.code };
  }

  async function check(
    workspaceId?: string,
  ): Promise<{ code: number | null; findings: Finding[]; out: string }> {
    const args = ['integrity', 'check', '--json', ...(workspaceId ? ['--workspace', workspaceId] : [])];
    const result = await runOperator(args, { env: store.env });
    const out = result.stdout + result.stderr;
    for (const value of values) assert.equal(out.includes(value), false, 'the check printed a value');
    let findings: Finding[] = [];
    try {
      findings = (JSON.parse(result.stdout) as { findings: Finding[] }).findings;
    } catch {
      // left empty: the caller's assertion on the exit code shows the output
    }
    return { code: result.code, findings, out };
  }

  /** The database as a server from before row MACs left it: no MACs, data keys of format 1. */
  async function makeLegacy(workspaceId: string): Promise<void> {
    const kek = toKeyObject(Buffer.from(masterKey, 'base64'));
    await db.query('UPDATE secrets SET mac = NULL WHERE workspace_id = ?', [workspaceId]);
    for (const row of await db.query<{ version: number; wrapped: Buffer }>(
      'SELECT version, wrapped FROM workspace_keys WHERE workspace_id = ?',
      [workspaceId],
    )) {
      const raw = unwrapDataKey(kek, workspaceId, row.version, Buffer.from(row.wrapped));
      await db.query('UPDATE workspace_keys SET wrapped = ? WHERE workspace_id = ? AND version = ?', [
        wrapDataKey(kek, workspaceId, row.version, raw, 0x01),
        workspaceId,
        row.version,
      ]);
    }
  }

  const restart = async (): Promise<void> => {
    await srv.server.close();
    srv = await startTestServer(store.env, backend);
  };
  const dataKeyFormats = async (workspaceId: string): Promise<number[]> =>
    (
      await db.query<{ wrapped: Buffer }>(
        'SELECT wrapped FROM workspace_keys WHERE workspace_id = ? ORDER BY version',
        [workspaceId],
      )
    ).map((r) => Buffer.from(r.wrapped)[0] as number);

  before(async () => {
    store = await storeEnv(backend, { DUCTAPE_MASTER_KEY: masterKey });
    srv = await startTestServer(store.env, backend);
    db = await openRawDb(backend, srv.env);
  });
  after(async () => {
    await db?.close();
    await srv?.stop();
  });

  it('a workspace from before row MACs is converted at start; afterwards a cleared MAC is refused, not filled in', async () => {
    const legacy = await srv.newWorkspace('from before row MACs');
    const written = await fill(legacy, ['OLD_A', 'OLD_B', 'OLD_C']);
    await srv.server.close();
    await makeLegacy(legacy.workspace_id);
    // A data key rotation before any new server started: it must not convert the workspace.
    const rotated = await runOperator(['keys', 'rotate-workspace', '--workspace', legacy.workspace_id], {
      env: store.env,
    });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.deepEqual(await dataKeyFormats(legacy.workspace_id), [1, 1]);

    srv = await startTestServer(store.env, backend);
    for (const [key, value] of written)
      assert.deepEqual(await read(legacy, key), { status: 200, value, code: undefined });
    assert.deepEqual(await dataKeyFormats(legacy.workspace_id), [2, 2]);
    const macs = await db.query<{ mac: Buffer | null }>('SELECT mac FROM secrets WHERE workspace_id = ?', [
      legacy.workspace_id,
    ]);
    assert.equal(macs.filter((r) => r.mac === null).length, 0);
    const clean = await check(legacy.workspace_id);
    assert.equal(clean.code, 0, clean.out);

    // The attacker clears a MAC and widens the scope, then waits for a restart: no new MAC.
    await db.query(
      "UPDATE secrets SET mac = NULL, description = 'moved' WHERE workspace_id = ? AND key = 'OLD_B'",
      [legacy.workspace_id],
    );
    await restart();
    const refused = await read(legacy, 'OLD_B');
    assert.equal(refused.code, 'SECRET_INTEGRITY_ERROR');
    const listed = await check(legacy.workspace_id);
    assert.equal(listed.code, 1, listed.out);
    assert.deepEqual(
      listed.findings.map((f) => [f.key, f.problem]),
      [['OLD_B', 'no MAC']],
    );
    // Nor does making the data keys say "legacy" again: they no longer open at all.
    const converted = await db.query<{ version: number; wrapped: Buffer }>(
      'SELECT version, wrapped FROM workspace_keys WHERE workspace_id = ?',
      [legacy.workspace_id],
    );
    for (const row of converted) {
      const relabelled = Buffer.from(row.wrapped);
      relabelled[0] = 0x01;
      await db.query('UPDATE workspace_keys SET wrapped = ? WHERE workspace_id = ? AND version = ?', [
        relabelled,
        legacy.workspace_id,
        row.version,
      ]);
    }
    await restart();
    assert.equal((await read(legacy, 'OLD_A')).code, 'WORKSPACE_KEY_ERROR');
    const macsAfter = await db.query<{ key: string }>(
      'SELECT key FROM secrets WHERE workspace_id = ? AND mac IS NULL',
      [legacy.workspace_id],
    );
    assert.deepEqual(
      macsAfter.map((r) => r.key),
      ['OLD_B'],
      'no MAC was filled in',
    );
    // Put back as the server left them, for the suites after this one.
    for (const row of converted) {
      await db.query('UPDATE workspace_keys SET wrapped = ? WHERE workspace_id = ? AND version = ?', [
        row.wrapped,
        legacy.workspace_id,
        row.version,
      ]);
    }
  });

  it('conversion and the check walk a workspace a page at a time: every row of every page', async () => {
    const legacy = await srv.newWorkspace('many pages');
    const keys = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7'];
    const written = await fill(legacy, keys);
    await makeLegacy(legacy.workspace_id);
    const { store: live, keyring } = srv.server.runtime;
    keyring.forget();
    const converted = await convertLegacyWorkspaces(live, keyring, 2);
    assert.deepEqual([converted.workspaces, converted.rows], [[legacy.workspace_id], keys.length]);
    for (const [key, value] of written) {
      assert.deepEqual(await read(legacy, key), { status: 200, value, code: undefined });
    }
    const clean = await checkSecrets(live, keyring, { workspaceId: legacy.workspace_id, pageSize: 2 });
    assert.deepEqual([clean.rows, clean.findings], [keys.length, []]);
    await db.query("UPDATE secrets SET revoked_at = 1 WHERE workspace_id = ? AND key IN ('P2', 'P5', 'P7')", [
      legacy.workspace_id,
    ]);
    // The check is a command of its own (operator/commands/integrity.ts); here it runs in the
    // server's process, in the turn in which the rows were altered through another connection,
    // and the store's reads of one turn share a state (read-snapshot.ts): end that turn first.
    await nextTurn();
    const found = await checkSecrets(live, keyring, { workspaceId: legacy.workspace_id, pageSize: 2 });
    assert.deepEqual(
      found.findings.map((f) => f.key),
      ['P2', 'P5', 'P7'],
    );
  });

  it('lists exactly the rows altered behind the server, and what failed; an untouched workspace passes', async () => {
    const target = await srv.newWorkspace('checked');
    const untouched = await srv.newWorkspace('untouched');
    await fill(target, ['A_FINE', 'B_SCOPE', 'C_REVOKED', 'D_VERSION', 'E_CIPHER', 'F_HISTORY', 'G_FINE']);
    await fill(untouched, ['FINE']);
    const token = await accessToken(srv.url, target);
    const patched = await rawRequest(srv.url, 'PATCH', '/v1/secrets/F_HISTORY', {
      token,
      body: { value: 'second' },
    });
    assert.equal(patched.status, 200, patched.text);
    const ws = target.workspace_id;
    const narrowed = backend === 'sqlite' ? '["web"]' : ['web'];
    await db.query("UPDATE secrets SET scope = ? WHERE workspace_id = ? AND key = 'B_SCOPE'", [narrowed, ws]);
    await db.query("UPDATE secrets SET revoked_at = 1 WHERE workspace_id = ? AND key = 'C_REVOKED'", [ws]);
    await db.query("UPDATE secrets SET version = 7 WHERE workspace_id = ? AND key = 'D_VERSION'", [ws]);
    const [cipher] = await db.query<{ sealed: Buffer }>(
      "SELECT sealed FROM secrets WHERE workspace_id = ? AND key = 'E_CIPHER'",
      [ws],
    );
    const flipped = Buffer.from(cipher!.sealed);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    await db.query("UPDATE secrets SET sealed = ? WHERE workspace_id = ? AND key = 'E_CIPHER'", [
      flipped,
      ws,
    ]);
    const [history] = await db.query<{ id: string }>(
      "SELECT id FROM secrets WHERE workspace_id = ? AND key = 'F_HISTORY'",
      [ws],
    );
    await db.query('UPDATE secret_versions SET sealed = ? WHERE secret_id = ? AND version = 1', [
      flipped,
      history!.id,
    ]);

    const found = await check(ws);
    assert.equal(found.code, 1, found.out);
    assert.deepEqual(
      found.findings.map((f) => [f.workspace_id, f.key, f.version, f.problem]),
      [
        [ws, 'B_SCOPE', 1, 'MAC does not match the row'],
        [ws, 'C_REVOKED', 1, 'MAC does not match the row'],
        [ws, 'D_VERSION', 7, 'MAC does not match the row'],
        [ws, 'D_VERSION', 7, 'value does not open'],
        [ws, 'E_CIPHER', 1, 'value does not open'],
        [ws, 'F_HISTORY', 1, 'recorded version does not open'],
      ],
    );
    const fine = await check(untouched.workspace_id);
    assert.equal(fine.code, 0, fine.out);
    assert.deepEqual(fine.findings, []);
    // Every workspace at once: the same rows (and the first test's) are listed, exit 1.
    const all = await check();
    assert.equal(all.code, 1, all.out);
    assert.ok(all.findings.some((f) => f.workspace_id === ws && f.key === 'B_SCOPE'));
    assert.equal(
      all.findings.some((f) => f.workspace_id === untouched.workspace_id),
      false,
    );
  });

  it('a master key rotation and a data key rotation keep the rows verifying and the data keys saying so', async () => {
    const owner = await srv.newWorkspace('rotated');
    const written = await fill(owner, ['ROT_A', 'ROT_B']);
    const workspace = await runOperator(
      ['keys', 'rotate-workspace', '--workspace', owner.workspace_id, '--reencrypt'],
      {
        env: store.env,
      },
    );
    assert.equal(workspace.code, 0, workspace.stderr);
    const newKey = newMasterKey();
    const master = await runOperator(['keys', 'rotate-master'], {
      env: { ...store.env, DUCTAPE_NEW_MASTER_KEY: newKey },
    });
    assert.equal(master.code, 0, master.stderr);
    assert.deepEqual(await dataKeyFormats(owner.workspace_id), [2, 2]);
    await srv.server.close();
    srv = await startTestServer(
      { ...store.env, DUCTAPE_MASTER_KEY: newKey, DUCTAPE_MASTER_KEY_PREVIOUS: masterKey },
      backend,
    );
    for (const [key, value] of written)
      assert.deepEqual(await read(owner, key), { status: 200, value, code: undefined });
    const withNewKey = await runOperator(
      ['integrity', 'check', '--json', '--workspace', owner.workspace_id],
      {
        env: { ...store.env, DUCTAPE_MASTER_KEY: newKey },
      },
    );
    assert.equal(withNewKey.code, 0, withNewKey.stdout + withNewKey.stderr);
  });
});
