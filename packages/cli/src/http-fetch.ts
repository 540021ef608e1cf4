/**
 * A minimal `fetch` on node:http(s) for the SDK, used by `ductape run`. Node's global fetch
 * loads undici on its first call, about 25-30 ms on a small machine: a fifth of the overhead
 * `run` may add before the command starts. The SDK's transport needs only this much: method,
 * headers, a string body, an abort signal, and the answer's status, headers and text. Like
 * the SDK asks of any fetch, it never follows a redirect (node:http does not). Failures look
 * like undici's (a TypeError whose cause carries the code), so messages stay the same.
 */
import type { IncomingHttpHeaders } from 'node:http';

function answer(status: number, statusText: string, headers: IncomingHttpHeaders, body: string): Response {
  const response = {
    ok: status >= 200 && status < 300,
    type: 'basic',
    status,
    statusText,
    headers: {
      get: (name: string): string | null => {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text: () => Promise.resolve(body),
    json: () => Promise.resolve(JSON.parse(body) as unknown),
  };
  return response as unknown as Response;
}

export const httpFetch: typeof fetch = async (input, init = {}) => {
  // Not `instanceof Request`: touching the global Request would load undici after all.
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  // https pulls in tls: load it only for https servers.
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const signal = init.signal ?? undefined;
  return new Promise<Response>((resolve, reject) => {
    const fail = (error: Error): void => {
      reject(signal?.aborted === true ? signal.reason : new TypeError('fetch failed', { cause: error }));
    };
    const req = request(
      url,
      { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () =>
          resolve(
            answer(
              res.statusCode ?? 0,
              res.statusMessage ?? '',
              res.headers,
              Buffer.concat(chunks).toString('utf8'),
            ),
          ),
        );
      },
    );
    req.on('error', fail);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
};
