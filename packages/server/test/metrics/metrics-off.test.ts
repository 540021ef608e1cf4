/**
 * Metrics are off unless asked for: without DUCTAPE_METRICS_PORT a server process listens on
 * its API port and nothing else; with it, on exactly one more port, bound where
 * DUCTAPE_METRICS_HOST says. The variables are checked like every other (config.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/harness.js';
import { freePort } from '../helpers/http.js';
import { killAllServers, startServerProcess } from '../helpers/server-process.js';

/** The TCP ports a process listens on, as "address:port" (Linux: /proc). */
function listening(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state, , , , , , inode] = fields.slice(1);
      if (state !== '0A' || !inode || !inodes.has(inode) || !local) continue; // 0A: LISTEN
      const [address, port] = local.split(':');
      const bytes = (address ?? '').match(/../g) ?? [];
      const ip =
        table === 'tcp'
          ? bytes
              .reverse()
              .map((b) => parseInt(b, 16))
              .join('.')
          : address;
      found.push(`${ip}:${parseInt(port ?? '0', 16)}`);
    }
  }
  return found.sort();
}

describe('metrics off by default', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  after(() => killAllServers());

  it('without DUCTAPE_METRICS_PORT a server listens on its API port only', async () => {
    const server = await startServerProcess({ DUCTAPE_DATA_DIR: tempDir(), LOG_LEVEL: 'warn' });
    try {
      const port = new URL(server.url).port;
      assert.deepEqual(listening(server.child.pid as number), [`127.0.0.1:${port}`]);
    } finally {
      await server.stop();
    }
  });

  it('with it, on one more port, bound to DUCTAPE_METRICS_HOST, which serves the scrape', async () => {
    const metricsPort = await freePort();
    const server = await startServerProcess({
      DUCTAPE_DATA_DIR: tempDir(),
      LOG_LEVEL: 'warn',
      DUCTAPE_METRICS_PORT: String(metricsPort),
      DUCTAPE_METRICS_HOST: '127.0.0.2',
    });
    try {
      const port = new URL(server.url).port;
      assert.deepEqual(listening(server.child.pid as number), [
        `127.0.0.1:${port}`,
        `127.0.0.2:${metricsPort}`,
      ]);
      const scrape = await fetch(`http://127.0.0.2:${metricsPort}/metrics`);
      assert.equal(scrape.status, 200);
      assert.match(
        await scrape.text(),
        /^ductape_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+$/m,
      );
    } finally {
      await server.stop();
    }
  });
});

describe('metrics configuration', () => {
  it('is off when DUCTAPE_METRICS_PORT is unset or empty', () => {
    assert.equal(loadConfig({}).metrics, undefined);
    assert.equal(
      loadConfig({ DUCTAPE_METRICS_PORT: ' ', DUCTAPE_METRICS_HOST: '0.0.0.0' }).metrics,
      undefined,
    );
  });

  it('binds to 127.0.0.1 unless told otherwise', () => {
    assert.deepEqual(loadConfig({ DUCTAPE_METRICS_PORT: '9464' }).metrics, { port: 9464, host: '127.0.0.1' });
    assert.deepEqual(loadConfig({ DUCTAPE_METRICS_PORT: '9464', DUCTAPE_METRICS_HOST: '10.0.0.5' }).metrics, {
      port: 9464,
      host: '10.0.0.5',
    });
  });

  it('refuses a bad port, the API port, or a bad host, naming the variable', () => {
    const refused = (env: Record<string, string>, variable: string): void =>
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
      );
    refused({ DUCTAPE_METRICS_PORT: 'abc' }, 'DUCTAPE_METRICS_PORT');
    refused({ DUCTAPE_METRICS_PORT: '70000' }, 'DUCTAPE_METRICS_PORT');
    refused({ DUCTAPE_METRICS_PORT: '8080' }, 'DUCTAPE_METRICS_PORT');
    refused({ DUCTAPE_METRICS_PORT: '9000', PORT: '9000' }, 'DUCTAPE_METRICS_PORT');
    refused({ DUCTAPE_METRICS_PORT: '9464', DUCTAPE_METRICS_HOST: 'a host' }, 'DUCTAPE_METRICS_HOST');
  });
});
