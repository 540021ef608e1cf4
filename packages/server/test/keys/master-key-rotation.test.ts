/**
 * `ductape-server keys rotate-master` against real server processes under steady traffic (reads,
 * old-version reads, updates, creates, sign-ins), checking every answer: zero failed
 * requests, every value intact, the old key no longer needed, a node that has only the old
 * key refused with a clear message, and an interrupted rotation completed by running again.
 *
 * Two procedures: the embedded default (the key file in the data dir, swapped by the command)
 * and keys in the environment with a rolling restart of two nodes (once per backend).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeEachBackend, newMasterKey } from '../helpers/backends.js';
import { OPERATOR_ENTRY, runOperator, storeEnv, tempDir } from '../helpers/harness.js';
import { sleep } from '../helpers/http.js';
import {
  expectExit,
  idOfBase64,
  kekCounts,
  keyFileId,
  keysJson,
  seedWorkspaces,
  verifyAll,
} from './rotation-tools.js';
import {
  killAllServers,
  spawnServer,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js';
import { stopAllTraffic, Traffic, TRAFFIC_ENV, type Slot } from './traffic.js';

const report = (line: string): void => void process.stdout.write(`# ${line}\n`);

/** A node with only `key` is refused at start, with both key ids and what to do, never the key. */
async function assertRefusedWithOnly(
  env: Record<string, string>,
  key: string,
  current: string,
): Promise<void> {
  const node = spawnServer({ ...env, DUCTAPE_MASTER_KEY: key, DUCTAPE_MASTER_KEY_PREVIOUS: '' }, 0);
  const exit = await node.exited;
  assert.notEqual(exit.code, 0, 'a node with only the old key started');
  const output = node.output();
  assert.match(output, /the master key does not match this database/);
  assert.match(output, new RegExp(`wrapped by master key ${current}`));
  assert.match(output, new RegExp(`this server has master key ${idOfBase64(key)}`));
  assert.match(output, /ductape-server keys rotate-master/);
  assert.match(output, /DUCTAPE_MASTER_KEY/);
  assert.equal(output.includes(key), false, 'the key was printed');
}

describe('master key rotation with the key file in the data dir (embedded default)', () => {
  const dataDir = tempDir('ductape-rotate-file-');
  const env = { DUCTAPE_DATA_DIR: dataDir };
  let server: ServerProcess;
  let oldKey: string;
  let oldId: string;
  let newId: string;
  let traffic: Traffic;

  before(async () => {
    // LOG_LEVEL info: the server says when it re-reads the key files.
    server = await startServerProcess({ ...env, ...TRAFFIC_ENV, LOG_LEVEL: 'info' });
    oldKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
    oldId = idOfBase64(oldKey);
  });
  after(async () => {
    await stopAllTraffic();
    killAllServers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('rotates while the server serves reads and writes: zero failed requests, every value intact', async () => {
    const seeded = await seedWorkspaces(env, 120, 2, 2);
    // A third of the workspaces is read from before the rotation (their data keys cached by the
    // server), a third from the moment the first key is re-wrapped, and a third only after the
    // rotation: those the server can open only with a key it did not start with.
    const [warm, mid, cold] = [0, 1, 2].map((r) => seeded.slots.filter((_, i) => i % 3 === r)) as [
      Slot[],
      Slot[],
      Slot[],
    ];
    traffic = new Traffic(() => [server.url], 8);
    traffic.add(warm);
    traffic.start();
    await sleep(1000);
    const started = Date.now();
    const running = keysJson(['keys', 'rotate-master'], env);
    let settled = false;
    void running.finally(() => (settled = true));
    while (!settled && Object.keys(await kekCounts(env)).length < 2) await sleep(5);
    const mixedAt = Date.now();
    traffic.add(mid);
    const run = await running;
    const finished = Date.now();
    traffic.add(cold);
    expectExit(run.result, 0);
    newId = keyFileId(join(dataDir, 'master.key'));
    assert.notEqual(newId, oldId);
    const { signing_key: signing, audit_key: auditKey, ...rest } = run.json;
    assert.deepEqual(rest, {
      master_key_id: newId,
      replaced_key_ids: [oldId],
      rewrapped_workspace_keys: 120,
      // None left: both first versions were re-wrapped as they were retired, before the rest.
      rewrapped_server_keys: 0,
      changed_meanwhile: 0,
      remaining: 0,
      complete: true,
      key_file: 'replaced',
    });
    // New versions of the signing and audit keys, wrapped by the new master key alone.
    assert.deepEqual(
      [(signing as { version: number }).version, (signing as { added: boolean }).added],
      [2, true],
    );
    assert.deepEqual(auditKey, { version: 2, retired_versions: [1], remaining_chains: 0 });
    // Every workspace read again after the rotation, from the running server.
    await traffic.untilAllReadAfter(finished);
    await sleep(300);
    await traffic.stop();
    const during = traffic.requestsDuring(started, finished);
    report(
      `embedded: ${traffic.requests} requests, ${during} during the ${finished - started} ms command ` +
        `(${traffic.requestsDuring(mixedAt, finished)} while keys were re-wrapped), ${traffic.failures.length} failed`,
    );
    assert.deepEqual(traffic.failures, []);
    assert.ok(during >= 20, `only ${during} requests overlapped the rotation`);

    // 120 data keys, and two versions each of the token signing key and the audit MAC key.
    assert.deepEqual(await kekCounts(env), { [newId]: 124 });
    assert.equal(keyFileId(join(dataDir, 'master.key.previous')), oldId);
    assert.equal(existsSync(join(dataDir, 'master.key.next')), false);
    assert.match(server.output(), /re-read the master key files of the data dir/);
    assert.deepEqual(await verifyAll(server.url, traffic.all), []);
    // Every audit chain went on under the new audit key, the server's appends included.
    const verified = await runOperator(['audit', 'verify'], { env, cwd: tmpdir() });
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  });

  it('the old key is no longer needed; a node given only the old key is refused with a clear message', async () => {
    await server.stop();
    rmSync(join(dataDir, 'master.key.previous'));
    const restarted = await startServerProcess(env);
    assert.deepEqual(await verifyAll(restarted.url, traffic.all), []);
    await restarted.stop();
    await assertRefusedWithOnly(env, oldKey, newId);
  });
});

describe('an interrupted rotation with the key file in the data dir', () => {
  const dataDir = tempDir('ductape-rotate-resume-');
  const env = { DUCTAPE_DATA_DIR: dataDir };
  after(async () => {
    await stopAllTraffic();
    killAllServers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stopped by --limit, then killed midway, it completes when run again, all under traffic', async () => {
    const server = await startServerProcess({ ...env, ...TRAFFIC_ENV });
    const oldId = keyFileId(join(dataDir, 'master.key'));
    const seeded = await seedWorkspaces(env, 150, 1);
    // The data keys, and two versions each of the token signing key and the audit MAC key.
    const total = 150 + 4;
    const traffic = new Traffic(() => [server.url], 6);
    traffic.add(seeded.slots);
    traffic.start();

    const partial = await keysJson(['keys', 'rotate-master', '--limit', '10', '--batch-size', '3'], env);
    expectExit(partial.result, 0);
    assert.equal(partial.json.complete, false);
    // Before re-wrapping, the new signing and audit key versions were added under the new key,
    // and the old ones re-wrapped under it, retired (the audit key's once every chain had moved
    // on): the data keys were left.
    assert.equal(partial.json.remaining, 150 - 10);
    assert.equal(partial.json.key_file, 'pending');
    const nextId = keyFileId(join(dataDir, 'master.key.next'));
    assert.equal(partial.json.master_key_id, nextId);
    assert.equal(keyFileId(join(dataDir, 'master.key')), oldId, 'master.key is replaced only at the end');
    const underNext = 10 + 4;
    assert.deepEqual(await kekCounts(env), { [oldId]: total - underNext, [nextId]: underNext });

    // Killed for real, half-way: SIGKILL as soon as it has re-wrapped more rows.
    const child = spawn(process.execPath, [OPERATOR_ENTRY, 'keys', 'rotate-master', '--batch-size', '1'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      cwd: tmpdir(),
      stdio: 'ignore',
    });
    let counts = await kekCounts(env);
    while ((counts[nextId] ?? 0) <= underNext && child.exitCode === null) {
      await sleep(5);
      counts = await kekCounts(env);
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    counts = await kekCounts(env);
    report(`killed after ${counts[nextId]} of ${total} keys`);
    assert.ok(
      (counts[oldId] ?? 0) > 0,
      'the command finished before it could be killed: seed more workspaces',
    );
    assert.equal(keyFileId(join(dataDir, 'master.key')), oldId);

    const finish = await keysJson(['keys', 'rotate-master'], env);
    expectExit(finish.result, 0);
    assert.equal(finish.json.complete, true);
    assert.equal(finish.json.master_key_id, nextId, 'the same new key, from master.key.next');
    assert.equal(finish.json.key_file, 'replaced');
    assert.deepEqual(await kekCounts(env), { [nextId]: total });
    assert.equal(keyFileId(join(dataDir, 'master.key')), nextId);

    await traffic.untilAllReadAfter(Date.now());
    await traffic.stop();
    report(`interrupted, embedded: ${traffic.requests} requests, ${traffic.failures.length} failed`);
    assert.deepEqual(traffic.failures, []);
    assert.deepEqual(await verifyAll(server.url, traffic.all), []);
    await server.stop();
  });
});

describeEachBackend('master key rotation with the keys in the environment: a rolling restart', (backend) => {
  const oldKey = newMasterKey();
  const newKey = newMasterKey();
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let live: ServerProcess[] = [];
  let traffic: Traffic;

  const start = (keys: Record<string, string>): Promise<ServerProcess> =>
    startServerProcess({ ...env, ...TRAFFIC_ENV, LOG_LEVEL: 'warn', ...keys });
  /** Takes `node` out of the balancer, lets its requests finish, then stops it. */
  const drain = async (node: ServerProcess): Promise<void> => {
    live = live.filter((n) => n !== node);
    await sleep(200);
    assert.equal((await node.stop()).code, 0);
  };

  before(async () => {
    ({ env, cleanup } = await storeEnv(backend, { DUCTAPE_MASTER_KEY: oldKey }));
  });
  after(async () => {
    await stopAllTraffic();
    killAllServers();
    await cleanup();
  });

  it('old nodes, then nodes with the new key (old one unwrap-only), the command, then nodes with only the new key: zero failures', async () => {
    const withOld = { DUCTAPE_MASTER_KEY: oldKey };
    const during = { DUCTAPE_MASTER_KEY: newKey, DUCTAPE_MASTER_KEY_PREVIOUS: oldKey };
    const withNew = { DUCTAPE_MASTER_KEY: newKey };
    live = await Promise.all([start(withOld), start(withOld)]);
    const seeded = await seedWorkspaces(env, 80, 2, 2);
    traffic = new Traffic(() => live.map((n) => n.url), 8);
    traffic.add(seeded.slots.slice(0, 80));
    traffic.start();
    await sleep(500);

    // 1. Rolling restart onto the new key, the old one kept for unwrapping.
    for (const old of [...live]) {
      live.push(await start(during));
      await drain(old);
    }
    // 2. The command, with the same environment as the nodes now have.
    traffic.add(seeded.slots.slice(80));
    const started = Date.now();
    const run = await keysJson(['keys', 'rotate-master'], { ...env, ...during });
    const finished = Date.now();
    expectExit(run.result, 0);
    assert.equal(run.json.master_key_id, idOfBase64(newKey));
    assert.equal(run.json.complete, true);
    assert.equal(run.json.key_file, null);
    assert.equal(run.json.rewrapped_workspace_keys, 80);
    // 3. Rolling restart onto the new key alone: the old one is no longer needed.
    await traffic.untilAllReadAfter(finished);
    for (const node of [...live]) {
      live.push(await start(withNew));
      await drain(node);
    }
    await traffic.untilAllReadAfter(Date.now());
    await traffic.stop();
    const overlap = traffic.requestsDuring(started, finished);
    report(
      `environment [${backend}]: ${traffic.requests} requests across 6 nodes, ${overlap} during the ` +
        `${finished - started} ms rotation, ${traffic.failures.length} failed`,
    );
    assert.deepEqual(traffic.failures, []);
    assert.ok(overlap >= 20, `only ${overlap} requests overlapped the rotation`);
    assert.deepEqual(await kekCounts(env), { [idOfBase64(newKey)]: 84 });
    assert.deepEqual(await verifyAll(live[0]!.url, traffic.all), []);
  });

  it('a node that has only the old key is refused with a clear message', async () => {
    await assertRefusedWithOnly(env, oldKey, idOfBase64(newKey));
  });

  it('an interrupted rotation (--new-key-file, --limit) is completed by running again (DUCTAPE_NEW_MASTER_KEY)', async () => {
    const third = newMasterKey();
    const keyFile = join(tempDir('ductape-newkey-'), 'new.key');
    writeFileSync(keyFile, `${third}\n`, { mode: 0o600 });
    // Nodes first accept the third key for unwrapping, while still wrapping with the second.
    const accepting = { DUCTAPE_MASTER_KEY: newKey, DUCTAPE_MASTER_KEY_PREVIOUS: third };
    const node = await start(accepting);
    live.push(node);
    for (const old of live.filter((n) => n !== node)) await drain(old);
    const resumed = new Traffic(() => live.map((n) => n.url), 4);
    resumed.add(traffic.all);
    resumed.start();

    const both = await keysJson(['keys', 'rotate-master', '--new-key-file', keyFile], {
      ...env,
      DUCTAPE_MASTER_KEY: newKey,
      DUCTAPE_NEW_MASTER_KEY: third,
    });
    expectExit(both.result, 2);
    assert.match(both.result.stderr, /give the new key once/);

    const partial = await keysJson(['keys', 'rotate-master', '--new-key-file', keyFile, '--limit', '7'], {
      ...env,
      DUCTAPE_MASTER_KEY: newKey,
    });
    expectExit(partial.result, 0);
    assert.equal(partial.json.complete, false);
    // Under the third key: the new signing and audit key versions, signing and audit version 2
    // (retired), and 7 re-wrapped keys.
    const third7 = 3 + 7 + 1;
    assert.deepEqual(await kekCounts(env), {
      [idOfBase64(newKey)]: 86 - third7,
      [idOfBase64(third)]: third7,
    });
    // Run with the new key alone, the command cannot open the rest: it says which key it needs.
    const without = await keysJson(['keys', 'rotate-master'], { ...env, DUCTAPE_MASTER_KEY: third });
    expectExit(without.result, 1);
    assert.match(
      without.result.stderr,
      new RegExp(
        `wrapped by master key ${idOfBase64(newKey)}, which this command does not have: give it in DUCTAPE_MASTER_KEY_PREVIOUS`,
      ),
    );
    assert.deepEqual(await kekCounts(env), {
      [idOfBase64(newKey)]: 86 - third7,
      [idOfBase64(third)]: third7,
    });
    const finish = await keysJson(['keys', 'rotate-master'], {
      ...env,
      DUCTAPE_MASTER_KEY: newKey,
      DUCTAPE_NEW_MASTER_KEY: third,
    });
    expectExit(finish.result, 0);
    assert.equal(finish.json.complete, true);
    assert.equal(finish.json.rewrapped_workspace_keys, 80 - 7);
    assert.deepEqual(await kekCounts(env), { [idOfBase64(third)]: 86 });
    await resumed.untilAllReadAfter(Date.now());
    await resumed.stop();
    report(
      `interrupted, environment [${backend}]: ${resumed.requests} requests, ${resumed.failures.length} failed`,
    );
    assert.deepEqual(resumed.failures, []);
    assert.deepEqual(await verifyAll(node.url, resumed.all), []);
    rmSync(join(keyFile, '..'), { recursive: true, force: true });
  });
});
