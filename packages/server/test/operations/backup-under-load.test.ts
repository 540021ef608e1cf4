/**
 * A backup taken while 8 writers run against a real server (real HTTP on 127.0.0.1), on each
 * backend. Restored, it holds every write acknowledged before the backup began, exactly, and
 * whatever else it holds is whole: each version present reads back as the value its writer
 * sent for that version, a secret whose create was answered only after the backup began may
 * be absent but never half there, and the restore's own audit verify and integrity check pass.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { runOperator, startTestServer, tempDir, type TestServer } from '../helpers/harness.js';
import { sleep } from '../helpers/http.js';
import { emptyStoreLike } from './store-fixtures.js';

interface Ack {
  key: string;
  version: number;
  value: string;
  /** When the answer arrived (Date.now()). */
  at: number;
}

const WRITERS = 8;
/** Versions each key gets before its writer moves to a new key (well under DUCTAPE_KEEP_VERSIONS). */
const VERSIONS_PER_KEY = 4;

describeEachBackend('a backup under write load', (backend) => {
  let srv: TestServer;
  let dir: string;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    srv = await startTestServer({}, backend);
    dir = tempDir('ductape-backup-load-');
  });
  after(async () => {
    await srv.stop();
    for (const cleanup of cleanups) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores every write acknowledged before it began, and nothing half-written', async (t) => {
    const acks: Ack[] = [];
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      const client = srv.client(srv.owner);
      for (let k = 0; !stop; k++) {
        const key = `W${w}_K${k}`;
        for (let v = 1; v <= VERSIONS_PER_KEY && !stop; v++) {
          const value = `writer ${w} key ${k} version ${v} ${Math.random()}`;
          const answer =
            v === 1
              ? await client.secrets.create({ key, value })
              : await client.secrets.update(key, { value });
          assert.equal(answer.version, v);
          acks.push({ key, version: v, value, at: Date.now() });
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    // Until a good number of writes are in (signing in and the first writes are slow on a busy machine).
    for (const deadline = Date.now() + 30_000; acks.length < 80 && Date.now() < deadline;) await sleep(50);

    const file = join(dir, 'under-load.backup');
    const began = Date.now();
    const backup = await runOperator(['backup', '--out', file, '--json', '--quiet'], { env: srv.env });
    const ended = Date.now();
    await sleep(300);
    stop = true;
    await Promise.all(writers);
    assert.equal(backup.code, 0, backup.stderr);
    const before = acks.filter((a) => a.at < began);
    const during = acks.filter((a) => a.at >= began && a.at <= ended);
    assert.ok(before.length >= 50, `only ${before.length} writes before the backup`);
    assert.ok(during.length > 0, 'no write was answered while the backup ran: it did not run under load');

    const store = await emptyStoreLike(backend, { env: srv.env, dataDir: srv.dataDir });
    cleanups.push(store.cleanup);
    const restored = await runOperator(['restore', '--from', file, '--quiet'], { env: store.env });
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);

    const sent = new Map<string, Map<number, string>>();
    for (const a of acks)
      sent.set(a.key, (sent.get(a.key) ?? new Map<number, string>()).set(a.version, a.value));
    const mustHave = new Map<string, number>();
    for (const a of before) mustHave.set(a.key, Math.max(mustHave.get(a.key) ?? 0, a.version));

    const server = await startTestServer(store.env, backend);
    try {
      const client = server.client(srv.owner);
      const present = new Map((await client.secrets.list()).map((s) => [s.key, s.version]));
      for (const [key, version] of mustHave) {
        assert.ok(
          (present.get(key) ?? 0) >= version,
          `${key}: v${version} was acknowledged before the backup`,
        );
      }
      for (const [key, version] of present) {
        const values = sent.get(key);
        assert.ok(values, `${key} was never written`);
        for (let v = 1; v <= version; v++) {
          const read = await client.secrets.fetch(key, { version: v });
          assert.equal(read.value, values.get(v), `${key} v${v}`);
        }
      }
      const absent = [...sent.keys()].filter((k) => !present.has(k));
      t.diagnostic(
        `${before.length} writes answered before the backup, ${during.length} while it ran (${ended - began} ms), ` +
          `${acks.length} in all; restored ${present.size} of ${sent.size} keys`,
      );
      for (const key of absent) assert.equal(mustHave.has(key), false, `${key} is missing`);
    } finally {
      await server.server.close();
    }
  });
});
