/**
 * The same requests against both backends give byte-identical responses, once the values
 * that must differ (ids, times, tokens) are replaced by placeholders in order of appearance.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PG_SKIP_REASON } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

type Step = [method: string, path: string, body?: unknown];

const FUTURE = 4_102_444_800; // 2100-01-01
const STEPS: Step[] = [
  [
    'POST',
    '/v1/secrets',
    {
      key: 'b.KEY',
      value: 'v1',
      description: 'd',
      token_type: 'api',
      scope: ['app'],
      envs: ['prd', 'dev', 'prd'],
      expires_at: FUTURE,
    },
  ],
  ['POST', '/v1/secrets', { key: 'B_KEY', value: 'ü🔑\n"q"' }],
  ['POST', '/v1/secrets', { key: 'a-key', value: 'x', expires_at: 1 }],
  ['POST', '/v1/secrets', { key: 'B_KEY', value: 'dup' }],
  ['POST', '/v1/secrets', { key: 'bad key', value: 'x' }],
  ['POST', '/v1/secrets', { key: 'K', value: 'x', extra: true }],
  ['GET', '/v1/secrets'],
  ['GET', '/v1/secrets/b.KEY'],
  ['GET', '/v1/secrets/B_KEY'],
  ['GET', '/v1/secrets/a-key'],
  ['GET', '/v1/secrets/missing'],
  ['PATCH', '/v1/secrets/b.KEY', { value: 'v2', scope: [], description: null, token_type: null }],
  ['PATCH', '/v1/secrets/b.KEY', { envs: ['stg'] }],
  ['GET', '/v1/secrets/b.KEY/metadata'],
  ['POST', '/v1/secrets/B_KEY/revoke'],
  ['POST', '/v1/secrets/B_KEY/revoke'],
  ['GET', '/v1/secrets/B_KEY'],
  ['POST', '/v1/secrets/B_KEY/restore'],
  ['GET', '/v1/secrets'],
  ['DELETE', '/v1/secrets/a-key'],
  ['DELETE', '/v1/secrets/a-key'],
  ['GET', '/v1/me'],
  ['GET', '/v1/secrets'],
];

/** Replaces ids, times and tokens by numbered placeholders, numbered by first appearance. */
function normalise(text: string): string {
  const seen = new Map<string, string>();
  const stamp = (kind: string) => (match: string) => {
    if (!seen.has(match)) seen.set(match, `<${kind}${seen.size}>`);
    return seen.get(match) as string;
  };
  return text
    .replace(/\b[0-9a-f]{24}\b/g, stamp('id'))
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, stamp('time'))
    .replace(/"x-request-id":"[^"]+"/g, '"x-request-id":"<id>"');
}

async function transcript(server: TestServer): Promise<string[]> {
  const token = await accessToken(server.url, server.owner);
  const lines: string[] = [];
  for (const [method, path, body] of STEPS) {
    const answer = await rawRequest(server.url, method, path, { token, body });
    const headers = ['content-type', 'cache-control', 'x-content-type-options', 'content-security-policy']
      .map((h) => `${h}: ${answer.headers.get(h)}`)
      .join('; ');
    lines.push(`${method} ${path} -> ${answer.status} [${headers}] ${normalise(answer.text)}`);
  }
  return lines;
}

describe('the two backends answer alike', { skip: PG_SKIP_REASON }, () => {
  it('gives byte-identical responses to the same requests', async () => {
    const results: string[][] = [];
    for (const backend of ['sqlite', 'postgres'] as const) {
      const server = await startTestServer({}, backend);
      try {
        results.push(await transcript(server));
      } finally {
        await server.stop();
      }
    }
    const [sqlite, postgres] = results as [string[], string[]];
    assert.equal(sqlite.length, STEPS.length);
    for (let i = 0; i < STEPS.length; i++) assert.equal(postgres[i], sqlite[i], `step ${i}`);
    // The transcript holds real answers, not just errors.
    assert.match(sqlite[8] as string, /-> 200 .*"value":"ü🔑\\n\\"q\\""/);
    assert.match(sqlite[6] as string, /"key":"B_KEY".*"key":"a-key".*"key":"b\.KEY"/);
  });
});
