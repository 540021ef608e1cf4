/**
 * A real webhook receiver for the suites: node:http on 127.0.0.1, verifying each request's
 * `Ductape-Signature` itself with node:crypto (no code of the server's), and answering as the
 * test says: 2xx, an error status, a redirect, or never.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
  /** Whether the signature checked out against the secret the receiver was given. */
  signatureValid: boolean;
  /** How the receiver answered it. */
  answered: Answer;
}

export type Answer = number | 'hang' | { redirect: string };

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** How to answer the next requests (default 200). */
  answer: Answer;
  secret: string;
  /** Stops listening: further attempts get "connection refused". */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export function verifySignature(secret: string, header: string | undefined, body: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${match[1]}.${body}`).digest();
  const given = Buffer.from(match[2] as string, 'hex');
  const fresh = Math.abs(Date.now() / 1000 - Number(match[1])) < 300;
  return fresh && timingSafeEqual(expected, given);
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    port,
    received: [],
    answer: 200,
    secret: '',
    down: async () => undefined,
    up: async () => undefined,
    close: async () => undefined,
  };
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = receiver.answer;
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // recorded as is
      }
      receiver.received.push({
        headers: request.headers,
        body,
        json,
        signatureValid: verifySignature(
          receiver.secret,
          request.headers['ductape-signature'] as string,
          body,
        ),
        answered: answer,
      });
      if (answer === 'hang') {
        hanging.add(response);
        return;
      }
      if (typeof answer === 'object') {
        response.writeHead(302, { location: answer.redirect }).end();
        return;
      }
      response.writeHead(answer, { 'content-type': 'text/plain' }).end('receiver body, never stored');
    });
  };
  let server: Server | undefined;
  const listen = (): Promise<void> =>
    new Promise((done) => {
      server = createServer(handle);
      server.listen(receiver.port, '127.0.0.1', () => {
        receiver.port = (server?.address() as AddressInfo).port;
        receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
        done();
      });
    });
  const stop = (): Promise<void> =>
    new Promise((done) => {
      for (const response of hanging) response.destroy();
      hanging.clear();
      if (!server) return done();
      server.closeAllConnections();
      server.close(() => done());
      server = undefined;
    });
  receiver.down = stop;
  receiver.up = listen;
  receiver.close = stop;
  await listen();
  return receiver;
}

/** Waits until `check` holds, polling; fails after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
