/**
 * The JSON body parser: strict UTF-8 (a malformed byte is a 400, never silently replaced,
 * so a stored value is always exactly what was sent) and no `__proto__` keys anywhere.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function hasProtoKey(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth > 64) return false;
  if (Array.isArray(value)) return value.some((v) => hasProtoKey(v, depth + 1));
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return true;
    if (hasProtoKey((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new AppError('INVALID_JSON', 'Request body is not valid UTF-8');
  }
  if (text.trim() === '') throw new AppError('INVALID_JSON', 'Request body is empty; send a JSON object');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new AppError('INVALID_JSON', 'Request body is not valid JSON');
  }
  if (text.includes('__proto__') && hasProtoKey(data)) {
    throw new AppError('VALIDATION_ERROR', 'Request body must not contain a "__proto__" key');
  }
  return data;
}

export function registerJsonParser(app: FastifyInstance): void {
  // Fastify also parses text/plain by default; that body would reach the schemas as a string
  // and get a 400. Only JSON is accepted: anything else is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
