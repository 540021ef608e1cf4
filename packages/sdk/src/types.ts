/**
 * Wire types shared by the SDK, the server and the command line. They describe the JSON
 * that travels over HTTP, field for field.
 */

/** What kind of credential a secret holds. The product document names `api` and `access`. */
export const TOKEN_TYPES = [
  'api',
  'access',
  'password',
  'certificate',
  'credential',
  'bearer',
  'oauth',
] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

/** Roles, weakest first. Each role can do everything the ones before it can. */
export const ROLES = ['viewer', 'developer', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** `active`, or why a secret cannot be used right now. */
export type SecretStatus = 'active' | 'revoked' | 'expired';

/** A secret's metadata, as listed, created and updated. Never carries the value. */
export interface Secret {
  /** 24 lower-case hex characters. */
  _id: string;
  workspace_id: string;
  key: string;
  description: string | null;
  token_type: TokenType | null;
  /** App tags allowed to use the secret; empty means every app. */
  scope: string[];
  /** Environment slugs the secret is available in; empty means every environment. */
  envs: string[];
  /** Unix seconds, or null for no expiry. */
  expires_at: number | null;
  status: SecretStatus;
  /** ISO 8601, or null when the secret is not revoked. */
  revoked_at: string | null;
  /** The value's version: 1 at creation, one more at every value change. */
  version: number;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
}

/** A secret with its decrypted value, as returned by `fetch`. */
export interface SecretWithValue extends Secret {
  value: string;
}

/** Input of `secrets.create`. */
export interface CreateSecretInput {
  key: string;
  value: string;
  description?: string | null;
  token_type?: TokenType | null;
  scope?: string[];
  envs?: string[];
  expires_at?: number | null;
}

/** Input of `secrets.update`: every field optional; the value is kept when not given. */
export interface UpdateSecretInput {
  value?: string;
  description?: string | null;
  token_type?: TokenType | null;
  scope?: string[];
  envs?: string[];
  expires_at?: number | null;
}

/** `GET /v1/secrets` response. */
export interface ListSecretsResponse {
  secrets: Secret[];
}

/** `POST /v1/auth/token` request. */
export interface TokenRequest {
  workspace_id: string;
  user_id: string;
  private_key: string;
}

/** `POST /v1/auth/token` response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds until the token expires. */
  expires_in: number;
  /** Unix seconds. */
  expires_at: number;
  workspace_id: string;
  user_id: string;
  role: Role;
}

/** `GET /v1/me` response: who the current credentials belong to. */
export interface WhoAmI {
  workspace_id: string;
  workspace_name: string;
  user_id: string;
  role: Role;
}

/** Every error code the server answers with. */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_INVALID'
  | 'FORBIDDEN'
  | 'SECRET_NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'SECRET_EXISTS'
  | 'SECRET_REVOKED'
  | 'SECRET_EXPIRED'
  | 'SECRET_INTEGRITY_ERROR'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

/** The JSON body of every error response. */
export interface ErrorBody {
  code: ErrorCode;
  /** For people: names the field or key at fault, never a secret value. */
  message: string;
  /** The request field at fault, when there is one (`key`, `scope[2]`...). */
  field?: string;
}
