/**
 * Raw HTTP/1.1 over node:net for what no HTTP client will send: malformed request lines and
 * headers, control bytes, odd framing. Sends bytes, half-closes, and reads every answer.
 */
import fc from 'fast-check';
import { connect } from 'node:net';
import { unparsableBody } from './fuzz-bodies.js';
import { nastyString } from './fuzz-json.js';

/** A generated request as bytes, and its method (a HEAD answer carries no body). */
export interface RawRequest {
  method: string;
  bytes: Buffer;
  what: string;
}

export interface WireAnswer {
  /** Every byte the server sent before it closed the connection. */
  raw: Buffer;
  responses: WireResponse[];
}

export interface WireResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends `bytes` on a fresh connection and collects the answer until the connection closes. */
export function exchange(url: string, bytes: Buffer | string, timeoutMs = 8000): Promise<WireAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no close within ${timeoutMs} ms after sending ${JSON.stringify(String(bytes).slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    // Our side ends once the server starts answering (or after a while for requests it waits
    // on): Node closes a connection whose client half-closed before the answer was written, as
    // with an answer that first waits for its audit entry's fsync. Real clients do not
    // half-close before they have read the answer.
    const endOurSide = setTimeout(() => socket.end(), 1500);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      clearTimeout(endOurSide);
      socket.end();
    });
    // The server may close while we still write (it refused early): what it sent still counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(endOurSide);
      const raw = Buffer.concat(chunks);
      resolve({ raw, responses: parseResponses(raw) });
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

/** Splits a stream of HTTP/1.1 responses (Content-Length or chunked bodies). */
export function parseResponses(raw: Buffer): WireResponse[] {
  const text = raw.toString('latin1');
  const out: WireResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine = '', ...lines] = text.slice(at, end).split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine);
    if (!match) break;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    let body = '';
    at = end + 4;
    const length = headers.get('content-length');
    if (length !== undefined) {
      body = text.slice(at, at + Number(length));
      at += Number(length);
    } else if (headers.get('transfer-encoding') === 'chunked') {
      for (;;) {
        const lineEnd = text.indexOf('\r\n', at);
        const size = parseInt(text.slice(at, lineEnd), 16);
        at = lineEnd + 2;
        if (!(size > 0)) {
          at += 2;
          break;
        }
        body += text.slice(at, at + size);
        at += size + 2;
      }
    }
    out.push({ status: Number(match[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') });
  }
  return out;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
/** Bytes of every kind, CR, LF and NUL included, as a latin1 string. */
const anyBytes = (max: number): fc.Arbitrary<string> => fc.uint8Array({ maxLength: max }).map(latin1);

const METHOD = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'HEAD'), weight: 6 },
  fc.constantFrom('PUT', 'OPTIONS', 'TRACE', 'get', 'PRI', 'M-SEARCH', 'PROPFIND', 'CONNECT', 'G ET', ''),
  fc.stringMatching(/^[A-Z]{1,12}$/),
  anyBytes(8),
);

/** Never an existing secret, user or token: a generated request may be valid, never harmful. */
const SEGMENT = fc.oneof(
  fc.stringMatching(/^nope_[A-Za-z0-9]{1,10}$/),
  fc.stringMatching(/^[0-9a-f]{24}$/),
  fc.constantFrom('', '%', '%zz', '..', '%2e%2e%2f', '%00', '..%2F..%2Fetc%2Fpasswd', "'%20OR%201=1--"),
  anyBytes(20),
);

const TARGET = fc.oneof(
  fc.constantFrom(
    '/healthz',
    '/readyz',
    '/v1/me',
    '/v1/secrets',
    '/v1/secrets/import',
    '/v1/resolve',
    '/v1/validate',
    '/v1/export',
    '/v1/tokens',
    '/v1/users',
    '/v1/auth/token',
    '*',
    'http://elsewhere/healthz',
    '',
  ),
  fc
    .tuple(
      fc.constantFrom('/v1/secrets/', '/v1/users/', '/v1/tokens/'),
      SEGMENT,
      fc.constantFrom('', '/versions', '/revoke', '/restore', '/rollback', '/metadata', '/rotate-key'),
      fc.option(fc.oneof(anyBytes(20), nastyString), { nil: undefined }),
    )
    .map(
      ([base, segment, tail, query]) => `${base}${segment}${tail}${query === undefined ? '' : `?${query}`}`,
    ),
);

const VERSION = fc.oneof(
  { arbitrary: fc.constant('HTTP/1.1'), weight: 8 },
  fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', ''),
);

const HEADER = fc.oneof(
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/), fc.oneof(nastyString, anyBytes(40))),
  fc.tuple(anyBytes(12), anyBytes(20)),
  fc.tuple(
    fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Content-Type', 'Expect', 'Connection', 'Upgrade'),
    fc.constantFrom(
      '0',
      '-1',
      'abc',
      '1e3',
      ' 5',
      '99999999999999999999',
      'chunked',
      'gzip, chunked',
      'application/json',
      '100-continue',
      'close',
      'websocket',
    ),
  ),
);

/** How the body is framed: [what, headers for a body of `n` bytes, the body as sent]. */
const FRAMING = fc.constantFrom(
  ['no framing', () => [], (b: string) => b],
  ['Content-Length', (n: number) => [`Content-Length: ${n}`], (b: string) => b],
  ['Content-Length too small', (n: number) => [`Content-Length: ${Math.max(0, n - 3)}`], (b: string) => b],
  ['Content-Length too large', (n: number) => [`Content-Length: ${n + 5}`], (b: string) => b],
  [
    'two Content-Lengths',
    (n: number) => [`Content-Length: ${n}`, `Content-Length: ${n + 1}`],
    (b: string) => b,
  ],
  [
    'chunked',
    () => ['Transfer-Encoding: chunked'],
    (b: string) => `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`,
  ],
  [
    'chunked, no last chunk',
    () => ['Transfer-Encoding: chunked'],
    (b: string) => `${b.length.toString(16)}\r\n${b}\r\n`,
  ],
  [
    'chunked and Content-Length',
    (n: number) => ['Transfer-Encoding: chunked', `Content-Length: ${n}`],
    (b: string) => b,
  ],
) as fc.Arbitrary<[string, (n: number) => string[], (b: string) => string]>;

/**
 * Raw requests of every shape, each on its own connection: odd methods, targets with any
 * bytes, unknown versions, headers of any bytes, every framing. None names an existing
 * secret, user or token, and no body is valid: a request may succeed, but never change anything.
 */
export function rawRequestArb(token: string): fc.Arbitrary<RawRequest> {
  const auth = fc.oneof(
    { arbitrary: fc.constant([`Authorization: Bearer ${token}`]), weight: 4 },
    fc.constant([]),
    anyBytes(30).map((v) => [`Authorization: ${v}`]),
  );
  const body = fc.oneof(
    fc.constant(''),
    unparsableBody.map((b) => b.bytes.toString('latin1')),
    anyBytes(200),
  );
  return fc
    .record({
      method: METHOD,
      target: TARGET,
      version: VERSION,
      host: fc.oneof({ arbitrary: fc.constant(['Host: localhost']), weight: 9 }, fc.constant([])),
      auth,
      type: fc.option(fc.constantFrom('application/json', 'text/plain'), { nil: undefined }),
      headers: fc.array(HEADER, { maxLength: 4 }),
      framing: FRAMING,
      body,
      eol: fc.oneof({ arbitrary: fc.constant('\r\n'), weight: 9 }, fc.constant('\n')),
    })
    .map((r) => {
      const [framingName, framingHeaders, frame] = r.framing;
      const lines = [
        `${r.method} ${r.target} ${r.version}`,
        ...r.host,
        ...r.auth,
        ...(r.type === undefined ? [] : [`Content-Type: ${r.type}`]),
        ...r.headers.map(([name, value]) => `${name}: ${value}`),
        ...(r.body === '' ? [] : framingHeaders(r.body.length)),
      ];
      const text = lines.join(r.eol) + r.eol + r.eol + (r.body === '' ? '' : frame(r.body));
      return {
        method: r.method,
        bytes: Buffer.from(text, 'latin1'),
        what: `${framingName}, ${r.body.length} B body`,
      };
    });
}
