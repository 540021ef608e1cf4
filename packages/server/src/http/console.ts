/**
 * Serves the web console (the static files of @ductape/console's `dist/`) at / on the API's
 * own origin, so the console needs no CORS and no second server.
 *
 * - Only requests no API route matched reach it (GET and HEAD), and never a path under
 *   /v1, /healthz or /readyz: those keep the API's JSON 404.
 * - The build's files are read once into memory and looked up by exact path, so a request
 *   path never touches the file system: traversal (`..`, encoded or not) has nothing to reach.
 * - Any other path is a client-side route of the console and gets index.html.
 * - Console responses get a strict Content-Security-Policy of their own (scripts, styles,
 *   images and requests from this origin only, no inline script, Trusted Types); the API's
 *   responses keep their headers unchanged.
 * - Without a build, / answers a 404 that says how to make one.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface ConsoleFile {
  body: Buffer;
  /** The gzipped body, for text files worth compressing. */
  gzip: Buffer | undefined;
  type: string;
  /** Vite names files under /assets/ by their content hash: they never change. */
  immutable: boolean;
}

type ConsoleBuild = { files: Map<string, ConsoleFile>; index: ConsoleFile } | { missing: string };

/** Where the installed @ductape/console keeps its build, or null when it is not installed. */
export function consoleDistDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('@ductape/console/package.json')), 'dist');
  } catch {
    return null;
  }
}

const API_PREFIXES = ['/v1', '/healthz', '/readyz'];
const isApiPath = (path: string): boolean =>
  API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

function readBuild(dir: string | null): ConsoleBuild {
  const missing = {
    missing:
      'The web console is not built: run `npm run build` at the repository root (it writes packages/console/dist)',
  };
  if (dir === null) return missing;
  const files = new Map<string, ConsoleFile>();
  const walk = (folder: string, prefix: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      // Regular files only: a symlink in the build could point anywhere.
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path, `${prefix}${name}/`);
      else if (stat.isFile()) {
        const body = readFileSync(path);
        const type = TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
        const compressible = /^(text\/|image\/svg|application\/json)/.test(type) && body.length > 512;
        files.set(`${prefix}${name}`, {
          body,
          gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
          type,
          immutable: prefix.startsWith('/assets/'),
        });
      }
    }
  };
  try {
    walk(dir, '/');
  } catch {
    return missing;
  }
  const index = files.get('/index.html');
  return index ? { files, index } : missing;
}

/** Builds read so far, by folder: read once per process, on the first console request. */
const builds = new Map<string | null, ConsoleBuild>();

function buildOf(dir: string | null): ConsoleBuild {
  let build = builds.get(dir);
  if (!build) {
    build = readBuild(dir);
    builds.set(dir, build);
  }
  return build;
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile): FastifyReply {
  const gzip = file.gzip !== undefined && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  void reply.code(200).type(file.type).header('vary', 'accept-encoding');
  if (gzip) void reply.header('content-encoding', 'gzip');
  return reply.send(gzip ? file.gzip : file.body);
}

/**
 * The console's answer to a GET or HEAD of a path no route has (a page or an asset), or
 * undefined for any other request. Called by the app's not-found handler, so no hook runs
 * for the console on API requests; its headers override the app's (set in onRequest).
 * `dir` defaults to the installed package's build.
 */
export function consoleFiles(
  dir: string | null = consoleDistDir(),
): (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined {
  return (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    const path = request.url.split('?')[0] as string;
    if (!path.startsWith('/') || isApiPath(path)) return undefined;
    const build = buildOf(dir);
    if ('missing' in build) {
      return reply.code(404).send({ code: 'ROUTE_NOT_FOUND', message: build.missing });
    }
    const file = build.files.get(path) ?? (path.startsWith('/assets/') ? undefined : build.index);
    if (!file) {
      return reply.code(404).send({ code: 'ROUTE_NOT_FOUND', message: `No console file ${path}` });
    }
    void reply.headers({
      'content-security-policy': CONSOLE_CSP,
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-store',
    });
    return send(request, reply, file);
  };
}
