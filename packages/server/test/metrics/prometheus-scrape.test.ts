/**
 * The real thing: Debian's `prometheus` scrapes a running server process's metrics listener
 * (its own instance, on a free port, with a temporary config and data dir), and its query
 * API shows the target up and a request counter that grew by exactly the requests made here.
 * The series it stored hold none of the secret keys the requests sent.
 *
 * Without the binary the suite is skipped with a loud reason; in CI (CI=true) that is a
 * failure: .ci/run installs it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IN_CI } from '../helpers/backends.js';
import { tempDir } from '../helpers/harness.js';
import { freePort, sleep } from '../helpers/http.js';
import { killAllServers, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((path) => existsSync(path));
if (!PROMETHEUS) {
  const line = 'the prometheus binary is missing (apt-get install prometheus)';
  if (IN_CI) throw new Error(`${line}: in CI the Prometheus suite must not be skipped`);
  process.stderr.write(`\n*** SKIPPING the Prometheus scrape suite: ${line}. ***\n\n`);
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe(
  'Prometheus scrapes the metrics listener',
  { skip: PROMETHEUS ? false : 'prometheus is not installed' },
  () => {
    const dir = tempDir('ductape-prometheus-');
    let server: ServerProcess;
    let prometheus: ChildProcess;
    let prometheusUrl: string;
    let output = '';

    async function query(expression: string): Promise<Sample[]> {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
      const body = (await response.json()) as { status: string; data: { result: Sample[] } };
      assert.equal(body.status, 'success', JSON.stringify(body));
      return body.data.result;
    }

    /** Polls `expression` until `accept` takes its first sample's value (20 s at most). */
    async function waitFor(expression: string, accept: (value: number) => boolean): Promise<number> {
      const deadline = Date.now() + 20_000;
      let last: number | undefined;
      while (Date.now() < deadline) {
        const [sample] = await query(expression);
        last = sample ? Number(sample.value[1]) : undefined;
        if (last !== undefined && accept(last)) return last;
        await sleep(250);
      }
      throw new Error(`${expression} never became acceptable (last: ${last})\n${output}`);
    }

    before(async () => {
      const metricsPort = await freePort();
      server = await startServerProcess({
        DUCTAPE_DATA_DIR: join(dir, 'data'),
        LOG_LEVEL: 'warn',
        DUCTAPE_METRICS_PORT: String(metricsPort),
      });
      const config = join(dir, 'prometheus.yml');
      writeFileSync(
        config,
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          'scrape_configs:',
          '  - job_name: ductape',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${metricsPort}']`,
          '',
        ].join('\n'),
      );
      const webPort = await freePort();
      prometheusUrl = `http://127.0.0.1:${webPort}`;
      prometheus = spawn(
        PROMETHEUS as string,
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${webPort}`,
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      prometheus.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
      prometheus.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
      const deadline = Date.now() + 30_000;
      for (;;) {
        assert.equal(prometheus.exitCode, null, `prometheus exited:\n${output}`);
        try {
          if ((await fetch(`${prometheusUrl}/-/ready`)).status === 200) break;
        } catch {
          // not listening yet
        }
        assert.ok(Date.now() < deadline, `prometheus was not ready in time:\n${output}`);
        await sleep(200);
      }
    });

    after(async () => {
      if (prometheus && prometheus.exitCode === null) {
        const exited = new Promise((resolve) => prometheus.once('exit', resolve));
        prometheus.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
      }
      await server?.stop();
      killAllServers();
      rmSync(dir, { recursive: true, force: true });
    });

    it('sees the target up and the request counter grow by the requests made', async () => {
      const series = 'ductape_http_requests_total{job="ductape",route="/healthz",method="GET",status="200"}';
      assert.equal(await waitFor('up{job="ductape"}', (v) => v === 1), 1);
      const start = await waitFor(series, () => true);
      // The counter as last scraped equals the server's own: no request may land in between.
      await sleep(1500);
      const settled = await waitFor(series, () => true);
      const key = `PROM_KEY_${Date.now()}`;
      const made = 25;
      for (let i = 0; i < made; i++) assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/v1/secrets/${key}`)).text();
      assert.ok(settled >= start);
      const grown = await waitFor(series, (v) => v >= settled + made);
      assert.equal(grown, settled + made, 'exactly the requests made, no more');
      const unauthenticated = await waitFor(
        'ductape_http_requests_total{job="ductape",route="/v1/secrets/:key",method="GET",status="401"}',
        (v) => v >= 3,
      );
      assert.equal(unauthenticated, 3);

      const stored = await fetch(
        `${prometheusUrl}/api/v1/series?match[]=${encodeURIComponent('{job="ductape"}')}`,
      );
      const text = await stored.text();
      assert.equal(stored.status, 200, text);
      assert.ok(text.includes('ductape_http_requests_total'));
      assert.ok(!text.includes(key), 'no series stored by Prometheus names the key requested');
    });
  },
);
