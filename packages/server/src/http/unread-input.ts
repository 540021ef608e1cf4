/**
 * Input a route does not read is refused, not ignored: a query parameter on a route that
 * takes none, or a body on a route that reads none, is a 400 naming it. Routes that read a
 * query or a body say so in their config (`{ config: { query: true } }`) and parse it with a
 * strict schema, which refuses unknown fields itself.
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
