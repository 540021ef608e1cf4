/**
 * Requests and sockets from a chosen local address. Linux routes all of 127.0.0.0/8 to the
 * loopback interface, so a client bound to 127.0.0.2 reaches a server on 127.0.0.1 and the
 * server sees 127.0.0.2: two "client addresses" on one machine, real TCP both.
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';

/** The address the test suites' ordinary requests come from. */
export const HOME = '127.0.0.1';
/** Another client address, for an attacker (or a user) elsewhere. */
export const ELSEWHERE = '127.0.0.2';

export interface AddressedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export interface AddressedOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request on a fresh connection from `localAddress`. */
export function requestFrom(
  localAddress: string,
  url: string,
  method: string,
  path: string,
  options: AddressedOptions = {},
): Promise<AddressedResponse> {
  const { hostname, port } = new URL(url);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: hostname, port, method, path, headers, localAddress, agent: false },
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
    outgoing.setTimeout(10_000, () => outgoing.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export interface HeldSocket {
  socket: Socket;
  /** Whether the server has closed it (or it failed). */
  readonly closed: boolean;
  /** Resolves once it is closed. */
  readonly whenClosed: Promise<void>;
}

/** A connection from `localAddress`, open once this resolves (rejects if it cannot connect). */
export function socketFrom(localAddress: string, url: string): Promise<HeldSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    let closed = false;
    const whenClosed = new Promise<void>((done) =>
      socket.once('close', () => {
        closed = true;
        done();
      }),
    );
    // A reset by the server is a close like any other here.
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        get closed() {
          return closed;
        },
        whenClosed,
      }),
    );
    void whenClosed.then(() => reject(new Error(`connection from ${localAddress} closed before it opened`)));
  });
}
