/**
 * The webhook URL rules on their own (the API's refusals are in abuse.test.ts): https
 * anywhere, http only to loopback unless the operator allows it, never credentials or a
 * fragment; and the operator setting parsed by the one configuration schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { checkWebhookUrl } from '../../src/services/webhooks/webhook-url.js';

const refused = (url: string, allowHttp = false): void => {
  assert.throws(
    () => checkWebhookUrl(url, allowHttp),
    (error: unknown) => error instanceof AppError && error.field === 'url' && error.status === 400,
    url,
  );
};

describe('webhook URL rules', () => {
  it('allows https anywhere and http to loopback only', () => {
    assert.equal(
      checkWebhookUrl('https://hooks.example.com/in?x=1', false),
      'https://hooks.example.com/in?x=1',
    );
    for (const url of [
      'http://127.0.0.1/x',
      'http://127.8.9.10:8080/x',
      'http://localhost/x',
      'http://LOCALHOST/x',
      'http://[::1]:9/x',
    ]) {
      assert.ok(checkWebhookUrl(url, false).startsWith('http://'), url);
    }
    for (const url of [
      'http://10.0.0.1/x',
      'http://localhost.example.com/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://128.0.0.1/x',
    ]) {
      refused(url);
    }
  });

  it('DUCTAPE_WEBHOOK_ALLOW_HTTP=true allows http anywhere, never credentials or a fragment', () => {
    assert.equal(checkWebhookUrl('http://hooks.internal/in', true), 'http://hooks.internal/in');
    refused('http://user:pw@hooks.internal/in', true);
    refused('https://hooks.example.com/in#frag', true);
    refused('https://hooks.example.com/in#', true);
    refused('file:///etc/passwd', true);
    assert.equal(loadConfig({ DUCTAPE_WEBHOOK_ALLOW_HTTP: 'true' }).webhooks.allowHttp, true);
    assert.equal(loadConfig({}).webhooks.allowHttp, false);
    assert.throws(() => loadConfig({ DUCTAPE_WEBHOOK_ALLOW_HTTP: 'yes' }), /DUCTAPE_WEBHOOK_ALLOW_HTTP/);
  });

  it('parses the delivery and expiry settings, naming a bad variable', () => {
    const config = loadConfig({
      DUCTAPE_WEBHOOK_EXPIRING_LEADS: '1d,7d,12h',
      DUCTAPE_WEBHOOK_SCAN_INTERVAL: '200ms',
    });
    assert.deepEqual(config.webhooks.expiringLeadsSeconds, [604800, 86400, 43200]);
    assert.equal(config.webhooks.scanIntervalMs, 200);
    assert.equal(loadConfig({}).webhooks.retryBaseMs, 30_000);
    assert.throws(
      () => loadConfig({ DUCTAPE_WEBHOOK_EXPIRING_LEADS: '7d,soon' }),
      /DUCTAPE_WEBHOOK_EXPIRING_LEADS/,
    );
    assert.throws(
      () => loadConfig({ DUCTAPE_WEBHOOK_SCAN_INTERVAL: '1ms' }),
      /DUCTAPE_WEBHOOK_SCAN_INTERVAL/,
    );
    assert.throws(() => loadConfig({ DUCTAPE_WEBHOOK_MAX_ATTEMPTS: '0' }), /DUCTAPE_WEBHOOK_MAX_ATTEMPTS/);
  });
});
