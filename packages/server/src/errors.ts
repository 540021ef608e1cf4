/**
 * One error type for the whole service. Every code maps to exactly one HTTP status, and the
 * table is typed so that a new code without a status fails the build.
 */
import type { ErrorCode } from '@ductape/sdk';

export const HTTP_STATUS: { readonly [C in ErrorCode]: number } = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_INVALID: 401,
  FORBIDDEN: 403,
  SECRET_SCOPE_DENIED: 403,
  SECRET_ENV_DENIED: 403,
  MALFORMED_REFERENCE: 400,
  TOKEN_NOT_FOUND: 404,
  SECRET_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  SECRET_EXISTS: 409,
  VERSION_CONFLICT: 409,
  LAST_OWNER: 409,
  WORKSPACE_FULL: 409,
  WORKSPACE_QUOTA_EXCEEDED: 409,
  EXPORT_TOO_LARGE: 413,
  REQUEST_TIMEOUT: 408,
  VERSION_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  WEBHOOK_LIMIT: 409,
  SECRET_REVOKED: 410,
  SECRET_EXPIRED: 410,
  TOO_MANY_REQUESTS: 429,
  SECRET_INTEGRITY_ERROR: 500,
  WORKSPACE_KEY_ERROR: 500,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  INSUFFICIENT_STORAGE: 507,
};

/**
 * An error meant for the caller. Its message is shown as is, so it must never hold a secret
 * value, a key or a token: quote the key or field the caller sent, nothing more.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.field = field;
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

export const notFound = (key: string): AppError =>
  new AppError('SECRET_NOT_FOUND', `Secret '${key}' not found`);
