/**
 * The access log of the real server process: one JSON line per request at the default level,
 * written through pino's asynchronous, buffered destination, whole and in order, and none of them lost when the
 * process stops on SIGTERM or crashes on an uncaught exception (the buffer is flushed on exit).
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/harness.js';
import { killAllServers, startServerProcess } from '../helpers/server-process.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  url?: string;
  status?: number;
}

function lines(output: string): Line[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

/** Sends `count` requests one after another; returns their request ids. */
async function requests(url: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${url}/healthz?n=${i}`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    ids.push(response.headers.get('x-request-id') ?? '');
  }
  return ids;
}

describe('the access log', () => {
  const dir = tempDir('ductape-access-log-');
  after(() => {
    killAllServers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one line per request at the default level, all written by a SIGTERM stop', async () => {
    const server = await startServerProcess({ DUCTAPE_DATA_DIR: join(dir, 'term') });
    // Fewer bytes than the 32 KiB buffer, sent and stopped well within its 1 s flush: only the
    // flush on exit can write them.
    const ids = await requests(server.url, 5);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    const logged = lines(server.output()).filter((l) => l.msg === 'request');
    for (const [n, id] of ids.entries()) {
      const mine = logged.filter((l) => l.reqId === id);
      assert.equal(mine.length, 1, `request ${n} (${id}) logged ${mine.length} times:\n${server.output()}`);
      assert.equal(mine[0]?.url, `/healthz?n=${n}`);
      assert.equal(mine[0]?.status, 200);
      assert.equal(mine[0]?.level, 30);
    }
    // Logged just before process.exit, in the same turn: only the flush on exit writes it.
    assert.ok(
      lines(server.output()).some((l) => l.msg === 'stopped'),
      server.output(),
    );
  });

  it('a crash (uncaught exception) logs it and loses none of the buffered lines before it', async () => {
    // Loaded before the server: SIGUSR2 throws an exception nothing catches.
    const crash = join(dir, 'crash-on-usr2.mjs');
    writeFileSync(
      crash,
      "process.on('SIGUSR2', () => setImmediate(() => { throw new Error('crash requested by the test'); }));\n",
    );
    const server = await startServerProcess({ DUCTAPE_DATA_DIR: join(dir, 'crash') }, ['--import', crash]);
    const ids = await requests(server.url, 5);
    server.child.kill('SIGUSR2');
    const exit = await server.exited;
    assert.equal(exit.code, 1, server.output());
    const all = lines(server.output());
    for (const id of ids)
      assert.ok(
        all.some((l) => l.msg === 'request' && l.reqId === id),
        `${id} lost`,
      );
    const fatal = all.find((l) => l.level === 60);
    assert.match(fatal?.msg ?? '', /crashed: crash requested by the test/, server.output());
  });

  it('lines spanning many buffer flushes, and text that is not ASCII, arrive whole and in order', async () => {
    // The data dir is in the start-up line: multi-byte characters must reach the file intact.
    const dataDir = join(dir, 'données-✓');
    const server = await startServerProcess({ DUCTAPE_DATA_DIR: dataDir });
    // About 100 KiB of lines: written in several flushes while the server is running.
    const ids = await requests(server.url, 400);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    const all = lines(server.output());
    const listening = all.find((l) => l.msg.startsWith('ductape listening')) as Line & { dataDir?: string };
    assert.equal(listening?.dataDir, dataDir, server.output().slice(0, 2000));
    // (The harness's readiness probes are logged too.)
    const logged = all
      .filter((l) => l.msg === 'request' && l.url?.startsWith('/healthz?n='))
      .map((l) => l.reqId);
    assert.deepEqual(logged, ids);
  });

  it('LOG_LEVEL=warn writes no access lines', async () => {
    const server = await startServerProcess({ DUCTAPE_DATA_DIR: join(dir, 'warn'), LOG_LEVEL: 'warn' });
    await requests(server.url, 3);
    await server.stop();
    assert.equal(lines(server.output()).filter((l) => l.msg === 'request').length, 0, server.output());
  });
});
