/**
 * `ductape-server keys rotate-workspace` and `keys reencrypt` against two running server processes
 * under steady traffic, once per backend: the next write on every node uses the new data
 * key without a restart, old values still open, re-encryption reaches every current value
 * and every recorded version (checked byte by byte in the database), an interrupted
 * re-encryption resumes, and no request fails.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { cliInTerminal, hasPythonPty } from '../helpers/cli-session.js';
import { OPERATOR_ENTRY, storeEnv, type Credentials } from '../helpers/harness.js';
import { accessToken, rawRequest, sleep } from '../helpers/http.js';
import { expectExit, keysJson, sealedHeaders, seedWorkspaces, verifyAll } from './rotation-tools.js';
import { killAllServers, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { stopAllTraffic, Traffic, TRAFFIC_ENV, type Slot } from './traffic.js';

const report = (line: string): void => void process.stdout.write(`# ${line}\n`);

/** How many sealed values of the workspace use each data key version. */
async function headerCounts(
  env: Record<string, string>,
  workspaceId: string,
): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const h of await sealedHeaders(env, workspaceId)) counts[h.dek] = (counts[h.dek] ?? 0) + 1;
  return counts;
}

describeEachBackend('workspace data key rotation under traffic', (backend) => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let nodes: ServerProcess[];
  let target: Credentials;
  let control: Credentials;
  let slots: readonly Slot[];

  /** Runs `work` under traffic on both workspaces through both nodes; asserts zero failures. */
  async function underTraffic(
    label: string,
    work: () => Promise<{ from: number; to: number }>,
  ): Promise<void> {
    const traffic = new Traffic(() => nodes.map((n) => n.url), 6);
    traffic.add(slots);
    traffic.start();
    await sleep(600);
    const { from, to } = await work();
    await traffic.untilAllReadAfter(to);
    await traffic.untilWritesAfter(to, 20);
    await traffic.stop();
    slots = traffic.all;
    const during = traffic.requestsDuring(from, to);
    report(
      `${label} [${backend}]: ${traffic.requests} requests, ${during} during the ${to - from} ms command, ` +
        `${traffic.failures.length} failed`,
    );
    assert.deepEqual(traffic.failures, []);
    assert.ok(during >= 10, `only ${during} requests overlapped the command`);
  }

  before(async () => {
    ({ env, cleanup } = await storeEnv(backend));
    const first = await startServerProcess({ ...env, ...TRAFFIC_ENV, LOG_LEVEL: 'warn' });
    nodes = [first, await startServerProcess({ ...env, ...TRAFFIC_ENV, LOG_LEVEL: 'warn' })];
    const seeded = await seedWorkspaces(env, 2, 40, 3);
    [target, control] = seeded.owners as [Credentials, Credentials];
    slots = seeded.slots;
  });
  after(async () => {
    await stopAllTraffic();
    killAllServers();
    await cleanup();
  });

  it('rotate-workspace: the next write on every running node uses the new data key; old values still open', async () => {
    assert.deepEqual(await headerCounts(env, target.workspace_id), { 1: 40 * 3 + 40 });
    let rotatedAt = 0;
    await underTraffic('rotate-workspace', async () => {
      const from = Date.now();
      const run = await keysJson(['keys', 'rotate-workspace', '--workspace', target.workspace_id], env);
      rotatedAt = Date.now();
      expectExit(run.result, 0);
      assert.deepEqual(run.json, { workspace_id: target.workspace_id, data_key_version: 2 });
      // One write through each node, which were never restarted.
      for (const [i, node] of nodes.entries()) {
        const token = await accessToken(node.url, target);
        const created = await rawRequest(node.url, 'POST', '/v1/secrets', {
          token,
          body: { key: `AFTER_ROTATION_${i}`, value: `written on node ${i}` },
        });
        assert.equal(created.status, 201, created.text);
      }
      return { from, to: rotatedAt };
    });
    const headers = await sealedHeaders(env, target.workspace_id);
    const written = headers.filter((h) => h.created_at >= rotatedAt);
    assert.ok(written.length >= 10, `only ${written.length} values were written after the rotation`);
    assert.deepEqual(
      written.filter((h) => h.dek !== 2),
      [],
      'every value written after the rotation uses data key version 2',
    );
    assert.ok(
      headers.some((h) => h.dek === 1),
      'without --reencrypt, older values stay as they are',
    );
    const created = headers.filter(
      (h) => h.table === 'secrets' && h.version === 1 && h.created_at >= rotatedAt,
    );
    assert.ok(created.length >= 2, 'the two writes through the nodes are there');
    assert.deepEqual(
      Object.keys(await headerCounts(env, control.workspace_id)),
      ['1'],
      'another workspace untouched',
    );
    assert.deepEqual(await verifyAll(nodes[1]!.url, slots), []);
  });

  it('rotate-workspace --reencrypt re-seals every value and every recorded version under the new key, online', async () => {
    let result: Record<string, unknown> = {};
    await underTraffic('rotate-workspace --reencrypt', async () => {
      const from = Date.now();
      const run = await keysJson(
        ['keys', 'rotate-workspace', '--workspace', target.workspace_id, '--reencrypt', '--batch-size', '7'],
        env,
      );
      expectExit(run.result, 0);
      result = run.json;
      return { from, to: Date.now() };
    });
    assert.equal(result.data_key_version, 3);
    assert.equal(result.remaining, 0);
    assert.deepEqual(result.unreadable, []);
    assert.ok((result.reencrypted as number) >= 160, `re-encrypted ${String(result.reencrypted)}`);
    report(`re-encrypted ${String(result.reencrypted)} of ${String(result.total)} values [${backend}]`);
    const counts = await headerCounts(env, target.workspace_id);
    assert.deepEqual(Object.keys(counts), ['3'], `data key versions in use: ${JSON.stringify(counts)}`);
    assert.deepEqual(Object.keys(await headerCounts(env, control.workspace_id)), ['1']);
    assert.deepEqual(await verifyAll(nodes[0]!.url, slots), []);
  });

  it('an interrupted re-encryption (--limit) is resumed by `keys reencrypt`, which then has nothing to do', async () => {
    await underTraffic('interrupted re-encryption', async () => {
      const from = Date.now();
      const partial = await keysJson(
        [
          'keys',
          'rotate-workspace',
          '--workspace',
          target.workspace_id,
          '--reencrypt',
          '--limit',
          '5',
          '--batch-size',
          '2',
        ],
        env,
      );
      expectExit(partial.result, 0);
      assert.equal(partial.json.data_key_version, 4);
      // Five handled: re-encrypted, or updated by a user meanwhile (the user's write kept).
      assert.equal((partial.json.reencrypted as number) + (partial.json.changed_meanwhile as number), 5);
      assert.ok((partial.json.remaining as number) > 100);
      const counts = await headerCounts(env, target.workspace_id);
      assert.ok((counts[3] ?? 0) > 100 && (counts[4] ?? 0) >= 5, JSON.stringify(counts));

      const resumed = await keysJson(['keys', 'reencrypt', '--workspace', target.workspace_id], env);
      expectExit(resumed.result, 0);
      assert.equal(resumed.json.data_key_version, 4);
      assert.equal(resumed.json.remaining, 0);
      return { from, to: Date.now() };
    });
    assert.deepEqual(Object.keys(await headerCounts(env, target.workspace_id)), ['4']);
    const again = await keysJson(['keys', 'reencrypt', '--workspace', target.workspace_id], env);
    expectExit(again.result, 0);
    assert.equal(again.json.total, 0);
    const status = await keysJson(['keys', 'status', '--workspace', target.workspace_id], env);
    expectExit(status.result, 0);
    const versions = status.json.data_keys as { version: number; values: number }[];
    assert.deepEqual(
      versions.map((v) => v.version),
      [1, 2, 3, 4],
      'old data key versions are kept',
    );
    assert.deepEqual(
      versions.slice(0, 3).map((v) => v.values),
      [0, 0, 0],
    );
    assert.deepEqual(await verifyAll(nodes[1]!.url, slots), []);
  });

  it('an unknown workspace is named in the refusal', async () => {
    const run = await keysJson(['keys', 'rotate-workspace', '--workspace', 'ffffffffffffffffffffffff'], env);
    expectExit(run.result, 1);
    assert.match(run.result.stderr, /workspace 'ffffffffffffffffffffffff' does not exist/);
    const bad = await keysJson(
      ['keys', 'reencrypt', '--workspace', target.workspace_id, '--batch-size', '0'],
      env,
    );
    expectExit(bad.result, 2);
    assert.match(bad.result.stderr, /--batch-size must be a whole number from 1 to 10000/);
  });

  it(
    'in a terminal, re-encryption draws a progress bar, then prints the final count',
    { skip: hasPythonPty ? false : 'python3 with pty is not available' },
    async () => {
      const { output, code } = await cliInTerminal(
        [
          'keys',
          'rotate-workspace',
          '--workspace',
          control.workspace_id,
          '--reencrypt',
          '--batch-size',
          '10',
        ],
        env,
        OPERATOR_ENTRY,
      );
      assert.equal(code, 0, output);
      assert.match(output, /\[#+-*\] +\d+\/\d+ values re-encrypted/);
      assert.match(output, /Re-encrypted (\d+) of \1 values under data key version 2\./);
      assert.match(output, /Every value of the workspace now uses data key version 2\./);
      assert.deepEqual(Object.keys(await headerCounts(env, control.workspace_id)), ['2']);
    },
  );

  it('--all rotates and re-encrypts every workspace under traffic; --workspace and --all go alone', async () => {
    let answers: { workspace_id: string; data_key_version: number; remaining: number }[] = [];
    await underTraffic('rotate-workspace --all', async () => {
      const from = Date.now();
      const run = await keysJson(['keys', 'rotate-workspace', '--all', '--reencrypt'], env);
      expectExit(run.result, 0);
      answers = run.json as unknown as typeof answers;
      return { from, to: Date.now() };
    });
    assert.deepEqual(
      answers.map((a) => a.workspace_id).sort(),
      [target.workspace_id, control.workspace_id].sort(),
    );
    for (const answer of answers) {
      assert.equal(answer.remaining, 0);
      const counts = await headerCounts(env, answer.workspace_id);
      assert.deepEqual(Object.keys(counts), [String(answer.data_key_version)], JSON.stringify(counts));
    }
    for (const args of [['--all', '--workspace', target.workspace_id], []]) {
      const wrong = await keysJson(['keys', 'reencrypt', ...args], env);
      expectExit(wrong.result, 2);
      assert.match(wrong.result.stderr, /give either --workspace <id> or --all/);
    }
  });
});
