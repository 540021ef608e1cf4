/**
 * How the server serves the console's build, over real HTTP: index.html at / and at every
 * client-side route, assets with a long cache, the console's own Content-Security-Policy
 * (no inline script, nothing from elsewhere) while the API's headers stay as they were, the
 * API's JSON 404 for /v1, /healthz and /readyz paths, no file outside the build for any
 * path (traversal, encoded or not; a symlink planted in the build), and a 404 naming the
 * build when there is none.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CONSOLE_CSP, consoleDistDir, consoleFiles } from '../../server/src/http/console.js';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the path exactly as given (fetch would resolve `..` before sending). */
function get(
  base: string,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

describe('serving the console build', () => {
  let server: TestServer;
  let index: Buffer;

  before(async () => {
    server = await startTestServer();
    index = readFileSync(join(consoleDistDir() as string, 'index.html'));
  });
  after(() => server?.stop());

  it('serves index.html at / with the console CSP: no inline script, nothing from elsewhere', async () => {
    const answer = await get(server.url, '/');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(answer.headers['content-security-policy'], CONSOLE_CSP);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|https?:|\*/);
    assert.equal(answer.headers['x-frame-options'], 'DENY');
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.deepEqual(answer.body, index);
    const html = answer.body.toString();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, 'an inline script');
    assert.doesNotMatch(html, /https?:\/\//, 'a URL of another origin');
  });

  it('serves the hashed assets, gzipped when asked, cached for good', async () => {
    const src = /<script[^>]*src="([^"]+)"/.exec(index.toString())?.[1] as string;
    const plain = await get(server.url, src);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-security-policy'], CONSOLE_CSP);
    // The SDK runs in the page: nothing Node-only may be bundled with it.
    assert.doesNotMatch(plain.body.toString(), /["']node:[a-z]/);
    const zipped = await get(server.url, src, 'GET', { 'accept-encoding': 'gzip, br' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(zipped.body), plain.body);
    assert.equal((await get(server.url, '/assets/nope.js')).status, 404);
  });

  it('answers client-side routes with index.html, HEAD included', async () => {
    for (const path of [
      '/secrets',
      '/secrets/A.B-c_d',
      '/secrets/X/edit',
      '/members',
      '/a/b/c?x=1',
      '/index.html',
    ]) {
      const answer = await get(server.url, path);
      assert.equal(answer.status, 200, path);
      assert.deepEqual(answer.body, index, path);
    }
    const head = await get(server.url, '/audit', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-security-policy'], CONSOLE_CSP);
  });

  it('leaves the API as it was: its headers, and its JSON 404 for /v1, /healthz and /readyz paths', async () => {
    const health = await get(server.url, '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.headers['content-security-policy'], API_CSP);
    assert.equal(health.headers['cache-control'], 'no-store');
    assert.equal(health.headers['cross-origin-opener-policy'], undefined);
    for (const path of [
      '/v1',
      '/v1/',
      '/v1/nope',
      '/v1/secrets/A/nope',
      '/healthz/x',
      '/readyz/x',
      '/v1/../secrets',
    ]) {
      const answer = await get(server.url, path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.headers['content-security-policy'], API_CSP, path);
      assert.equal((JSON.parse(answer.body.toString()) as { code: string }).code, 'ROUTE_NOT_FOUND', path);
    }
    assert.equal((await get(server.url, '/v1/secrets')).status, 401);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await get(server.url, '/', method);
      assert.equal(answer.status, 404, method);
      assert.equal(answer.headers['content-security-policy'], API_CSP);
    }
  });

  it('never answers with a file outside the build, whatever the path', async () => {
    const paths = [
      '/../package.json',
      '/assets/../../package.json',
      '/assets/../../../server/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/.%2e/.%2e/package.json',
      '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/assets/..\\..\\package.json',
      '/assets/....//....//package.json',
      '//etc/passwd',
      '/assets//etc/passwd',
      '/assets/%00',
      '/assets/../../../../../../../../etc/passwd',
      '/etc/passwd',
      '/assets/%c0%ae%c0%ae/package.json',
    ];
    for (const path of paths) {
      const answer = await get(server.url, path);
      const text = answer.body.toString();
      assert.ok(answer.status < 500, `${path}: ${answer.status}`);
      assert.doesNotMatch(text, /"name": "@ductape|root:x:0:0/, path);
      if (answer.status === 200) assert.deepEqual(answer.body, index, path);
      else assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8', path);
    }
  });
});

describe('a console build that is odd or missing', () => {
  const apps: FastifyInstance[] = [];
  const dirs: string[] = [];
  const serve = async (dir: string | null): Promise<string> => {
    const app = Fastify();
    // As app.ts does: the console answers from the not-found handler.
    const page = consoleFiles(dir);
    app.setNotFoundHandler((request, reply) => {
      if (!page(request, reply)) void reply.code(404).send({ code: 'ROUTE_NOT_FOUND', message: 'none' });
    });
    apps.push(app);
    return app.listen({ port: 0, host: '127.0.0.1' });
  };
  after(async () => {
    for (const app of apps) await app.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('does not follow a symlink planted in the build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ductape-console-'));
    dirs.push(dir);
    const outside = join(dir, '..', `${dir.split('/').pop()}-outside.txt`);
    writeFileSync(outside, 'TOP-SECRET-OUTSIDE-THE-BUILD');
    dirs.push(outside);
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'assets', 'app.js'), 'export {};');
    symlinkSync(outside, join(dir, 'assets', 'leak.txt'));
    const url = await serve(dir);
    assert.equal((await get(url, '/assets/app.js')).status, 200);
    const leak = await get(url, '/assets/leak.txt');
    assert.equal(leak.status, 404);
    assert.doesNotMatch(leak.body.toString(), /TOP-SECRET/);
  });

  it('answers / with a 404 that names the build when there is none', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ductape-console-'));
    dirs.push(empty);
    for (const dir of [empty, join(empty, 'absent'), null]) {
      const url = await serve(dir);
      for (const path of ['/', '/secrets']) {
        const answer = await get(url, path);
        assert.equal(answer.status, 404);
        const body = JSON.parse(answer.body.toString()) as { code: string; message: string };
        assert.equal(body.code, 'ROUTE_NOT_FOUND');
        assert.match(body.message, /console is not built: run `npm run build`/);
      }
    }
  });
});
