/** Wire types of errors: every code the server answers with, and the body that carries it. */

/** Every error code the server answers with. */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_INVALID'
  | 'FORBIDDEN'
  | 'SECRET_SCOPE_DENIED'
  | 'SECRET_ENV_DENIED'
  | 'MALFORMED_REFERENCE'
  | 'TOKEN_NOT_FOUND'
  | 'SECRET_NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'SECRET_EXISTS'
  | 'SECRET_REVOKED'
  | 'SECRET_EXPIRED'
  | 'SECRET_INTEGRITY_ERROR'
  | 'WORKSPACE_KEY_ERROR'
  | 'VERSION_CONFLICT'
  | 'VERSION_NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'WEBHOOK_NOT_FOUND'
  | 'WEBHOOK_LIMIT'
  | 'LAST_OWNER'
  | 'WORKSPACE_FULL'
  | 'WORKSPACE_QUOTA_EXCEEDED'
  | 'EXPORT_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'INSUFFICIENT_STORAGE'
  | 'INTERNAL_ERROR';

/** The JSON body of every error response. */
export interface ErrorBody {
  code: ErrorCode;
  /** For people: names the field or key at fault, never a secret value. */
  message: string;
  /** The request field at fault, when there is one (`key`, `scope[2]`...). */
  field?: string;
}
