/**
 * The audit MAC key rotates and the chain goes on (issue 13, item 1), once per backend: each
 * entry and head names the key version that MACs it, `audit verify` checks each with that
 * key, an altered entry is named on either side of the rotation, and an attacker who holds
 * the retired key (the old master key and an old copy of the database) cannot re-MAC the
 * history with it unnoticed.
 */
import type Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, test } from 'node:test';
import {
  auditEntryMacV1,
  auditHeadMacV1,
  unwrapServerKeyRow,
  type AuditRow,
  type ServerKeyRecord,
} from '../helpers/attacker.js';
import { describeEachBackend, newMasterKey } from '../helpers/backends.js';
import { runOperator, startTestServer, type TestServer } from '../helpers/harness.js';
import { serverSql } from '../helpers/usage.js';

describeEachBackend('the audit MAC key rotates, the chain goes on', (backend) => {
  const master = newMasterKey();
  let server: TestServer;
  let owner: Ductape;
  let ws: string;
  let stolen: Buffer;
  const sql = (text: string, values: unknown[] = []) => serverSql(server, text, values);

  async function verify(workspace?: string): Promise<{ code: number | null; text: string }> {
    const args = ['audit', 'verify', ...(workspace ? ['--workspace', workspace] : [])];
    const result = await runOperator(args, { env: server.env, cwd: tmpdir() });
    return { code: result.code, text: result.stdout + result.stderr };
  }
  async function assertIntact(workspace?: string): Promise<void> {
    const verdict = await verify(workspace);
    assert.equal(verdict.code, 0, verdict.text);
    assert.doesNotMatch(verdict.text, /BROKEN/);
  }
  async function assertBroken(workspace: string, message: RegExp): Promise<void> {
    const verdict = await verify(workspace);
    assert.equal(verdict.code, 1, verdict.text);
    assert.match(verdict.text, /BROKEN/);
    assert.match(verdict.text, message);
  }
  const chainRows = async (): Promise<AuditRow[]> =>
    (await sql('SELECT * FROM audit_log WHERE workspace_id = $1 ORDER BY seq', [ws])) as AuditRow[];
  const headRow = async (): Promise<Record<string, unknown>> =>
    (
      (await sql('SELECT * FROM audit_heads WHERE workspace_id = $1', [ws])) as Record<string, unknown>[]
    )[0] ?? {};

  /** Puts back a chain saved with chainRows() and headRow(). */
  async function restore(rows: AuditRow[], head: Record<string, unknown>): Promise<void> {
    await sql('DELETE FROM audit_log WHERE workspace_id = $1', [ws]);
    for (const row of rows) {
      const columns = Object.keys(row);
      await sql(
        `INSERT INTO audit_log (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) => row[c]),
      );
    }
    await sql(
      'UPDATE audit_heads SET seq = $2, mac = $3, head_mac = $4, mac_key = $5 WHERE workspace_id = $1',
      [ws, head.seq, head.mac, head.head_mac, head.mac_key],
    );
  }

  before(async () => {
    server = await startTestServer({ DUCTAPE_MASTER_KEY: master }, backend);
    owner = server.client(server.owner);
    ws = server.owner.workspace_id;
    for (let i = 0; i < 4; i++) await owner.secrets.create({ key: `K${i}`, value: `value-${i}` });
    // The attacker's copy of the audit key, opened with the master key.
    const [row] = (await sql("SELECT * FROM server_keys WHERE name = 'audit-mac'")) as ServerKeyRecord[];
    assert.ok(row);
    stolen = unwrapServerKeyRow(master, row);
  });
  after(() => server.stop());

  test('entries name their key; the chain verifies across the rotation, which is on the record in every chain', async () => {
    const other = await server.newWorkspace('second');
    const before = (await chainRows()).length;
    const result = await runOperator(['keys', 'rotate-server', '--json'], { env: server.env, cwd: tmpdir() });
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const report = JSON.parse(result.stdout) as {
      audit_key: { version: number; retired_versions: number[] };
    };
    assert.equal(report.audit_key.version, 2);
    assert.deepEqual(report.audit_key.retired_versions, [1]);
    await owner.secrets.update('K0', { value: 'after-rotation' });
    await owner.secrets.fetch('K0');

    const rows = await chainRows();
    const keys = rows.map((r) => Number(r.mac_key));
    assert.deepEqual(keys.slice(0, before), Array<number>(before).fill(1), 'older entries keep their key');
    assert.equal(rows[before]?.action, 'key.rotate_server');
    assert.deepEqual(keys.slice(before), Array<number>(rows.length - before).fill(2));
    assert.equal(Number((await headRow()).mac_key), 2);
    const otherRows = (await sql(
      "SELECT mac_key FROM audit_log WHERE workspace_id = $1 AND action = 'key.rotate_server'",
      [other.workspace_id],
    )) as { mac_key: number }[];
    assert.deepEqual(
      otherRows.map((r) => Number(r.mac_key)),
      [2],
    );
    const [retired] = (await sql(
      "SELECT retired_at FROM server_keys WHERE name = 'audit-mac' AND version = 1",
    )) as { retired_at: number | null }[];
    assert.notEqual(retired?.retired_at ?? null, null);
    await assertIntact();
  });

  test('an entry altered after the rotation, or before it, is still named', async () => {
    const rows = await chainRows();
    const newer = rows.find((r) => Number(r.mac_key) === 2 && r.action === 'secret.update');
    const older = rows.find((r) => Number(r.mac_key) === 1 && r.action === 'secret.create');
    assert.ok(newer && older);
    for (const row of [newer, older]) {
      await sql('UPDATE audit_log SET secret_key = $3 WHERE workspace_id = $1 AND seq = $2', [
        ws,
        row.seq,
        'ELSE',
      ]);
      await assertBroken(ws, new RegExp(`entry #${Number(row.seq)} was altered`));
      await sql('UPDATE audit_log SET secret_key = $3 WHERE workspace_id = $1 AND seq = $2', [
        ws,
        row.seq,
        row.secret_key,
      ]);
      await assertIntact(ws);
    }
    // An entry of the new key relabelled as the old key's does not verify either.
    await sql('UPDATE audit_log SET mac_key = 1 WHERE workspace_id = $1 AND seq = $2', [ws, newer.seq]);
    await assertBroken(ws, new RegExp(`entry #${Number(newer.seq)}`));
    await sql('UPDATE audit_log SET mac_key = 2 WHERE workspace_id = $1 AND seq = $2', [ws, newer.seq]);
    await assertIntact(ws);
  });

  test('the retired key cannot re-MAC the history: a chain rewritten with it is caught', async () => {
    const saved = await chainRows();
    const savedHead = await headRow();

    /** Re-chains every entry from `from` on with the stolen key, as key 1, and seals the head with it. */
    async function rewrite(rows: AuditRow[], from: number): Promise<void> {
      let prev: Buffer = from === 1 ? Buffer.alloc(32) : Buffer.from(rows[from - 2]?.mac as Buffer);
      for (const row of rows.filter((r) => Number(r.seq) >= from)) {
        const mac = auditEntryMacV1(stolen, prev, row);
        await sql(
          'UPDATE audit_log SET client_ip = $3, prev_mac = $4, mac = $5, mac_key = 1 WHERE workspace_id = $1 AND seq = $2',
          [ws, row.seq, row.client_ip, prev, mac],
        );
        prev = mac;
      }
      const last = Number(rows[rows.length - 1]?.seq);
      await sql(
        'UPDATE audit_heads SET seq = $2, mac = $3, head_mac = $4, mac_key = 1 WHERE workspace_id = $1',
        [ws, last, prev, auditHeadMacV1(stolen, ws, last, prev)],
      );
    }

    // 1. Every entry re-MACed with the retired key, an early one altered (its address).
    const edited = saved.map((r) => ({ ...r }));
    (edited[1] as AuditRow).client_ip = '203.0.113.7';
    await rewrite(edited, 2);
    await assertBroken(ws, /audit key 1.*retired|retired.*audit key 1/);
    await restore(saved, savedHead);
    await assertIntact(ws);

    // 1b. The same, then the next request appends with the current key: the rewritten history is
    // not laundered by it (the chain moves to the current key after the old one was retired).
    await rewrite(edited, 2);
    await owner.secrets.fetch('K1');
    const moved = (await chainRows()).at(-1);
    assert.equal(Number(moved?.mac_key), 2, 'the server appended with the current key');
    await assertBroken(ws, /moves from audit key 1 to 2 .*after key 1 was retired/);
    await restore(saved, savedHead);
    await assertIntact(ws);

    // 2. Cut back to before the rotation, the old end sealed again with the retired key.
    const firstNew = saved.find((r) => Number(r.mac_key) === 2);
    assert.ok(firstNew);
    await sql('DELETE FROM audit_log WHERE workspace_id = $1 AND seq >= $2', [ws, firstNew.seq]);
    const kept = saved.filter((r) => Number(r.seq) < Number(firstNew.seq));
    const lastKept = kept[kept.length - 1] as AuditRow;
    await sql(
      'UPDATE audit_heads SET seq = $2, mac = $3, head_mac = $4, mac_key = 1 WHERE workspace_id = $1',
      [
        ws,
        lastKept.seq,
        lastKept.mac,
        auditHeadMacV1(stolen, ws, Number(lastKept.seq), Buffer.from(lastKept.mac)),
      ],
    );
    await assertBroken(ws, /audit key 1.*retired|retired.*audit key 1/);
    await restore(saved, savedHead);
    await assertIntact();
  });
});
