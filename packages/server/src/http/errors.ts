/**
 * Turns every error into the JSON body `{ code, message, field? }`. Errors the service raised
 * on purpose keep their message; Fastify's own 4xx get a fixed message of ours (a parser's
 * message can quote the body, and the body may hold a value); anything else is a plain 500
 * that reveals nothing, logged with its stack for the operator.
 */
import type { ErrorBody, ErrorCode } from '@ductape/sdk';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import { AppError, HTTP_STATUS } from '../errors.js';
import { TooManyRequestsError } from '../services/identity/rate-limit.js';
import { StoreDiskError, StoreFullError, StoreUnavailableError } from '../store/types.js';
import { LIMITS } from './schemas.js';

const FASTIFY_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'Request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['INVALID_JSON', 'Request body is empty; send a JSON object'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['INVALID_JSON', 'Content-Length does not match the request body'],
  // Raised by the router before any route runs (see `frameworkErrors` in app.ts).
  FST_ERR_BAD_URL: ['VALIDATION_ERROR', 'The URL path is not valid (malformed percent-encoding)'],
  FST_ERR_MAX_PARAM_LENGTH: ['VALIDATION_ERROR', `key: must be at most ${LIMITS.keyLength} characters`],
};

export function toErrorBody(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof StoreFullError) {
    return {
      status: 507,
      body: {
        code: 'INSUFFICIENT_STORAGE',
        message:
          "The server's disk is full: nothing was written. Reads still work; try again once space is freed",
      },
      internal: false,
    };
  }
  if (error instanceof StoreUnavailableError) {
    const message =
      error instanceof StoreDiskError
        ? 'The server cannot write to its disk right now (read-only file system or I/O error): nothing was written; try again later'
        : 'The database is unavailable right now; try again shortly';
    return { status: 503, body: { code: 'SERVICE_UNAVAILABLE', message }, internal: false };
  }
  if (error instanceof AppError) {
    const body: ErrorBody = { code: error.code, message: error.message };
    if (error.field !== undefined) body.field = error.field;
    return { status: error.status, body, internal: error.status >= 500 };
  }
  const fastifyError = error as Partial<FastifyError>;
  const known = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (known) {
    return { status: HTTP_STATUS[known[0]], body: { code: known[0], message: known[1] }, internal: false };
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status: 400,
      body: { code: 'VALIDATION_ERROR', message: 'The request could not be read' },
      internal: false,
    };
  }
  return {
    status: 500,
    body: { code: 'INTERNAL_ERROR', message: 'Internal server error' },
    internal: true,
  };
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body, internal } = toErrorBody(error);
  if (internal) request.log.error({ err: error }, 'request failed');
  if (status === 503 || status === 507) {
    // Message and code only: a driver's error can drag its whole connection object along.
    const cause = ((error as Error).cause ?? error) as { message?: unknown; code?: unknown };
    const what = status === 507 ? 'disk full' : 'store unavailable';
    request.log.warn({ error: String(cause.message), code: cause.code }, what);
    if (status === 503) void reply.header('retry-after', '1');
  }
  // Every 429 says when to come back (sign-ins, rotate-key, invalid service tokens).
  if (error instanceof TooManyRequestsError)
    void reply.header('retry-after', String(error.retryAfterSeconds));
  void reply.code(status).send(body);
}

/**
 * Answers, on the raw socket, a request Node's HTTP parser refused before Fastify saw it: a
 * 431 for a request line and headers over Node's 16 KiB, a 400 for anything else it could
 * not read. The parser's own message is not repeated (it can quote the bytes sent). Timeouts
 * are answered earlier, by the listener in app.ts, which leaves the socket destroyed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body: ErrorBody = tooLarge
    ? { code: 'HEADERS_TOO_LARGE', message: 'The request line and headers are too large (16 KiB at most)' }
    : { code: 'VALIDATION_ERROR', message: 'The request could not be read: it is not well-formed HTTP/1.1' };
  const text = JSON.stringify(body);
  // As Node itself does: never write into a response already on its way (pipelined requests).
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `Connection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}
