/**
 * Crash safety. The real server process is killed with SIGKILL at random moments while
 * concurrent creates, updates and deletes arrive over HTTP, and started again on the same
 * data each time. A ledger of every request and its answer then checks what the store holds
 * (see helpers/ledger.ts): every acknowledged write is there with exactly the value and
 * version it was acknowledged with (an update can only be followed by later versions), an
 * acknowledged delete holds, and a request that got no answer either happened or not, but
 * nothing else appears: no secret never asked for, no value never sent, none refused at the
 * door. On SQLite the database file then passes `PRAGMA integrity_check`. On PostgreSQL the
 * process dies and the database lives on.
 */
import type { ListSecretsResponse, Secret, SecretWithValue } from '@ductape/sdk';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { openRuntime, type Runtime } from '../src/main.js';
import { SQLITE_FILE } from '../src/store/backends/sqlite/sqlite-store.js';
import { describeEachBackend } from './helpers/backends.js';
import { storeEnv, type Credentials } from './helpers/harness.js';
import { accessToken, rawRequest, sleep } from './helpers/http.js';
import { Ledger, type Outcome, type Stored } from './helpers/ledger.js';
import { killAllServers, startServerProcess } from './helpers/server-process.js';

const KILLS = 20;
const WORKERS = 8;
const SHARED_KEYS = 12;
/** Versions kept per secret: enough that none is pruned, so every version can be checked. */
const KEEP_VERSIONS = 1000;

/** A value nobody else sends: worker, sequence number and random bytes, 20 B to 6 KB long. */
let sequence = 0;
function uniqueValue(worker: number): string {
  const head = `w${worker}-s${++sequence}-${randomBytes(6).toString('hex')}-`;
  return head + 'x'.repeat(Math.floor(Math.random() * 6000));
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

/** The server now answering, or none between a kill and the next start. */
class Lifecycle {
  current: { url: string; generation: number } | undefined;
  stopped = false;
  private waiters: (() => void)[] = [];

  set(current: { url: string; generation: number } | undefined): void {
    this.current = current;
    for (const wake of this.waiters.splice(0)) wake();
  }

  stop(): void {
    this.stopped = true;
    this.set(undefined);
  }

  /** The first server after `generation`, or undefined once stopped. */
  async after(generation: number): Promise<{ url: string; generation: number } | undefined> {
    while (!this.stopped && (this.current === undefined || this.current.generation <= generation)) {
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
    return this.stopped ? undefined : this.current;
  }
}

describeEachBackend('SIGKILL at random moments under concurrent writes', (backend) => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  after(async () => {
    killAllServers();
    await cleanup?.();
  });

  it(`${KILLS} kills and restarts: every acknowledged write survives exactly, nothing else appears`, async (t) => {
    const started = Date.now();
    ({ env, cleanup } = await storeEnv(backend, {
      LOG_LEVEL: 'warn',
      DUCTAPE_KEEP_VERSIONS: String(KEEP_VERSIONS),
      DUCTAPE_TOKEN_EXCHANGES_PER_IP: '100000',
    }));
    if (env.DUCTAPE_MASTER_KEY === undefined) env.DUCTAPE_MASTER_KEY = randomBytes(32).toString('base64');
    const ledger = new Ledger();
    const shared = Array.from({ length: SHARED_KEYS }, (_, i) => `SHARED_${i}`);

    // The workspace and the shared keys, made directly in the store before any server runs.
    let owner: Credentials;
    {
      const runtime = await openRuntime(loadConfig(env));
      try {
        owner = await runtime.members.createWorkspace('crash test');
        for (const key of shared) {
          const value = uniqueValue(-1);
          const meta = await runtime.secrets.create(principalOf(owner), { key, value });
          ledger.record({ op: 'create', key, value, outcome: 'acked', version: meta.version, answer: 201 });
        }
      } finally {
        await runtime.close();
      }
    }

    const life = new Lifecycle();
    let token = '';

    /** Sends one write to the current server and records how it ended. */
    async function send(
      generation: { url: string; generation: number },
      op: 'create' | 'update' | 'delete',
      key: string,
      value?: string,
    ): Promise<Outcome> {
      const [method, path] =
        op === 'create'
          ? ['POST', '/v1/secrets']
          : [op === 'update' ? 'PATCH' : 'DELETE', `/v1/secrets/${key}`];
      const body = op === 'create' ? { key, value } : op === 'update' ? { value } : undefined;
      try {
        const answer = await rawRequest(generation.url, method, path, {
          token,
          ...(body === undefined ? {} : { body }),
        });
        const ok = answer.status >= 200 && answer.status < 300;
        const version = ok && op !== 'delete' ? (answer.json as Secret).version : undefined;
        const outcome: Outcome = ok ? 'acked' : 'refused';
        ledger.record({ op, key, value, outcome, version, answer: answer.status });
        return outcome;
      } catch (error) {
        const code = String(
          (error as { cause?: { code?: unknown } }).cause?.code ?? (error as Error).message,
        );
        // A refused connection never reached the server; anything else may have been done.
        const outcome: Outcome = code === 'ECONNREFUSED' ? 'refused' : 'unknown';
        ledger.record({ op, key, value, outcome, answer: code });
        return outcome;
      }
    }

    /**
     * One caller: half its writes update the shared keys (racing the other callers), the
     * other half walk keys of its own: create, a few updates, sometimes a delete, next key.
     */
    async function worker(id: number): Promise<void> {
      let mine: string | undefined;
      let updates = 0;
      let made = 0;
      let server = await life.after(0);
      while (server) {
        let outcome: Outcome;
        if (Math.random() < 0.5) {
          outcome = await send(server, 'update', pick(shared), uniqueValue(id));
        } else if (mine === undefined) {
          const key = `OWN_${id}_${++made}`;
          outcome = await send(server, 'create', key, uniqueValue(id));
          // Only a created key is walked on; an unanswered create is left as it is.
          if (outcome === 'acked') [mine, updates] = [key, 0];
        } else if (updates >= 6 || Math.random() < 0.15) {
          outcome = await send(server, 'delete', mine);
          mine = undefined;
        } else {
          outcome = await send(server, 'update', mine, uniqueValue(id));
          updates++;
        }
        if (outcome !== 'acked') server = await life.after(server.generation);
      }
    }

    const workers: Promise<void>[] = [];
    for (let generation = 1; generation <= KILLS; generation++) {
      const node = await startServerProcess(env);
      if (generation === 1) {
        token = await accessToken(node.url, owner);
        for (let id = 0; id < WORKERS; id++) workers.push(worker(id));
      }
      life.set({ url: node.url, generation });
      // Some writes land on every server whatever the machine's load, then the kill comes at
      // a random moment of the stream.
      const before = ledger.count('acked');
      const wanted = 5 + Math.floor(Math.random() * 40);
      const deadline = Date.now() + 20_000;
      while (ledger.count('acked') - before < wanted && Date.now() < deadline) await sleep(5);
      assert.ok(ledger.count('acked') - before >= wanted, `server ${generation} acknowledged too few writes`);
      await sleep(Math.random() * 100);
      assert.equal(node.child.exitCode, null, `the server died by itself:\n${node.output()}`);
      node.child.kill('SIGKILL');
      assert.equal((await node.exited).signal, 'SIGKILL');
      life.set(undefined);
    }
    life.stop();
    await Promise.all(workers);

    // One more start on the crashed data: it recovers, then reports what it holds.
    const node = await startServerProcess(env);
    const listed = await rawRequest(node.url, 'GET', '/v1/secrets', { token });
    assert.equal(listed.status, 200, listed.text);
    const present = new Map((listed.json as ListSecretsResponse).secrets.map((s) => [s.key, s]));
    const never = [...present.keys()].filter((k) => !ledger.keys().includes(k));
    assert.deepEqual(never, [], 'secrets that were never requested');
    const served = new Map<string, string>();
    for (const [key, meta] of present) {
      const fetched = await rawRequest(node.url, 'GET', `/v1/secrets/${key}`, { token });
      assert.equal(fetched.status, 200, fetched.text);
      const { version, value } = fetched.json as SecretWithValue;
      assert.equal(version, meta.version);
      served.set(key, value);
    }
    assert.equal((await node.stop()).code, 0, node.output());

    if (backend === 'sqlite') {
      const db = new Database(join(env.DUCTAPE_DATA_DIR as string, SQLITE_FILE), { readonly: true });
      try {
        assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      } finally {
        db.close();
      }
    }

    // Every version of every key, read back directly through the store and the keyring.
    const runtime = await openRuntime(loadConfig(env));
    const problems: string[] = [];
    let versions = 0;
    let done = 0;
    try {
      for (const key of ledger.keys()) {
        const stored = await readStored(runtime, owner, key, present.get(key)?.version);
        versions += stored?.version ?? 0;
        done += ledger.unansweredButDone(key, stored);
        problems.push(...ledger.check(key, stored));
        if (stored && served.get(key) !== stored.history.get(stored.version)) {
          problems.push(`${key}: the server served another value than its current version's`);
        }
      }
    } finally {
      await runtime.close();
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(
      ledger.unexpectedAnswers().map((w) => `${w.op} ${w.key}: ${w.answer}`),
      [],
      'answers other than 2xx',
    );

    const acked = ledger.count('acked');
    const unknown = ledger.count('unknown');
    t.diagnostic(
      `${backend}: ${KILLS} kills; ${acked} writes acknowledged, ${unknown} unanswered (${done} of them done), ` +
        `${ledger.count('refused')} refused at the door; ${present.size} secrets and ${versions} versions checked; ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    // Writes were cut mid-flight (every server acknowledged some, see above).
    assert.ok(unknown > 0, 'no write was ever cut off by a kill');
  });
});

function principalOf(owner: Credentials) {
  return {
    kind: 'user' as const,
    workspaceId: owner.workspace_id,
    userId: owner.user_id,
    role: 'owner' as const,
  };
}

/** A key's versions and their values, or undefined when the key is absent. */
async function readStored(
  runtime: Runtime,
  owner: Credentials,
  key: string,
  listedVersion: number | undefined,
): Promise<Stored | undefined> {
  const principal = principalOf(owner);
  const meta = await runtime.store.getSecretMeta(owner.workspace_id, key);
  assert.equal(meta?.version, listedVersion, `${key}: the store and the last server disagree`);
  if (!meta) return undefined;
  const history = new Map<number, string>();
  for (const { version } of await runtime.secrets.versions(principal, key)) {
    history.set(version, (await runtime.secrets.fetch(principal, key, version)).value);
  }
  return { version: meta.version, history };
}
