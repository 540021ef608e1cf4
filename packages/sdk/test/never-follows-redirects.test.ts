/**
 * An attacker who controls where the SDK connects first (a DNS entry, a proxy, a compromised
 * load balancer) answers with a redirect to a host of theirs: a 307 or 308 keeps the method and
 * the body, so following it would hand over the private key of the sign-in or the bearer token.
 * The SDK never follows; the request fails with a message naming the redirect.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Ductape, { DuctapeError } from '../src/index.js';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

let redirector: Server;
let thief: Server;
let redirectorUrl: string;
let thiefUrl: string;
/** Everything the attacker's host received. */
const stolen: string[] = [];
let status = 307;

before(async () => {
  thief = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      stolen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  thiefUrl = await listen(thief);
  redirector = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { location: `${thiefUrl}${req.url}` }).end());
  });
  redirectorUrl = await listen(redirector);
});
after(async () => {
  await new Promise<void>((r) => redirector.close(() => r()));
  await new Promise<void>((r) => thief.close(() => r()));
});

describe('redirects', () => {
  for (const code of [301, 302, 303, 307, 308]) {
    it(`a ${code} on sign-in is refused and the private key goes nowhere else`, async () => {
      status = code;
      stolen.length = 0;
      const client = new Ductape({
        workspace_id: 'w',
        user_id: 'u',
        private_key: 'dtk_secret_key',
        url: redirectorUrl,
      });
      const error = await client.init().then(
        () => assert.fail('sign-in followed a redirect'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof DuctapeError);
      assert.equal(error.code, 'REDIRECT_REFUSED');
      assert.match(error.message, new RegExp(`redirect ${code} to ${thiefUrl}/v1/auth/token`));
      assert.match(error.message, /never followed/);
      assert.doesNotMatch(error.message, /dtk_secret_key/);
      assert.deepEqual(stolen, []);
    });
  }

  it('a redirect of a request with a bearer token is refused too', async () => {
    status = 307;
    stolen.length = 0;
    const client = new Ductape({ token: 'dst_abc_def', url: redirectorUrl });
    await assert.rejects(
      client.secrets.fetch('KEY'),
      (e: unknown) => e instanceof DuctapeError && e.code === 'REDIRECT_REFUSED',
    );
    assert.deepEqual(stolen, []);
  });
});
