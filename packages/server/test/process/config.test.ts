import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has defaults that start a laptop server', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, resolve('./data'));
    assert.equal(config.masterKey, undefined);
    assert.ok(Object.isFrozen(config));
  });

  it('reads every variable', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DUCTAPE_DATA_DIR: '/tmp/x',
      DUCTAPE_MASTER_KEY: key,
      DUCTAPE_ACCESS_TOKEN_TTL: '60',
      LOG_LEVEL: 'warn',
    });
    assert.deepEqual(
      [
        config.port,
        config.host,
        config.dataDir,
        config.masterKey,
        config.accessTokenTtlSeconds,
        config.logLevel,
      ],
      [9000, '0.0.0.0', '/tmp/x', key, 60, 'warn'],
    );
  });

  for (const [variable, value] of [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['DUCTAPE_MASTER_KEY', 'c2hvcnQ='],
    ['DUCTAPE_MASTER_KEY', 'not base64 at all!'],
    ['DUCTAPE_ACCESS_TOKEN_TTL', '1'],
    ['LOG_LEVEL', 'loud'],
    ['DUCTAPE_MAX_SECRETS_PER_WORKSPACE', '0'],
    ['DUCTAPE_MAX_SECRETS_PER_WORKSPACE', '10000001'],
    ['DUCTAPE_MAX_SECRETS_PER_WORKSPACE', 'many'],
    ['DUCTAPE_REQUEST_TIMEOUT_MS', '999'],
    ['DUCTAPE_REQUEST_TIMEOUT_MS', '1.5'],
    ['DUCTAPE_HEADERS_TIMEOUT_MS', '0'],
    ['DUCTAPE_HEADERS_TIMEOUT_MS', '40000'],
    ['DUCTAPE_MAX_CONNECTIONS', '0'],
    ['DUCTAPE_MAX_CONNECTIONS', '-5'],
    ['DUCTAPE_MAX_CONNECTIONS_PER_IP', '0'],
    ['DUCTAPE_MAX_CONNECTIONS_PER_IP', 'all'],
    ['DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP', '0'],
  ] as const) {
    it(`refuses ${variable}=${value} with a message naming the variable`, () => {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (error: unknown) =>
          error instanceof ConfigError && error.variable === variable && error.message.startsWith(variable),
      );
    });
  }

  it('has limits on by default, and reads each limit variable', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.maxSecretsPerWorkspace, 100_000);
    assert.deepEqual(
      { ...defaults.http },
      {
        requestTimeoutMs: 30_000,
        headersTimeoutMs: 10_000,
        maxConnections: 1024,
        maxConnectionsPerAddress: 128,
      },
    );
    assert.equal(defaults.signInLimits.serviceTokenFailuresPerAddress, 20);
    assert.equal(defaults.signInLimits.failuresPerUserPerAddress, 10);
    assert.ok(Object.isFrozen(defaults.http));
    const set = loadConfig({
      DUCTAPE_MAX_SECRETS_PER_WORKSPACE: '10000000',
      DUCTAPE_REQUEST_TIMEOUT_MS: '2000',
      DUCTAPE_HEADERS_TIMEOUT_MS: '2000',
      DUCTAPE_MAX_CONNECTIONS: '5',
      DUCTAPE_MAX_CONNECTIONS_PER_IP: '3',
      DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: '7',
    });
    assert.equal(set.maxSecretsPerWorkspace, 10_000_000);
    assert.deepEqual(
      { ...set.http },
      { requestTimeoutMs: 2000, headersTimeoutMs: 2000, maxConnections: 5, maxConnectionsPerAddress: 3 },
    );
    assert.equal(set.signInLimits.serviceTokenFailuresPerAddress, 7);
  });

  it('refuses a headers timeout longer than the request timeout, naming both variables', () => {
    assert.throws(
      () => loadConfig({ DUCTAPE_REQUEST_TIMEOUT_MS: '2000', DUCTAPE_HEADERS_TIMEOUT_MS: '3000' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === 'DUCTAPE_HEADERS_TIMEOUT_MS' &&
        error.message.includes('DUCTAPE_REQUEST_TIMEOUT_MS'),
    );
  });
});
