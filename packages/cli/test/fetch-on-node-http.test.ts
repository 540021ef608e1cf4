/**
 * The small fetch `ductape run` gives the SDK (src/http-fetch.ts): it must answer and fail
 * the way the global fetch does as far as the SDK can tell, so the SDK's messages stay the same.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Ductape, { type DuctapeError } from '@ductape/sdk';
import { httpFetch } from '../src/http-fetch.js';

let server: Server;
let url: string;
/** A port nothing listens on (and not one fetch refuses to use, like 9). */
let closedPort: number;

describe('the CLI fetch on node:http', () => {
  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (d: string) => (body += d));
      request.on('end', () => {
        if (request.url === '/slow' || request.url?.startsWith('/v1/')) return; // never answers
        const status = request.url === '/missing' ? 404 : 200;
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            method: request.method,
            authorization: request.headers.authorization ?? null,
            body,
            text: 'ünïcödé ☃ 🎉',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, headers and body; answers status, ok and the UTF-8 text', async () => {
    const response = await httpFetch(`${url}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: '{"a":"é"}',
    });
    assert.equal(response.status, 200);
    assert.equal(response.ok, true);
    assert.deepEqual(JSON.parse(await response.text()), {
      method: 'POST',
      authorization: 'Bearer x',
      body: '{"a":"é"}',
      text: 'ünïcödé ☃ 🎉',
    });
    const missing = await httpFetch(`${url}/missing`);
    assert.deepEqual([missing.status, missing.ok, missing.statusText], [404, false, 'Not Found']);
  });

  it('fails like undici: a TypeError whose cause has the code, or the abort reason', async () => {
    await assert.rejects(httpFetch(`http://127.0.0.1:${closedPort}/`), (error: Error) => {
      assert.equal(error.name, 'TypeError');
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
    await assert.rejects(httpFetch(`${url}/slow`, { signal: AbortSignal.timeout(100) }), {
      name: 'TimeoutError',
    });
  });

  it('gives the SDK the same messages as the global fetch', async () => {
    const sdk = (fetch?: typeof globalThis.fetch) =>
      new Ductape({ token: 'dst_x', url: `http://127.0.0.1:${closedPort}`, fetch, timeoutMs: 2000 });
    const messages = await Promise.all(
      [httpFetch, undefined].map((f) =>
        sdk(f)
          .secrets.export()
          .then(
            () => 'no error',
            (error: DuctapeError) => `${error.code}: ${error.message}`,
          ),
      ),
    );
    assert.equal(
      messages[0],
      `NETWORK_ERROR: Could not reach the Ductape server at http://127.0.0.1:${closedPort} (GET /v1/export): ` +
        `ECONNREFUSED connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    );
    assert.equal(messages[0], messages[1]);

    const timedOut = new Ductape({ token: 'dst_x', url, fetch: httpFetch, timeoutMs: 100 });
    await assert.rejects(timedOut.secrets.export(), /the request timed out/);
  });
});
