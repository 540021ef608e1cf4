/**
 * Service limits over a real port: the number of secrets per workspace (409 WORKSPACE_FULL,
 * on create and on each imported item), slow clients (408 and a closed connection within
 * the configured timeouts, while others are served), and the connection cap. Body and value
 * sizes are tried in input/malformed-bodies.test.ts and input/field-validation.test.ts.
 */
import type { ImportResponse } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, sleep } from '../helpers/http.js';

describeEachBackend('secrets per workspace', (backend) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function fullWorkspace(): Promise<{ s: TestServer; token: string }> {
    const s = (server = await startTestServer({ DUCTAPE_MAX_SECRETS_PER_WORKSPACE: '3' }, backend));
    const token = await accessToken(s.url, s.owner);
    for (const key of ['A', 'B', 'C']) {
      const created = await rawRequest(s.url, 'POST', '/v1/secrets', { token, body: { key, value: 'v' } });
      assert.equal(created.status, 201, created.text);
    }
    return { s, token };
  }

  it('refuses a new secret past the maximum with 409 WORKSPACE_FULL naming the limit', async () => {
    const { s, token } = await fullWorkspace();
    const refused = await rawRequest(s.url, 'POST', '/v1/secrets', { token, body: { key: 'D', value: 'v' } });
    const body = assertErrorBody(refused, 409, 'WORKSPACE_FULL');
    assert.match(body.message, /'D'/);
    assert.match(body.message, /maximum of 3 secrets/);
    assert.match(body.message, /DUCTAPE_MAX_SECRETS_PER_WORKSPACE/);
    const listed = await rawRequest(s.url, 'GET', '/v1/secrets', { token });
    assert.equal(listed.text.includes('"D"'), false);

    // An existing key is still a plain conflict, and updates still work.
    const again = await rawRequest(s.url, 'POST', '/v1/secrets', { token, body: { key: 'A', value: 'v' } });
    assertErrorBody(again, 409, 'SECRET_EXISTS');
    const patched = await rawRequest(s.url, 'PATCH', '/v1/secrets/A', { token, body: { value: 'w' } });
    assert.equal(patched.status, 200, patched.text);

    // The cap is per workspace, and deleting makes room again.
    const other = await s.newWorkspace();
    const otherToken = await accessToken(s.url, other);
    const elsewhere = await rawRequest(s.url, 'POST', '/v1/secrets', {
      token: otherToken,
      body: { key: 'D', value: 'v' },
    });
    assert.equal(elsewhere.status, 201, elsewhere.text);
    const deleted = await rawRequest(s.url, 'DELETE', '/v1/secrets/B', { token });
    assert.ok(deleted.status < 300, deleted.text);
    const created = await rawRequest(s.url, 'POST', '/v1/secrets', { token, body: { key: 'D', value: 'v' } });
    assert.equal(created.status, 201, created.text);
  });

  it('import refuses each new item past the maximum and still updates existing keys', async () => {
    const { s, token } = await fullWorkspace();
    assert.ok((await rawRequest(s.url, 'DELETE', '/v1/secrets/C', { token })).status < 300);
    const answer = await rawRequest(s.url, 'POST', '/v1/secrets/import', {
      token,
      body: {
        overwrite: true,
        secrets: [
          { key: 'A', value: 'new' },
          { key: 'N1', value: 'v' },
          { key: 'N2', value: 'v' },
          { key: 'B', value: 'new' },
        ],
      },
    });
    assert.equal(answer.status, 200, answer.text);
    const results = (answer.json as ImportResponse).results;
    assert.deepEqual(
      results.map((r) => [r.key, r.status, r.code]),
      [
        ['A', 'updated', undefined],
        ['N1', 'created', undefined],
        ['N2', 'refused', 'WORKSPACE_FULL'],
        ['B', 'updated', undefined],
      ],
    );
    assert.match(results[2]?.message ?? '', /maximum of 3 secrets.*DUCTAPE_MAX_SECRETS_PER_WORKSPACE/);
  });
});

/** A raw TCP client: everything it receives, and when the server closed it. */
interface RawClient {
  socket: Socket;
  received(): string;
  /** Resolves with the milliseconds from connect to close. */
  closed: Promise<number>;
}

async function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let data = '';
  socket.setEncoding('utf8').on('data', (d: string) => (data += d));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const start = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - start)));
  return { socket, received: () => data, closed };
}

const HEALTH_REQUEST = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';

/** Sends one keep-alive request and waits for its whole answer. */
async function healthOver(client: RawClient): Promise<void> {
  const before = client.received().length;
  client.socket.write(HEALTH_REQUEST);
  for (let i = 0; i < 200 && !client.received().slice(before).includes('"ok"'); i++) await sleep(10);
  assert.match(client.received().slice(before), /^HTTP\/1\.1 200 /);
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('slow clients [sqlite]', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  const start = async (): Promise<TestServer> =>
    (server = await startTestServer({
      DUCTAPE_HEADERS_TIMEOUT_MS: '1000',
      DUCTAPE_REQUEST_TIMEOUT_MS: '2000',
    }));

  function assertTimedOut(client: RawClient): void {
    const text = client.received();
    assert.match(text, /^HTTP\/1\.1 408 /, text);
    assert.match(text, /"code":"REQUEST_TIMEOUT"/);
    assert.match(text, /within 1000 ms.*within 2000 ms/);
  }

  for (const [what, partial] of [
    ['a partial request line', 'GET /heal'],
    ['partial headers', 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: '],
  ] as const) {
    it(`${what} then silence: 408 and closed after the headers timeout, others served meanwhile`, async () => {
      const s = await start();
      const slow = await rawClient(s.url);
      slow.socket.write(partial);
      await sleep(300);
      const meanwhile = await rawRequest(s.url, 'GET', '/healthz');
      assert.equal(meanwhile.status, 200);
      const elapsed = await withDeadline(slow.closed, 4000, 'slow client');
      assert.ok(elapsed >= 900 && elapsed < 2500, `closed after ${elapsed} ms`);
      assertTimedOut(slow);
    });
  }

  it('headers then a trickled body: 408 and closed after the request timeout', async () => {
    const s = await start();
    const slow = await rawClient(s.url);
    slow.socket.write(
      'POST /v1/auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'Content-Length: 1000\r\n\r\n{',
    );
    // A byte every 100 ms: never idle long enough for an idle timeout to catch it.
    const trickle = setInterval(() => {
      if (!slow.socket.destroyed) slow.socket.write(' ');
    }, 100);
    try {
      await sleep(500);
      const meanwhile = await rawRequest(s.url, 'GET', '/healthz');
      assert.equal(meanwhile.status, 200);
      const elapsed = await withDeadline(slow.closed, 5000, 'trickling client');
      assert.ok(elapsed >= 1900 && elapsed < 3500, `closed after ${elapsed} ms`);
    } finally {
      clearInterval(trickle);
    }
    assertTimedOut(slow);
  });
});

describe('maximum connections [sqlite]', () => {
  let server: TestServer | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await server?.stop();
    server = undefined;
  });

  it('past DUCTAPE_MAX_CONNECTIONS a new connection is closed at once; closing one makes room', async () => {
    const s = (server = await startTestServer({ DUCTAPE_MAX_CONNECTIONS: '5' }));
    for (let i = 0; i < 5; i++) {
      const client = await rawClient(s.url);
      clients.push(client);
      // Served, then held open idle (keep-alive).
      await healthOver(client);
    }
    const sixth = await rawClient(s.url);
    clients.push(sixth);
    sixth.socket.write(HEALTH_REQUEST);
    const elapsed = await withDeadline(sixth.closed, 2000, 'sixth connection');
    assert.ok(elapsed < 1000, `closed after ${elapsed} ms`);
    assert.equal(sixth.received(), '');

    // The five kept connections still work.
    for (const client of clients.slice(0, 5)) await healthOver(client);

    clients[0]?.socket.end();
    await clients[0]?.closed;
    let served = false;
    for (let attempt = 0; attempt < 20 && !served; attempt++) {
      const next = await rawClient(s.url);
      clients.push(next);
      next.socket.write(HEALTH_REQUEST);
      await Promise.race([next.closed, sleep(500)]);
      served = /^HTTP\/1\.1 200 /.test(next.received());
      if (!served) await sleep(50);
    }
    assert.ok(served, 'a new connection is served once one of the five closed');
  });
});
