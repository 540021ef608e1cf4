/**
 * Raw HTTP for the cases the SDK cannot send (malformed bodies, missing headers): global
 * fetch against a real port, with an access token from POST /v1/auth/token.
 */
import type { ErrorBody, TokenResponse } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Credentials } from './harness.js';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export interface RawOptions {
  token?: string;
  /** An object is sent as JSON; a string or Buffer is sent as is. */
  body?: unknown;
  /** Defaults to application/json when there is a body; null sends none. */
  contentType?: string | null;
  headers?: Record<string, string>;
}

export async function rawRequest(
  url: string,
  method: string,
  path: string,
  options: RawOptions = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string') body = options.body;
    else if (options.body instanceof Uint8Array) body = new Uint8Array(options.body);
    else body = JSON.stringify(options.body);
    const type = options.contentType === undefined ? 'application/json' : options.contentType;
    if (type !== null) headers['content-type'] = type;
  }
  const response = await fetch(url + path, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Exchanges credentials for an access token, as the SDK does. */
export async function accessToken(url: string, credentials: Credentials): Promise<string> {
  const answer = await rawRequest(url, 'POST', '/v1/auth/token', { body: credentials });
  assert.equal(answer.status, 200, answer.text);
  return (answer.json as TokenResponse).access_token;
}

/** Asserts an error response: the status, a JSON `{ code, message }` body, and returns the body. */
export function assertErrorBody(response: RawResponse, status: number, code?: string): ErrorBody {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`);
  const body = response.json as ErrorBody;
  assert.equal(typeof body, 'object', `error body is not JSON: ${response.text}`);
  assert.equal(typeof body.code, 'string');
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
  if (code !== undefined) assert.equal(body.code, code, body.message);
  return body;
}

/** A TCP port that was free a moment ago (listen on 0, read the port, close). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
