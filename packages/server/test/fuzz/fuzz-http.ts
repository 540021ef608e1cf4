/**
 * The fuzz suites' HTTP side: a node:http client that sends a path and headers exactly as
 * generated (no URL normalisation, repeated headers allowed), a bounded-concurrency runner,
 * the check that an answer is a proper refusal, and snapshots of everything a refused
 * request must leave alone (stored state, and the prototypes of the process the server runs in).
 */
import type { ErrorBody } from '@ductape/sdk';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { HTTP_STATUS } from '../../src/errors.js';

export interface FuzzRequest {
  method: string;
  /** Sent as is: already percent-encoded where it has to be. */
  path: string;
  /** Name-value pairs in order; a name may repeat. */
  headers: [string, string][];
  body?: Buffer;
  /** What was generated, for the failure message. */
  what: string;
}

export interface FuzzResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: unknown;
}

/** A request as fast-check prints it in a counterexample: short, never a 600 KiB body. */
export function fuzzRequest(request: Omit<FuzzRequest, typeof fc.toStringMethod>): FuzzRequest {
  const body = request.body;
  const shown =
    body === undefined
      ? ''
      : ` body(${body.length} B)=${JSON.stringify(body.subarray(0, 160).toString('latin1'))}`;
  const line = `${request.method} ${request.path.slice(0, 200)} [${request.what}]${shown}`;
  return Object.assign(request, { [fc.toStringMethod]: () => line });
}

export const describeRequest = (request: FuzzRequest): string => fc.stringify(request);

export class FuzzClient {
  private readonly agent: Agent;

  constructor(
    private readonly url: string,
    readonly concurrency = 8,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  send(request: FuzzRequest): Promise<FuzzResponse> {
    const { hostname, port } = new URL(this.url);
    // Headers given as a list get no Host from Node: add it, as any client would.
    const headers = ['host', `${hostname}:${port}`, ...request.headers.flat()];
    if (request.body !== undefined) headers.push('content-length', String(request.body.length));
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: hostname, port, method: request.method, path: request.path, headers, agent: this.agent },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, text, json });
          });
        },
      );
      outgoing.setTimeout(15_000, () => outgoing.destroy(new Error('no answer within 15 s')));
      outgoing.on('error', (error) => reject(new Error(`${describeRequest(request)}: ${error.message}`)));
      outgoing.end(request.body);
    });
  }

  /** Sends every request, `concurrency` at a time; answers in request order. */
  async sendAll(requests: readonly FuzzRequest[]): Promise<FuzzResponse[]> {
    const answers: FuzzResponse[] = new Array<FuzzResponse>(requests.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length) {
        const index = next++;
        answers[index] = await this.send(requests[index] as FuzzRequest);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, requests.length) }, worker));
    return answers;
  }

  close(): void {
    this.agent.destroy();
  }
}

const CODES = new Set(Object.keys(HTTP_STATUS));
const ERROR_FIELDS = new Set(['code', 'message', 'field']);

/**
 * An error answer: JSON `{ code, message, field? }` and nothing else, a code the service
 * knows, and the status that code maps to (431 for headers over Node's limit, answered
 * before any route with the closest code).
 */
export function assertErrorShape(request: FuzzRequest, response: FuzzResponse): ErrorBody {
  const where = `${describeRequest(request)} -> ${response.status} ${response.text.slice(0, 300)}`;
  assert.match(String(response.headers['content-type']), /^application\/json/, where);
  const body = response.json as ErrorBody;
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `not a JSON object: ${where}`);
  for (const name of Object.keys(body)) assert.ok(ERROR_FIELDS.has(name), `extra field '${name}': ${where}`);
  assert.ok(CODES.has(body.code), `unknown code: ${where}`);
  assert.equal(typeof body.message, 'string', where);
  assert.ok(body.message.length > 0, where);
  assert.ok(body.field === undefined || typeof body.field === 'string', where);
  assert.equal(response.status, HTTP_STATUS[body.code], `status does not match the code: ${where}`);
  return body;
}

/** A refusal: a 4xx in the error shape (HEAD answers carry no body). */
export function assertRefused(request: FuzzRequest, response: FuzzResponse): ErrorBody | undefined {
  const where = `${describeRequest(request)} -> ${response.status} ${response.text.slice(0, 300)}`;
  assert.ok(response.status >= 400 && response.status < 500, `expected a 4xx: ${where}`);
  if (request.method === 'HEAD') return undefined;
  return assertErrorShape(request, response);
}

/**
 * Everything visible on the prototypes of the process the in-process server runs in: their
 * own property names and values. A polluted prototype shows up as a difference.
 */
export function prototypeFingerprint(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const protos: [string, object][] = [
    ['Object', Object.prototype],
    ['Array', Array.prototype],
    ['Function', Function.prototype],
    ['String', String.prototype],
  ];
  for (const [name, proto] of protos) {
    for (const key of Reflect.ownKeys(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      out.set(`${name}.${String(key)}`, descriptor?.value ?? descriptor?.get);
    }
  }
  return out;
}

export function assertPrototypesIntact(before: Map<string, unknown>): void {
  const now = prototypeFingerprint();
  assert.deepEqual(
    [...now.keys()].sort(),
    [...before.keys()].sort(),
    'a prototype gained or lost a property',
  );
  for (const [key, value] of before) assert.equal(now.get(key), value, `${key} was replaced`);
  const probe: Record<string, unknown> = {};
  for (const name of ['polluted', 'isAdmin', 'role', 'admin']) assert.equal(probe[name], undefined, name);
}

/**
 * fc.assert for the fuzz suites: on failure, the seed and the failed assertion (which names
 * the request) rather than the whole batch, which can weigh megabytes.
 */
export async function assertProperty<T>(
  property: fc.IAsyncProperty<T>,
  params: { numRuns: number; seed?: number },
): Promise<void> {
  await fc.assert(property, {
    ...params,
    endOnFailure: true,
    asyncReporter: async (details) => {
      if (!details.failed) return;
      const cause = details.errorInstance;
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`failed with FUZZ_SEED=${details.seed} after ${details.numRuns} runs:\n${message}`, {
        cause,
      });
    },
  });
}
