/**
 * Input a route does not read is refused, not ignored: a query parameter on a route that
 * takes none, or a body on a route that reads none, is a 400 naming it. Routes that read a
 * query or a body say so in their config (`{ config: { query: true } }`) and parse it with a
 * strict schema, which refuses unknown fields itself. And no query parameter of any route
 * may hold NUL (refuseNulInQuery).
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads its query string. */
    query?: boolean;
    /** The route reads a request body. */
    body?: boolean;
  }
}

const isEmptyObject = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;

export function refuseUnreadInput(request: FastifyRequest): void {
  const reads = request.routeOptions.config;
  if (reads.query !== true) {
    const [name] = Object.keys((request.query as Record<string, unknown> | undefined) ?? {});
    if (name !== undefined) {
      throw new AppError(
        'VALIDATION_ERROR',
        `query: this route takes no parameter '${name.slice(0, 64)}'`,
        name.slice(0, 64),
      );
    }
  }
  if (
    reads.body !== true &&
    request.body !== undefined &&
    request.body !== null &&
    !isEmptyObject(request.body)
  ) {
    throw new AppError('VALIDATION_ERROR', 'request body: this route takes no body', 'body');
  }
}

const NUL = '\u0000';

/**
 * A NUL character (`%00`) in any query parameter's name or value, on any route, is a 400
 * naming the parameter, before anything else reads the query. PostgreSQL text cannot hold
 * U+0000 (a lookup with one failed inside the driver, a 500), and no parameter of ours has
 * a use for it, so it is refused at the door rather than in each schema.
 */
export function refuseNulInQuery(request: FastifyRequest): void {
  const query = (request.query as Record<string, unknown> | undefined) ?? {};
  for (const [name, value] of Object.entries(query)) {
    const shown = name.replaceAll(NUL, '\\0').slice(0, 64);
    if (name.includes(NUL)) {
      throw new AppError(
        'VALIDATION_ERROR',
        `query: the parameter name '${shown}' must not contain the NUL character (U+0000)`,
        shown,
      );
    }
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'string' && v.includes(NUL))) {
      throw new AppError('VALIDATION_ERROR', `${shown}: must not contain the NUL character (U+0000)`, shown);
    }
  }
}
