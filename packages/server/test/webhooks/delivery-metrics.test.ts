/**
 * `ductape_webhook_deliveries_total{outcome}` counts this node's attempts: a failed one as
 * `retry`, the one that got a 2xx as `delivered`. Labels are fixed words, never a key or URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';
import { startReceiver, until, type Receiver } from './receiver.js';

describe('webhook delivery metrics', () => {
  let server: TestServer;
  let receiver: Receiver;

  before(async () => {
    server = await startTestServer({ DUCTAPE_METRICS_PORT: '0', DUCTAPE_WEBHOOK_RETRY_BASE: '100ms' });
    receiver = await startReceiver();
  });
  after(async () => {
    await server.stop();
    await receiver.close();
  });

  const scrape = async (): Promise<string> => (await fetch(`${server.server.metricsUrl}/metrics`)).text();
  const value = (text: string, outcome: string): number =>
    Number(
      new RegExp(`^ductape_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1],
    );

  it('counts a retry and a delivery', async () => {
    const before = await scrape();
    assert.equal(value(before, 'delivered'), 0);
    assert.equal(value(before, 'failed'), 0);
    const token = await accessToken(server.url, server.owner);
    const created = await rawRequest(server.url, 'POST', '/v1/webhooks', {
      token,
      body: { url: receiver.url, events: ['secret.created'] },
    });
    receiver.secret = (created.json as { secret: string }).secret;
    receiver.answer = 500;
    await rawRequest(server.url, 'POST', '/v1/secrets', { token, body: { key: 'METERED_KEY', value: 'x' } });
    await until(() => receiver.received.length >= 1, 10_000, 'a first attempt');
    receiver.answer = 200;
    await until(() => receiver.received.some((r) => r.answered === 200), 10_000, 'the delivery');
    await until(async () => value(await scrape(), 'delivered') === 1, 5_000, 'the delivered count');
    const text = await scrape();
    assert.ok(value(text, 'retry') >= 1);
    assert.ok(!text.includes('METERED_KEY') && !text.includes(receiver.url));
  });
});
