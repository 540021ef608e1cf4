/**
 * A full disk and a disk gone read-only, for real, under the real server process on SQLite:
 * - full (a tiny tmpfs, filled up): writes answer 507 INSUFFICIENT_STORAGE and write nothing,
 *   reads, lists and sign-ins go on, and once space is freed the same process writes again;
 * - read-only (an ext4 image that the kernel takes read-only after an error, as on a failing
 *   disk): writes answer 503 SERVICE_UNAVAILABLE naming the disk, reads go on; after the
 *   operator repairs the file system and restarts the server, everything acknowledged is
 *   there and nothing refused.
 * - locked by another program: a write waits out busy_timeout, then answers 503.
 * Never a 500, and the database file passes `PRAGMA integrity_check` afterwards.
 * Mounting needs root (see mounts.ts); where it is refused these suites skip, saying why.
 */
import type { SecretWithValue } from '@ductape/sdk';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openRuntime } from '../../src/main.js';
import { SQLITE_FILE } from '../../src/store/backends/sqlite/sqlite-store.js';
import { tempDir, type Credentials } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, sleep, type RawResponse } from '../helpers/http.js';
import {
  EXT4_SKIP_REASON,
  TMPFS_SKIP_REASON,
  failExt4,
  mountExt4,
  mountTmpfs,
  remountExt4,
  repairExt4,
  run,
  unmount,
} from './mounts.js';
import {
  killAllServers,
  spawnServer,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js';

/** Writes zeros into `file` until the disk refuses (ENOSPC); returns how many bytes fit. */
function fillUp(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  }
  // The last partial chunk: byte by byte, so not one byte is left.
  try {
    for (;;) written += writeSync(fd, Buffer.alloc(1));
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Kills the server if it still runs, and waits: a mount stays busy while it lives. */
async function killAndWait(server: ServerProcess | undefined): Promise<void> {
  if (server === undefined) return;
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}

/** A fresh workspace made directly in the store, as the operator command does. */
async function createOwner(env: Record<string, string>): Promise<Credentials> {
  const runtime = await openRuntime(loadConfig(env));
  try {
    return await runtime.members.createWorkspace('disk faults');
  } finally {
    await runtime.close();
  }
}

function assertIntact(dataDir: string): void {
  const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  } finally {
    db.close();
  }
}

/** Log lines (pino JSON) of a process's output that carry `msg`. */
function warnings(output: string, msg: string): { code?: string; reqId?: string }[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; code?: string; reqId?: string })
    .filter((l) => l.msg === msg);
}

/** The lines `msg` once written: the server writes its log lines at least once a second (logging.ts). */
async function warningsSoon(
  server: ServerProcess,
  msg: string,
): Promise<{ code?: string; reqId?: string }[]> {
  const deadline = Date.now() + 3000;
  let found = warnings(server.output(), msg);
  while (found.length === 0 && Date.now() < deadline) {
    await sleep(50);
    found = warnings(server.output(), msg);
  }
  return found;
}

/** A client of one server: the calls the suites make, each returning the raw answer. */
function clientOf(server: () => ServerProcess, token: () => string) {
  const call = (method: string, path: string, body?: unknown): Promise<RawResponse> =>
    rawRequest(server().url, method, path, { token: token(), ...(body === undefined ? {} : { body }) });
  return {
    create: (key: string, value: string) => call('POST', '/v1/secrets', { key, value }),
    update: (key: string, value: string) => call('PATCH', `/v1/secrets/${key}`, { value }),
    remove: (key: string) => call('DELETE', `/v1/secrets/${key}`),
    fetch: (key: string) => call('GET', `/v1/secrets/${key}`),
    list: () => call('GET', '/v1/secrets'),
  };
}

const valueOf = (r: RawResponse): string => (r.json as SecretWithValue).value;

describe('a full disk (tmpfs)', { skip: TMPFS_SKIP_REASON }, () => {
  const dataDir = tempDir('ductape-full-');
  const filler = join(dataDir, 'filler');
  let env: Record<string, string>;
  let server: ServerProcess;
  let owner: Credentials;
  let token: string;
  const api = clientOf(
    () => server,
    () => token,
  );
  /** Creates answered 201 while the disk was full (WAL room left), and those refused. */
  const stored = new Map<string, string>();
  const refused: string[] = [];

  before(async () => {
    mountTmpfs(dataDir, 8 * 1024 * 1024);
    env = {
      DUCTAPE_DATA_DIR: dataDir,
      DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
    };
    owner = await createOwner(env);
    server = await startServerProcess(env);
    token = await accessToken(server.url, owner);
  });
  after(async () => {
    await killAndWait(server);
    unmount(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('full: writes answer 507 INSUFFICIENT_STORAGE and write nothing; lists go on, audited reads fail closed', async (t) => {
    assert.equal((await api.create('KEPT', 'kept-before-the-disk-filled')).status, 201);
    const bytes = fillUp(filler);
    assert.ok(bytes > 1024 * 1024, `only ${bytes} bytes filled the disk`);
    // Room for a few writes: the one that runs out of it fails halfway through its log frames.
    truncateSync(filler, bytes - 300 * 1024);

    // Large values, until the write-ahead log has no room left to grow into.
    const big = (i: number): string => `big-${i}-` + 'v'.repeat(60_000);
    let consecutive = 0;
    for (let i = 0; i < 200 && consecutive < 3; i++) {
      const answer = await api.create(`BIG_${i}`, big(i));
      if (answer.status === 201) {
        stored.set(`BIG_${i}`, big(i));
        consecutive = 0;
        continue;
      }
      const body = assertErrorBody(answer, 507, 'INSUFFICIENT_STORAGE');
      assert.match(body.message, /disk is full: nothing was written/);
      refused.push(`BIG_${i}`);
      consecutive++;
    }
    assert.equal(consecutive, 3, 'the disk never filled up');
    assert.ok(stored.size > 0, 'no write fitted in the room left');
    t.diagnostic(`${stored.size} large creates fitted in the last 300 KiB, then ${refused.length} got 507`);

    // Every kind of write is refused the same way. (A small one may still fit in the log room
    // the refused ones left behind: then it is stored, whole.)
    const small = await api.create('SMALL', 'x');
    if (small.status === 201) stored.set('SMALL', 'x');
    else {
      assertErrorBody(small, 507, 'INSUFFICIENT_STORAGE');
      refused.push('SMALL');
    }
    assertErrorBody(
      await api.update('KEPT', 'never-stored-' + 'u'.repeat(60_000)),
      507,
      'INSUFFICIENT_STORAGE',
    );

    // Lists and metadata need no room. A value is only handed out once its read is in the
    // audit log, so with no room for that entry the read fails closed, saying why (as Vault
    // does when it cannot write its audit log); so does a sign-in.
    // (A small audit entry may still fit where a value did not: then the read is served.)
    const listed = await api.list();
    assert.equal(listed.status, 200, listed.text);
    const read = await api.fetch('KEPT');
    if (read.status === 200) assert.equal(valueOf(read), 'kept-before-the-disk-filled');
    else assertErrorBody(read, 507, 'INSUFFICIENT_STORAGE');
    const signIn = await rawRequest(server.url, 'POST', '/v1/auth/token', { body: owner });
    if (signIn.status !== 200) assertErrorBody(signIn, 507, 'INSUFFICIENT_STORAGE');
    t.diagnostic(`with the disk full, a read answered ${read.status} and a sign-in ${signIn.status}`);
    assert.equal((await rawRequest(server.url, 'GET', '/readyz')).status, 200);

    const logged = await warningsSoon(server, 'disk full');
    assert.ok(logged.length > 0, `no 'disk full' warning in the log:\n${server.output()}`);
    assert.equal(logged[0]?.code, 'SQLITE_FULL');
    // Written through request.log: it names the request it answered.
    assert.match(logged[0]?.reqId ?? '', /^[0-9a-f-]{36}$/);
  });

  it('space freed: the same process writes again, without a restart; refused writes never appear', async () => {
    rmSync(filler);
    assert.equal((await api.create('AFTER', 'written-once-space-was-back')).status, 201);
    assert.equal(valueOf(await api.fetch('KEPT')), 'kept-before-the-disk-filled');
    const updated = await api.update('KEPT', 'changed-once-space-was-back');
    assert.equal(updated.status, 200, updated.text);
    assert.equal((updated.json as SecretWithValue).version, 2);
    assert.equal(valueOf(await api.fetch('KEPT')), 'changed-once-space-was-back');
    assert.equal(valueOf(await api.fetch('AFTER')), 'written-once-space-was-back');
    for (const [key, value] of stored) assert.equal(valueOf(await api.fetch(key)), value, key);
    for (const key of refused) assertErrorBody(await api.fetch(key), 404, 'SECRET_NOT_FOUND');

    assert.equal((await server.stop()).code, 0, server.output());
    assert.equal(server.output().includes('"level":50'), false, `errors logged:\n${server.output()}`);
    assertIntact(dataDir);
  });
});

describe(
  'the file system turns read-only under the server (ext4, errors=remount-ro)',
  { skip: EXT4_SKIP_REASON },
  () => {
    const work = tempDir('ductape-ro-');
    const image = join(work, 'disk.img');
    const dataDir = join(work, 'mnt');
    let device: string;
    let env: Record<string, string>;
    let server: ServerProcess;
    let owner: Credentials;
    let token: string;
    const api = clientOf(
      () => server,
      () => token,
    );

    before(async () => {
      mkdirSync(dataDir);
      device = mountExt4(image, dataDir, 32);
      env = {
        DUCTAPE_DATA_DIR: dataDir,
        DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'warn',
      };
      owner = await createOwner(env);
      server = await startServerProcess(env);
      token = await accessToken(server.url, owner);
    });
    after(async () => {
      await killAndWait(server);
      unmount(dataDir);
      rmSync(work, { recursive: true, force: true });
    });

    it('read-only: writes answer 503 SERVICE_UNAVAILABLE naming the disk; lists go on, audited reads fail closed', async () => {
      assert.equal((await api.create('KEPT', 'kept-before-the-error')).status, 201);
      failExt4(device);
      for (const answer of [
        await api.create('REFUSED', 'never-stored'),
        await api.update('KEPT', 'never-stored'),
        await api.remove('KEPT'),
      ]) {
        const body = assertErrorBody(answer, 503, 'SERVICE_UNAVAILABLE');
        assert.match(body.message, /cannot write to its disk.*read-only file system or I\/O error/);
        assert.equal(answer.headers.get('retry-after'), '1');
      }
      // A value is only handed out once its read is on record: with no disk to record it on,
      // the read fails closed, as does a sign-in; lists need no write.
      assertErrorBody(await api.fetch('KEPT'), 503, 'SERVICE_UNAVAILABLE');
      assert.equal((await api.list()).status, 200);
      assertErrorBody(
        await rawRequest(server.url, 'POST', '/v1/auth/token', { body: owner }),
        503,
        'SERVICE_UNAVAILABLE',
      );

      const logged = await warningsSoon(server, 'store unavailable');
      assert.ok(logged.length > 0, `no 'store unavailable' warning in the log:\n${server.output()}`);
      assert.match(logged[0]?.code ?? '', /^SQLITE_(IOERR|READONLY)/);
    });

    it('repaired and restarted: everything acknowledged is there, nothing refused, writes work', async (t) => {
      // The process keeps files of the failed mount open: it is stopped, the disk is repaired and
      // mounted again, and a new process starts on it.
      const stopped = await server.stop();
      t.diagnostic(`the server on the failed disk stopped with ${JSON.stringify(stopped)}`);
      unmount(dataDir);
      repairExt4(image);
      remountExt4(image, dataDir);
      server = await startServerProcess(env);
      assert.equal(valueOf(await api.fetch('KEPT')), 'kept-before-the-error');
      assertErrorBody(await api.fetch('REFUSED'), 404, 'SECRET_NOT_FOUND');
      assert.equal((await api.update('KEPT', 'changed-after-the-repair')).status, 200);
      assert.equal(valueOf(await api.fetch('KEPT')), 'changed-after-the-repair');
      assert.equal((await server.stop()).code, 0, server.output());
      assertIntact(dataDir);
    });

    it('a data dir on a file system mounted read-only: the server refuses to start, saying why', async () => {
      run('mount', ['-o', 'remount,ro', dataDir]);
      const refused = spawnServer(env, 0);
      assert.equal((await refused.exited).code, 1, refused.output());
      assert.match(refused.output(), /could not start: cannot open the database in .* for writing/);
      assert.match(refused.output(), /not read-only/);
    });
  },
);

describe('the database locked by another process (SQLite)', () => {
  const dataDir = tempDir('ductape-locked-');
  let server: ServerProcess;
  let token: string;
  const api = clientOf(
    () => server,
    () => token,
  );
  after(() => {
    killAllServers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a write waits out busy_timeout (5 s), then answers 503 and writes nothing; it works once the lock is gone', async () => {
    const env = { DUCTAPE_DATA_DIR: dataDir, DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64') };
    const owner = await createOwner(env);
    server = await startServerProcess(env);
    token = await accessToken(server.url, owner);
    // Another program (a backup tool, a sqlite3 shell) holds the write lock.
    const other = new Database(join(dataDir, SQLITE_FILE));
    try {
      other.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      const body = assertErrorBody(
        await api.create('LOCKED_OUT', 'never-stored'),
        503,
        'SERVICE_UNAVAILABLE',
      );
      assert.ok(
        Date.now() - started >= 4500,
        `refused after ${Date.now() - started} ms, before busy_timeout`,
      );
      assert.match(body.message, /unavailable right now/);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    assertErrorBody(await api.fetch('LOCKED_OUT'), 404, 'SECRET_NOT_FOUND');
    assert.equal((await api.create('AFTER_THE_LOCK', 'stored')).status, 201);
    assert.equal((await server.stop()).code, 0);
  });
});
