/**
 * The API reference at /docs: Swagger UI (the swagger-ui-dist package, a dependency of the
 * server) rendering /v1/openapi.json. Everything is served from this origin, read once from
 * the installed package into memory; nothing is loaded from anywhere else, and the page's
 * Content-Security-Policy allows nothing else: scripts, styles and fetches from this origin,
 * and the images Swagger UI's stylesheet carries inline as data: URIs.
 *
 * Public, like the document it shows. The page has no inline script: its set-up is a file of
 * its own (reference.js), and Swagger UI's online validator is turned off (it would send the
 * document's URL to a third party).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Ductape API reference</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <main id="reference"></main>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/reference.js"></script>
  </body>
</html>
`;

const SETUP = `// Renders this server's OpenAPI document, and only it: no ?url= from the address bar, no
// validator badge (it would send the document's address to a third party).
window.ui = SwaggerUIBundle({
  url: '/v1/openapi.json',
  dom_id: '#reference',
  queryConfigEnabled: false,
  validatorUrl: null,
  deepLinking: true,
  defaultModelsExpandDepth: 0,
});
`;

interface DocsFile {
  type: string;
  read: () => Promise<Buffer>;
}

const fromPackage = (name: string) => (): Promise<Buffer> => {
  const require = createRequire(import.meta.url);
  return readFile(join(dirname(require.resolve('swagger-ui-dist/package.json')), name));
};

const FILES: Record<string, DocsFile> = {
  '/docs': { type: 'text/html; charset=utf-8', read: async () => Buffer.from(PAGE) },
  '/docs/reference.js': { type: 'text/javascript; charset=utf-8', read: async () => Buffer.from(SETUP) },
  '/docs/swagger-ui.css': { type: 'text/css; charset=utf-8', read: fromPackage('swagger-ui.css') },
  '/docs/swagger-ui-bundle.js': {
    type: 'text/javascript; charset=utf-8',
    read: fromPackage('swagger-ui-bundle.js'),
  },
};

/**
 * Files read and gzipped so far: once per process, on first request, off the event loop (the
 * bundle is 1.4 MB: compressing it synchronously would stall every other request).
 */
const loaded = new Map<string, Promise<{ body: Buffer; gzip: Buffer }>>();

function load(path: string, file: DocsFile): Promise<{ body: Buffer; gzip: Buffer }> {
  let found = loaded.get(path);
  if (!found) {
    found = file.read().then(async (body) => ({ body, gzip: await gzip(body) }));
    // A failed read is tried again on the next request, not remembered.
    found.catch(() => loaded.delete(path));
    loaded.set(path, found);
  }
  return found;
}

async function docsHeaders(
  _request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  void reply.headers({
    'content-security-policy': DOCS_CSP,
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-cache',
  });
  return payload;
}

export function registerDocsPage(app: FastifyInstance): void {
  for (const [path, file] of Object.entries(FILES)) {
    app.get(path, { config: { notApi: true }, onSend: docsHeaders }, async (request, reply) => {
      const { body, gzip: zippedBody } = await load(path, file);
      const zipped = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
      void reply.type(file.type).header('vary', 'accept-encoding');
      if (zipped) void reply.header('content-encoding', 'gzip');
      return reply.send(zipped ? zippedBody : body);
    });
  }
}
