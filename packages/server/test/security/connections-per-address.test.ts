/**
 * Open connections per client address, over real sockets on 127.0.0.1 (issue 13, item 6).
 * The attack: one client opens as many connections as the server allows, each sending a
 * partial request line and headers and then nothing, and normal requests from everyone else
 * fail for as long as it keeps reconnecting. The attacker here connects from 127.0.0.2 and a
 * normal client from 127.0.0.1 (see from-address.ts). Counts are small (a cap of 40
 * in all, 8 per address) so the test stays quick; no store is involved.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ELSEWHERE, HOME, requestFrom, socketFrom, type HeldSocket } from './from-address.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { sleep } from '../helpers/http.js';

const PARTIAL = 'GET /v1/me HTTP/1.1\r\nHost: localhost\r\nX-Slow: ';
const LIMITS = {
  DUCTAPE_MAX_CONNECTIONS: '40',
  DUCTAPE_MAX_CONNECTIONS_PER_IP: '8',
  // Long enough that no partial request is cut off by the timeout during the test.
  DUCTAPE_HEADERS_TIMEOUT_MS: '20000',
};

describe('connections per client address [sqlite]', () => {
  let server: TestServer | undefined;
  const held: HeldSocket[] = [];
  afterEach(async () => {
    for (const h of held.splice(0)) h.socket.destroy();
    await server?.stop();
    server = undefined;
  });

  /** Opens `n` connections from `address`, each sending a partial request, and waits a moment. */
  async function hold(address: string, n: number): Promise<HeldSocket[]> {
    const opened: HeldSocket[] = [];
    for (let i = 0; i < n; i++) {
      const socket = await socketFrom(address, (server as TestServer).url);
      socket.socket.write(PARTIAL);
      opened.push(socket);
    }
    held.push(...opened);
    // The server closes the ones over the cap as they arrive; give it a moment to.
    await sleep(300);
    return opened;
  }

  it('one address holding every connection with partial requests does not keep others out', async () => {
    server = await startTestServer(LIMITS);
    const attacker = await hold(ELSEWHERE, 40);
    const open = attacker.filter((s) => !s.closed);
    assert.equal(open.length, 8, `the attacker holds ${open.length} connections, not the 8 of its cap`);

    for (let i = 0; i < 20; i++) {
      const answer = await requestFrom(HOME, server.url, 'GET', '/healthz');
      assert.equal(answer.status, 200, answer.text);
    }
    assert.equal(attacker.filter((s) => !s.closed).length, 8, 'the 8 within the cap were not touched');

    // The attacker's own further connections keep being closed at once.
    const more = await hold(ELSEWHERE, 5);
    assert.equal(more.filter((s) => !s.closed).length, 0);
  });

  it("an address's connections count down as they close, and the same address may connect again", async () => {
    server = await startTestServer(LIMITS);
    const first = await hold(ELSEWHERE, 8);
    assert.equal(first.filter((s) => !s.closed).length, 8);
    for (const s of first) s.socket.destroy();
    await Promise.all(first.map((s) => s.whenClosed));
    // The server sees each close a moment later.
    await sleep(200);

    for (let i = 0; i < 8; i++) {
      const answer = await requestFrom(ELSEWHERE, server.url, 'GET', '/healthz');
      assert.equal(answer.status, 200, answer.text);
    }
    const again = await hold(ELSEWHERE, 8);
    assert.equal(again.filter((s) => !s.closed).length, 8, 'room for the whole cap again');
  });

  it('the global cap still holds for many addresses together', async () => {
    server = await startTestServer({ ...LIMITS, DUCTAPE_MAX_CONNECTIONS: '12' });
    const addresses = ['127.0.0.3', '127.0.0.4', '127.0.0.5'];
    let open = 0;
    for (const address of addresses) open += (await hold(address, 6)).filter((s) => !s.closed).length;
    assert.equal(open, 12, 'three addresses under their own cap fill the global one');
    await assert.rejects(requestFrom(HOME, server.url, 'GET', '/healthz'));
  });
});
