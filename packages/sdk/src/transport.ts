import { DuctapeError } from './errors.js';
import type { ErrorBody, TokenRequest, TokenResponse } from './types.js';

/**
 * Renew the access token this long before it expires, so no request races its expiry; for
 * short-lived tokens, a fifth of their lifetime instead.
 */
const REFRESH_MARGIN_MS = 30_000;

export interface TransportOptions {
  url: string;
  credentials?: TokenRequest | undefined;
  /** A ready-made bearer token (a service token, or an access token from elsewhere). */
  token?: string | undefined;
  fetch: typeof fetch;
  timeoutMs: number;
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/**
 * Sends JSON requests and turns every failure into a `DuctapeError`. Holds the access
 * token obtained from the user's credentials and renews it before it lapses, or once
 * after the server says it has.
 */
export class Transport {
  readonly baseUrl: string;
  private readonly options: TransportOptions;
  private accessToken: string | undefined;
  private expiresAtMs = 0;
  private refreshMarginMs = REFRESH_MARGIN_MS;
  private pendingLogin: Promise<TokenResponse> | undefined;

  constructor(options: TransportOptions) {
    // A copy: replacePrivateKey changes it, never the caller's object.
    this.options = { ...options };
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.accessToken = options.token;
    if (options.token) this.expiresAtMs = Number.POSITIVE_INFINITY;
  }

  /** Whether this transport holds user credentials it can exchange for tokens. */
  get canLogin(): boolean {
    return this.options.credentials !== undefined;
  }

  /** The private key this transport signs in with, when it signs in as `userId`. */
  privateKeyOf(userId: string): string | undefined {
    const credentials = this.options.credentials;
    return credentials?.user_id === userId ? credentials.private_key : undefined;
  }

  /**
   * Signs in with `privateKey` from now on (after this user's key was rotated): the access
   * token of the old key stopped working, so it is dropped too.
   */
  replacePrivateKey(privateKey: string): void {
    const credentials = this.options.credentials;
    if (!credentials) return;
    this.options.credentials = { ...credentials, private_key: privateKey };
    this.accessToken = undefined;
    this.expiresAtMs = 0;
  }

  /** Exchanges the credentials for an access token now. Concurrent callers share one exchange. */
  login(): Promise<TokenResponse> {
    const credentials = this.options.credentials;
    if (!credentials) {
      return Promise.reject(
        new DuctapeError(
          'No credentials: pass workspace_id, user_id and private_key to new Ductape()',
          'NO_CREDENTIALS',
        ),
      );
    }
    this.pendingLogin ??= this.send<TokenResponse>('POST', '/v1/auth/token', credentials, false)
      .then((answer) => {
        this.accessToken = answer.access_token;
        this.expiresAtMs = answer.expires_at * 1000;
        this.refreshMarginMs = Math.min(REFRESH_MARGIN_MS, (answer.expires_in * 1000) / 5);
        return answer;
      })
      .finally(() => {
        this.pendingLogin = undefined;
      });
    return this.pendingLogin;
  }

  /** An authenticated request; logs in first when needed and retries once after a lapsed token. */
  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const renewable = this.options.credentials !== undefined;
    if (renewable && (!this.accessToken || Date.now() > this.expiresAtMs - this.refreshMarginMs)) {
      await this.login();
    }
    try {
      return await this.send<T>(method, path, body, true);
    } catch (error) {
      const code = error instanceof DuctapeError ? error.code : '';
      if (renewable && (code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID')) {
        await this.login();
        return this.send<T>(method, path, body, true);
      }
      throw error;
    }
  }

  private async send<T>(method: Method, path: string, body: unknown, auth: boolean): Promise<T> {
    const url = this.baseUrl + path;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;

    let response: Response;
    try {
      response = await this.options.fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // Never follow a redirect: it would re-send the private key or the bearer token to
        // wherever the Location points (a 307 keeps the method and the body).
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (cause) {
      const reason = cause instanceof Error ? describeNetworkError(cause) : String(cause);
      throw new DuctapeError(
        `Could not reach the Ductape server at ${this.baseUrl} (${method} ${path}): ${reason}`,
        'NETWORK_ERROR',
        undefined,
        { cause },
      );
    }

    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      throw redirectError(response, this.baseUrl, method, path);
    }

    const text = await response.text();
    let data: unknown = undefined;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    if (response.ok) return data as T;

    const errorBody: ErrorBody = isErrorBody(data)
      ? data
      : {
          code: response.status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR',
          message: `HTTP ${response.status} ${response.statusText}`.trim(),
        };
    throw new DuctapeError(errorBody.message, errorBody.code, {
      status: response.status,
      data: errorBody,
    });
  }
}

/**
 * A redirect is refused, never followed: the request carried credentials. Browsers hide where
 * a redirect points (an opaque answer with status 0); elsewhere the message names it.
 */
function redirectError(response: Response, baseUrl: string, method: Method, path: string): DuctapeError {
  const location = response.headers.get('location');
  const where = location ? ` to ${location}` : '';
  const status = response.status === 0 ? '' : ` ${response.status}`;
  return new DuctapeError(
    `The server at ${baseUrl} answered ${method} ${path} with a redirect${status}${where}. ` +
      'Redirects are never followed, so credentials are not sent anywhere else: use the URL the server really has.',
    'REDIRECT_REFUSED',
  );
}

function isErrorBody(data: unknown): data is ErrorBody {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as ErrorBody).code === 'string' &&
    typeof (data as ErrorBody).message === 'string'
  );
}

/** undici hides the useful part ("ECONNREFUSED") in `cause`; surface it. */
function describeNetworkError(error: Error): string {
  if (error.name === 'TimeoutError') return 'the request timed out';
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${cause.message}` : cause.message;
  }
  return error.message;
}
