/**
 * The SDK against a scripted HTTP peer on 127.0.0.1: how it signs in, renews tokens, and
 * shapes errors. (The end-to-end suites run it against the real server.)
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Ductape, { DuctapeError } from '../src/index.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler;
const seen: { method: string; path: string; auth: string | undefined; body: string }[] = [];

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const creds = { workspace_id: 'w', user_id: 'u', private_key: 'dtk_k' };
let issued = 0;
function tokenAnswer(res: ServerResponse, ttlSeconds = 900): void {
  issued++;
  json(res, 200, {
    access_token: `t${issued}`,
    token_type: 'Bearer',
    expires_in: ttlSeconds,
    expires_at: Math.floor(Date.now() / 1000) + ttlSeconds,
    workspace_id: 'w',
    user_id: 'u',
    role: 'owner',
  });
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

describe('Ductape client', () => {
  it('signs in on first use, sends the bearer token and encodes keys in the path', async () => {
    seen.length = 0;
    handler = (req, _body, res) =>
      req.url === '/v1/auth/token' ? tokenAnswer(res) : json(res, 200, { key: 'a/b', value: 'v' });
    const client = new Ductape({ ...creds, url });
    await client.secrets.fetch('a/b');
    assert.equal(seen[0]?.path, '/v1/auth/token');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), creds);
    assert.equal(seen[1]?.path, '/v1/secrets/a%2Fb');
    assert.match(seen[1]?.auth ?? '', /^Bearer t\d+$/);
  });

  it('shares one sign-in between concurrent first calls', async () => {
    seen.length = 0;
    handler = (req, _body, res) =>
      req.url === '/v1/auth/token' ? setTimeout(() => tokenAnswer(res), 20) : json(res, 200, { secrets: [] });
    const client = new Ductape({ ...creds, url });
    await Promise.all([client.secrets.list(), client.secrets.list(), client.secrets.list()]);
    assert.equal(seen.filter((s) => s.path === '/v1/auth/token').length, 1);
  });

  it('signs in again and retries once when the server says the token expired', async () => {
    seen.length = 0;
    let refused = false;
    handler = (req, _body, res) => {
      if (req.url === '/v1/auth/token') return tokenAnswer(res);
      if (!refused) {
        refused = true;
        return json(res, 401, { code: 'TOKEN_EXPIRED', message: 'Access token has expired' });
      }
      json(res, 200, { secrets: [{ key: 'K' }] });
    };
    const client = new Ductape({ ...creds, url });
    await client.init();
    const list = await client.secrets.list();
    assert.equal(list.length, 1);
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/v1/auth/token', '/v1/secrets', '/v1/auth/token', '/v1/secrets'],
    );
  });

  it('renews a token that is about to lapse before using it', async () => {
    seen.length = 0;
    handler = (req, _body, res) =>
      req.url === '/v1/auth/token' ? tokenAnswer(res, 5) : json(res, 200, { secrets: [] });
    const client = new Ductape({ ...creds, url });
    await client.init(); // a 5 s token is renewed in its last fifth, i.e. after 4 s
    await client.secrets.list();
    assert.equal(seen.filter((s) => s.path === '/v1/auth/token').length, 1, 'a fresh token is reused');
    await new Promise((r) => setTimeout(r, 4200));
    await client.secrets.list();
    assert.equal(seen.filter((s) => s.path === '/v1/auth/token').length, 2, 'a lapsing token is renewed');
  });

  it('throws DuctapeError with response.status and response.data on an error answer', async () => {
    handler = (req, _body, res) =>
      req.url === '/v1/auth/token'
        ? tokenAnswer(res)
        : json(res, 409, { code: 'SECRET_EXISTS', message: "Secret 'K' already exists", field: 'key' });
    const client = new Ductape({ ...creds, url });
    const error = await client.secrets.create({ key: 'K', value: 'v' }).catch((e: unknown) => e);
    assert.ok(error instanceof DuctapeError);
    assert.ok(error instanceof Error);
    assert.equal(error.response?.status, 409);
    assert.equal(error.status, 409);
    assert.equal(error.code, 'SECRET_EXISTS');
    assert.equal(error.message, "Secret 'K' already exists");
    assert.deepEqual(error.response?.data, {
      code: 'SECRET_EXISTS',
      message: "Secret 'K' already exists",
      field: 'key',
    });
  });

  it('gives a status and a message when the error body is not JSON', async () => {
    handler = (_req, _body, res) => res.writeHead(502).end('<html>bad gateway</html>');
    const client = new Ductape({ token: 'x', url });
    const error = (await client.secrets.list().catch((e: unknown) => e)) as DuctapeError;
    assert.equal(error.response?.status, 502);
    assert.equal(error.code, 'INTERNAL_ERROR');
    assert.match(error.message, /502/);
  });

  it('names the URL it could not reach', async () => {
    const client = new Ductape({ ...creds, url: 'http://127.0.0.1:9' });
    const error = (await client.init().catch((e: unknown) => e)) as DuctapeError;
    assert.equal(error.code, 'NETWORK_ERROR');
    assert.equal(error.response, undefined);
    assert.match(error.message, /http:\/\/127\.0\.0\.1:9/);
  });

  it('uses a ready-made token without signing in', async () => {
    seen.length = 0;
    handler = (_req, _body, res) => json(res, 200, { secrets: [] });
    const client = new Ductape({ token: 'dst_service', url });
    await client.init();
    await client.secrets.list();
    assert.deepEqual(
      seen.map((s) => [s.path, s.auth]),
      [['/v1/secrets', 'Bearer dst_service']],
    );
  });

  it('refuses half a set of credentials, or none', () => {
    assert.throws(() => new Ductape({ workspace_id: 'w', user_id: 'u' }), /together/);
    const saved = process.env.DUCTAPE_TOKEN;
    delete process.env.DUCTAPE_TOKEN;
    try {
      assert.throws(() => new Ductape({}), /token/);
    } finally {
      if (saved !== undefined) process.env.DUCTAPE_TOKEN = saved;
    }
  });

  it('defaults the URL to DUCTAPE_URL, then to http://127.0.0.1:8080', () => {
    const saved = process.env.DUCTAPE_URL;
    try {
      delete process.env.DUCTAPE_URL;
      assert.equal(new Ductape(creds).url, 'http://127.0.0.1:8080');
      process.env.DUCTAPE_URL = 'http://example.test:1234/';
      assert.equal(new Ductape(creds).url, 'http://example.test:1234');
    } finally {
      if (saved === undefined) delete process.env.DUCTAPE_URL;
      else process.env.DUCTAPE_URL = saved;
    }
  });
});
