import type { ErrorBody } from './types.js';

/**
 * The HTTP answer behind a failed call, where the product document (Ductape's "Managing
 * Secrets" guide, summarised in docs/product.md) reads it: `error.response?.status`.
 */
export interface DuctapeErrorResponse {
  /** The HTTP status code, e.g. 409 when a key already exists. */
  status: number;
  /** The server's JSON error body: `{ code, message, field? }`. */
  data: ErrorBody;
}

/**
 * Every failed SDK call throws a `DuctapeError`.
 *
 * @example
 * try {
 *   await ductape.secrets.create({ key: 'MY_SECRET', value: 'secret_value' });
 * } catch (error) {
 *   if (error.response?.status === 409) console.error('Secret with this key already exists');
 *   else console.error('Failed to create secret:', error.message);
 * }
 */
export class DuctapeError extends Error {
  /**
   * The server's error code; `NETWORK_ERROR` when the server could not be reached;
   * `REDIRECT_REFUSED` when it answered with a redirect, which is never followed.
   */
  readonly code: string;
  /** The HTTP response; undefined when the server could not be reached, or redirected. */
  readonly response: DuctapeErrorResponse | undefined;
  /** The HTTP status, or undefined for a network failure. Same as `response?.status`. */
  readonly status: number | undefined;

  constructor(message: string, code: string, response?: DuctapeErrorResponse, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DuctapeError';
    this.code = code;
    this.response = response;
    this.status = response?.status;
  }
}

/** Narrowing helper: `if (isDuctapeError(e) && e.status === 404) ...` */
export function isDuctapeError(error: unknown): error is DuctapeError {
  return error instanceof DuctapeError;
}
