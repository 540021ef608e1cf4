/**
 * The audit log's hash chain, once per backend: `ductape-server audit verify` finds an edited,
 * deleted, reordered or cut-off entry and names it (and passes again once it is put back);
 * a change whose entry cannot be written does not happen; concurrent writers, on one node
 * or two, never fork the chain.
 */
import type Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { runOperator, startTestServer, type TestServer } from '../helpers/harness.js';
import { expectError, serverSql } from '../helpers/usage.js';

interface Verdict {
  code: number | null;
  text: string;
}

async function verify(server: TestServer, workspace?: string): Promise<Verdict> {
  const args = ['audit', 'verify', ...(workspace ? ['--workspace', workspace] : [])];
  const result = await runOperator(args, { env: server.env });
  return { code: result.code, text: result.stdout + result.stderr };
}

async function assertIntact(server: TestServer, workspace: string): Promise<void> {
  const verdict = await verify(server, workspace);
  assert.equal(verdict.code, 0, verdict.text);
  assert.match(verdict.text, /intact/);
}

async function assertBroken(server: TestServer, workspace: string, message: RegExp): Promise<void> {
  const verdict = await verify(server, workspace);
  assert.equal(verdict.code, 1, verdict.text);
  assert.match(verdict.text, /BROKEN/);
  assert.match(verdict.text, message);
}

describeEachBackend('audit chain', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  let ws: string;

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
    ws = server.owner.workspace_id;
    for (let i = 0; i < 6; i++) await owner.secrets.create({ key: `K${i}`, value: `value-${i}` });
  });
  after(() => server.stop());

  const sql = (text: string, values: unknown[] = []) => serverSql(server, text, values);

  test('an intact chain verifies, with the JSON report naming its head', async () => {
    await assertIntact(server, ws);
    const json = await runOperator(['audit', 'verify', '--workspace', ws, '--json'], { env: server.env });
    assert.equal(json.code, 0, json.stderr);
    const [report] = JSON.parse(json.stdout) as { intact: boolean; entries: number; head_seq: number }[];
    assert.equal(report?.intact, true);
    assert.equal(report?.entries, report?.head_seq);
    assert.ok((report?.entries ?? 0) >= 8);
  });

  test('an edited entry is named, and the chain verifies again once it is put back', async () => {
    await sql("UPDATE audit_log SET secret_key = 'K9' WHERE workspace_id = $1 AND seq = 3", [ws]);
    await assertBroken(server, ws, /entry #3 was altered/);
    await sql("UPDATE audit_log SET secret_key = 'K0' WHERE workspace_id = $1 AND seq = 3", [ws]);
    await assertIntact(server, ws);

    // Even a field the API shows as a plain string: the time.
    await sql('UPDATE audit_log SET at = at + 1 WHERE workspace_id = $1 AND seq = 5', [ws]);
    await assertBroken(server, ws, /entry #5 was altered/);
    await sql('UPDATE audit_log SET at = at - 1 WHERE workspace_id = $1 AND seq = 5', [ws]);
    await assertIntact(server, ws);
  });

  test('a deleted entry in the middle is named', async () => {
    const [row] = (await sql('SELECT * FROM audit_log WHERE workspace_id = $1 AND seq = 4', [ws])) as Record<
      string,
      unknown
    >[];
    assert.ok(row);
    await sql('DELETE FROM audit_log WHERE workspace_id = $1 AND seq = 4', [ws]);
    await assertBroken(server, ws, /entry #4 is missing/);
    const columns = Object.keys(row);
    await sql(
      `INSERT INTO audit_log (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((c) => row[c]),
    );
    await assertIntact(server, ws);
  });

  test('two entries swapped are caught at the first of them', async () => {
    const swap = async (): Promise<void> => {
      await sql('UPDATE audit_log SET seq = -1 WHERE workspace_id = $1 AND seq = 5', [ws]);
      await sql('UPDATE audit_log SET seq = 5 WHERE workspace_id = $1 AND seq = 6', [ws]);
      await sql('UPDATE audit_log SET seq = 6 WHERE workspace_id = $1 AND seq = -1', [ws]);
    };
    await swap();
    await assertBroken(server, ws, /entry #5 was altered/);
    await swap();
    await assertIntact(server, ws);
  });

  test('an entry re-chained by hand (without the key) is caught where the link breaks', async () => {
    // Replace #6's link to #5 with #4's mac: its own MAC no longer matches.
    const [before] = (await sql('SELECT prev_mac FROM audit_log WHERE workspace_id = $1 AND seq = 6', [
      ws,
    ])) as { prev_mac: Buffer }[];
    await sql(
      'UPDATE audit_log SET prev_mac = (SELECT mac FROM audit_log WHERE workspace_id = $1 AND seq = 4) WHERE workspace_id = $1 AND seq = 6',
      [ws],
    );
    await assertBroken(server, ws, /entry #6/);
    await sql('UPDATE audit_log SET prev_mac = $2 WHERE workspace_id = $1 AND seq = 6', [
      ws,
      before?.prev_mac,
    ]);
    await assertIntact(server, ws);
  });

  test('a cut-off tail is caught, also when the head is moved back by hand', async () => {
    const [head] = (await sql('SELECT seq, mac, head_mac FROM audit_heads WHERE workspace_id = $1', [
      ws,
    ])) as {
      seq: number;
      mac: Buffer;
      head_mac: Buffer;
    }[];
    assert.ok(head);
    const last = Number(head.seq);
    const [tail] = (await sql('SELECT * FROM audit_log WHERE workspace_id = $1 AND seq = $2', [
      ws,
      last,
    ])) as Record<string, unknown>[];
    assert.ok(tail);
    await sql('DELETE FROM audit_log WHERE workspace_id = $1 AND seq = $2', [ws, last]);
    await assertBroken(server, ws, new RegExp(`entry #${last} was removed from the end`));

    // Point the head at the entry before: without the key its MAC cannot be made.
    await sql(
      'UPDATE audit_heads SET seq = $2, mac = (SELECT mac FROM audit_log WHERE workspace_id = $1 AND seq = $2) WHERE workspace_id = $1',
      [ws, last - 1],
    );
    await assertBroken(server, ws, /head record was altered/);

    const columns = Object.keys(tail);
    await sql(
      `INSERT INTO audit_log (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((c) => tail[c]),
    );
    await sql('UPDATE audit_heads SET seq = $2, mac = $3, head_mac = $4 WHERE workspace_id = $1', [
      ws,
      last,
      head.mac,
      head.head_mac,
    ]);
    await assertIntact(server, ws);
  });

  test('an entry copied in from another workspace does not verify there', async () => {
    const other = await server.newWorkspace('copy target');
    await assertIntact(server, other.workspace_id);
    const [row] = (await sql('SELECT * FROM audit_log WHERE workspace_id = $1 AND seq = 2', [ws])) as Record<
      string,
      unknown
    >[];
    assert.ok(row);
    const columns = Object.keys(row);
    const copy = { ...row, workspace_id: other.workspace_id, seq: 2 };
    await sql(
      `INSERT INTO audit_log (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((c) => copy[c as keyof typeof copy]),
    );
    await assertBroken(server, other.workspace_id, /entry #2 was altered/);
    // verify without --workspace walks every chain and fails when any is broken.
    const all = await verify(server);
    assert.equal(all.code, 1);
    assert.match(all.text, new RegExp(`${ws}\\s+intact`));
    await sql('DELETE FROM audit_log WHERE workspace_id = $1 AND seq = 2', [other.workspace_id]);
    assert.equal((await verify(server)).code, 0);
  });

  test('a change whose audit entry cannot be written does not happen', async () => {
    const service = await owner.tokens.create({ app: 'a', env: 'prd' });
    const before = await owner.secrets.fetch('K1');
    const tokensBefore = (await owner.tokens.list()).length;
    const failAudit = async (on: boolean): Promise<void> => {
      if (backend === 'sqlite') {
        await sql(
          on
            ? "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END"
            : 'DROP TRIGGER audit_down',
        );
        return;
      }
      if (on) {
        await sql(
          "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RAISE EXCEPTION 'audit down'; END $f$",
        );
        await sql(
          'CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_down()',
        );
      } else {
        await sql('DROP TRIGGER audit_down ON audit_log');
        await sql('DROP FUNCTION audit_down()');
      }
    };
    await failAudit(true);
    try {
      const fails = async (call: Promise<unknown>): Promise<void> => {
        const error = await expectError(call, { status: 500, code: 'INTERNAL_ERROR' });
        assert.ok(!JSON.stringify(error.response?.data).includes(before.value));
      };
      await fails(owner.secrets.update('K1', { value: 'must-not-land' }));
      await fails(owner.secrets.update('K1', { description: 'must not land' }));
      await fails(owner.secrets.create({ key: 'NEVER', value: 'never' }));
      await fails(owner.secrets.delete('K2'));
      await fails(owner.secrets.revoke('K3'));
      await fails(owner.secrets.rollback('K1', 1));
      await fails(owner.tokens.create({ app: 'a', env: 'prd' }));
      await fails(owner.tokens.revoke(service.token_id));
      await fails(owner.users.create({ role: 'viewer' }));
      // A read whose entry cannot be written returns no value.
      await fails(owner.secrets.fetch('K1'));
      await fails(owner.secrets.export({}));
    } finally {
      await failAudit(false);
    }
    const after = await owner.secrets.fetch('K1');
    assert.equal(after.value, before.value);
    assert.equal(after.version, before.version);
    assert.equal(after.description, before.description);
    assert.equal((await owner.secrets.versions('K1')).length, 1);
    assert.equal(await owner.secrets.exists('NEVER'), false);
    assert.equal(await owner.secrets.exists('K2'), true);
    assert.equal((await owner.secrets.fetch('K3')).status, 'active');
    const tokens = await owner.tokens.list();
    assert.equal(tokens.length, tokensBefore);
    assert.equal(tokens.find((t) => t.token_id === service.token_id)?.status, 'active');
    assert.equal((await owner.users.list()).length, 1);
    await assertIntact(server, ws);
  });

  test('key rotations are on the record, as the operator who ran them', async () => {
    const rotated = await runOperator(
      ['keys', 'rotate-workspace', '--workspace', ws, '--reencrypt', '--json'],
      {
        env: server.env,
      },
    );
    assert.equal(rotated.code, 0, rotated.stderr);
    const rows = (await sql(
      "SELECT action, actor_type, detail FROM audit_log WHERE workspace_id = $1 AND action LIKE 'key.%' ORDER BY seq",
      [ws],
    )) as { action: string; actor_type: string; detail: string }[];
    assert.deepEqual(
      rows.map((r) => [r.action, r.actor_type]),
      [
        ['key.rotate_workspace', 'operator'],
        ['key.reencrypt', 'operator'],
      ],
    );
    assert.equal((JSON.parse(rows[0]?.detail ?? '{}') as { data_key_version: number }).data_key_version, 2);
    await assertIntact(server, ws);
  });

  test('with DUCTAPE_AUDIT_READS=best-effort, reads and sign-ins go on when the log cannot be written; changes still do not', async () => {
    const lenient = await startTestServer({ DUCTAPE_AUDIT_READS: 'best-effort' }, backend);
    try {
      const client = lenient.client(lenient.owner);
      await client.secrets.create({ key: 'LENIENT', value: 'lenient-value' });
      const failAudit = async (on: boolean): Promise<void> => {
        const run = (text: string) => serverSql(lenient, text);
        if (backend === 'sqlite') {
          await run(
            on
              ? "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END"
              : 'DROP TRIGGER audit_down',
          );
        } else if (on) {
          await run(
            "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RAISE EXCEPTION 'audit down'; END $f$",
          );
          await run(
            'CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_down()',
          );
        } else {
          await run('DROP TRIGGER audit_down ON audit_log');
          await run('DROP FUNCTION audit_down()');
        }
      };
      await failAudit(true);
      try {
        assert.equal((await client.secrets.fetch('LENIENT')).value, 'lenient-value');
        await lenient.client(lenient.owner).init(); // a sign-in, its entry lost too
        await expectError(client.secrets.update('LENIENT', { value: 'not-without-its-entry' }), {
          status: 500,
          code: 'INTERNAL_ERROR',
        });
      } finally {
        await failAudit(false);
      }
      assert.equal((await client.secrets.fetch('LENIENT')).value, 'lenient-value');
    } finally {
      await lenient.stop();
    }
  });

  test('concurrent writers and readers never fork the chain', async () => {
    const before = Number(
      ((await sql('SELECT seq FROM audit_heads WHERE workspace_id = $1', [ws])) as { seq: number }[])[0]?.seq,
    );
    const writes = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0
        ? owner.secrets.update(`K${i % 6}`, { value: `concurrent-${i}` })
        : owner.secrets.fetch(`K${i % 6}`),
    );
    await Promise.all(writes);
    const [head] = (await sql('SELECT seq FROM audit_heads WHERE workspace_id = $1', [ws])) as {
      seq: number;
    }[];
    assert.equal(Number(head?.seq), before + 40);
    await assertIntact(server, ws);
  });

  test('a workspace whose whole chain was deleted is named, with or without --workspace', async () => {
    const victim = await server.newWorkspace('victim');
    const id = victim.workspace_id;
    await server.client(victim).secrets.create({ key: 'V', value: 'victim-value' });
    await assertIntact(server, id);
    const rows = (await sql('SELECT * FROM audit_log WHERE workspace_id = $1 ORDER BY seq', [id])) as Record<
      string,
      unknown
    >[];
    const [head] = (await sql('SELECT * FROM audit_heads WHERE workspace_id = $1', [id])) as Record<
      string,
      unknown
    >[];
    assert.ok(head && rows.length >= 2);
    const putBack = async (): Promise<void> => {
      await sql('DELETE FROM audit_log WHERE workspace_id = $1', [id]);
      await sql('DELETE FROM audit_heads WHERE workspace_id = $1', [id]);
      for (const row of [...rows.map((r) => ['audit_log', r] as const), ['audit_heads', head] as const]) {
        const [table, values] = row;
        const columns = Object.keys(values);
        await sql(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
          columns.map((c) => values[c]),
        );
      }
    };

    await sql('DELETE FROM audit_log WHERE workspace_id = $1', [id]);
    await sql('DELETE FROM audit_heads WHERE workspace_id = $1', [id]);
    await assertBroken(server, id, new RegExp(`${id}.*no audit entries`));
    const all = await verify(server);
    assert.equal(all.code, 1, all.text);
    assert.match(all.text, new RegExp(`${id}\\s+BROKEN`));
    const json = await runOperator(['audit', 'verify', '--json'], { env: server.env });
    assert.equal(json.code, 1);
    const reports = JSON.parse(json.stdout) as { workspace_id: string; intact: boolean }[];
    assert.equal(reports.find((r) => r.workspace_id === id)?.intact, false);

    // The next request starts a new chain at #1: still caught, it does not begin with the creation.
    await server.client(victim).secrets.fetch('V');
    await assertBroken(server, id, /entry #1 .*not the workspace's creation/);

    await putBack();
    await assertIntact(server, id);
    assert.equal((await verify(server)).code, 0);
  });

  if (backend === 'postgres') {
    test('two nodes appending to one workspace at once keep one chain', async () => {
      const second = await startTestServer(
        {
          DUCTAPE_PG_SCHEMA: server.env.DUCTAPE_PG_SCHEMA as string,
          DUCTAPE_MASTER_KEY: server.env.DUCTAPE_MASTER_KEY as string,
        },
        'postgres',
      );
      try {
        const viaB = second.client(server.owner);
        const calls = Array.from({ length: 30 }, (_, i) =>
          (i % 2 === 0 ? owner : viaB).secrets.create({ key: `N${i}`, value: `node-${i}` }),
        );
        await Promise.all(calls);
        const creates = (await sql(
          "SELECT seq FROM audit_log WHERE workspace_id = $1 AND action = 'secret.create' AND secret_key LIKE 'N%'",
          [ws],
        )) as unknown[];
        assert.equal(creates.length, 30);
        await assertIntact(server, ws);
      } finally {
        await second.server.close();
      }
    });
  }
});
