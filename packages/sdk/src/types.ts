/**
 * Wire types shared by the SDK, the server and the command line. They describe the JSON
 * that travels over HTTP, field for field.
 */

/**
 * What kind of credential a secret holds. The product document (Ductape's "Managing Secrets"
 * guide, summarised in docs/product.md) names `api` and `access`; the others are ours.
 */
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
  /** The secret's version: 1 at creation, one more at every update or rollback (not revoke/restore). */
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

/** One recorded version of a secret's value: metadata only. */
export interface SecretVersion {
  version: number;
  /** ISO 8601: when this value was written. */
  createdAt: string;
  /**
   * The user or service token id that wrote it. Admins and owners see every id; viewers and
   * developers see their own id, and anyone else as `hidden:` + 8 hex characters (the same
   * for the same writer, but not their id).
   */
  actor: string;
}

/** Options of `secrets.fetch`. */
export interface FetchOptions {
  /** Read an older recorded version instead of the current one. */
  version?: number;
}

/** Options of `secrets.update`. */
export interface UpdateOptions {
  /** Check-and-set: only update when the secret is still at this version (409 `VERSION_CONFLICT` otherwise). */
  if_version?: number;
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

/** `GET /v1/me` for a user: who the current credentials belong to. */
export interface UserWhoAmI {
  kind: 'user';
  workspace_id: string;
  workspace_name: string;
  user_id: string;
  role: Role;
}

/** `GET /v1/me` for a service token: what it is bound to. */
export interface TokenWhoAmI {
  kind: 'service_token';
  workspace_id: string;
  workspace_name: string;
  token_id: string;
  app: string;
  env: string;
  /** Unix seconds. */
  expires_at: number;
}

/** `GET /v1/me` response. */
export type WhoAmI = UserWhoAmI | TokenWhoAmI;

/** Which app and environment a secret is used by, for resolve, validate and export. */
export interface UsageContext {
  /** App tag; required for secrets whose scope is restricted. A service token's own app applies. */
  app?: string;
  /** Environment slug; required for secrets restricted to some environments. */
  env?: string;
}

/** `POST /v1/resolve` response. */
export interface ResolveResponse<T = unknown> {
  /** The input with every reference replaced by its secret's value. */
  output: T;
}

/** One reference found by `validate`, and whether it would resolve. */
export interface ReferenceReport {
  key: string;
  /** `Secret` for `$Secret{KEY}`, `Token` for the legacy `$Token{KEY}`. */
  syntax: 'Secret' | 'Token';
  /** JSON path of the string holding it (`$` for a plain string input). */
  path: string;
  /** Offset of the `$` within that string. */
  position: number;
  resolvable: boolean;
  /** Why not, when it would not resolve. */
  code?: ErrorCode;
  message?: string;
}

/** A `$Secret{` that is not a valid reference. */
export interface MalformedReferenceReport {
  path: string;
  position: number;
  message: string;
}

/** `POST /v1/validate` response: never carries a value. */
export interface ValidateResponse {
  /** True when there is no malformed reference and every reference would resolve. */
  valid: boolean;
  references: ReferenceReport[];
  /** The first 100 malformed references. */
  malformed: MalformedReferenceReport[];
  /** How many malformed references there are in all. */
  malformed_total: number;
}

/** `GET /v1/export` response: the values an app may use in an environment. */
export interface ExportResponse {
  app: string | null;
  env: string | null;
  secrets: { key: string; value: string }[];
  /** In-scope secrets left out because they cannot be used right now (revoked, expired). */
  skipped: { key: string; code: ErrorCode; message: string }[];
}

/** Options of `secrets.export`. */
export interface ExportOptions extends UsageContext {
  /** Only these keys; each must then pass every rule, or the call fails. */
  only?: string[];
}

/** `POST /v1/secrets/import` request. */
export interface ImportRequest {
  secrets: CreateSecretInput[];
  /** Update the value (and given metadata) of keys that already exist, instead of refusing them. */
  overwrite?: boolean;
}

/** What happened to one imported secret. */
export interface ImportResult {
  key: string;
  status: 'created' | 'updated' | 'refused';
  code?: ErrorCode;
  message?: string;
}

/** `POST /v1/secrets/import` response, one result per item, in order. */
export interface ImportResponse {
  results: ImportResult[];
}

/** Input of `tokens.create`. */
export interface CreateTokenInput {
  app: string;
  env: string;
  /** Lifetime in seconds (default 30 days); or give `expires_at`. */
  ttl_seconds?: number;
  /** Unix seconds. */
  expires_at?: number;
  description?: string | null;
}

/** A service token's metadata; never the token itself. */
export interface ServiceToken {
  token_id: string;
  workspace_id: string;
  app: string;
  env: string;
  description: string | null;
  created_by: string;
  /** ISO 8601. */
  created_at: string;
  /** Unix seconds. */
  expires_at: number;
  /** ISO 8601, or null. */
  revoked_at: string | null;
  status: 'active' | 'revoked' | 'expired';
}

/** `POST /v1/tokens` response: the token itself is in it, and shown only this once. */
export interface CreatedToken extends ServiceToken {
  token: string;
}

/** A member of a workspace; never their key. */
export interface User {
  user_id: string;
  workspace_id: string;
  role: Role;
  /** ISO 8601. */
  created_at: string;
  /** ISO 8601, or null while the user is a member. */
  removed_at: string | null;
  status: 'active' | 'removed';
}

/** A new user, or a user's new key: the private key is shown only this once. */
export interface UserCredentials {
  workspace_id: string;
  user_id: string;
  private_key: string;
}

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

/** What an audit entry records. */
export type AuditAction =
  | 'auth.sign_in'
  | 'workspace.create'
  | 'secret.create'
  | 'secret.update'
  | 'secret.rollback'
  | 'secret.delete'
  | 'secret.revoke'
  | 'secret.restore'
  | 'secret.read'
  | 'secret.resolve'
  | 'secret.export'
  | 'user.create'
  | 'user.set_role'
  | 'user.remove'
  | 'user.rotate_key'
  | 'token.create'
  | 'token.revoke'
  | 'key.rotate_master'
  | 'key.rotate_workspace'
  | 'key.rotate_server'
  | 'key.reencrypt'
  | 'audit.list';

/** Every audit action, in documentation order. */
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'auth.sign_in',
  'workspace.create',
  'secret.create',
  'secret.update',
  'secret.rollback',
  'secret.delete',
  'secret.revoke',
  'secret.restore',
  'secret.read',
  'secret.resolve',
  'secret.export',
  'user.create',
  'user.set_role',
  'user.remove',
  'user.rotate_key',
  'token.create',
  'token.revoke',
  'key.rotate_master',
  'key.rotate_workspace',
  'key.rotate_server',
  'key.reencrypt',
  'audit.list',
];

/** Who did it: a user (with the role they had), a service token, an operator at the server, or nobody signed in. */
export interface AuditActor {
  type: 'user' | 'token' | 'operator' | 'anonymous';
  /** The user or token id; the operator's account name; for a failed sign-in, the user id as sent (null unless shaped like one). */
  id: string | null;
  /** A user's role at the time; null for the others. */
  role: Role | null;
}

/**
 * One entry of a workspace's audit log. Never holds a value, a private key or a token.
 * `seq` numbers the workspace's entries from 1 without gaps: the entries form a hash chain.
 */
export interface AuditEntry {
  seq: number;
  /** ISO 8601. */
  at: string;
  workspace_id: string;
  actor: AuditActor;
  action: AuditAction;
  /** The secret concerned, when there is one. */
  key: string | null;
  /** The secret's version concerned, when there is one. */
  version: number | null;
  /** `success`, `refused` (the caller got a 4xx; `code` says why) or `failed` (a 5xx). */
  outcome: 'success' | 'refused' | 'failed';
  /** The error code of a refusal or failure. */
  code: string | null;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  /** Extra facts of the action (target user, new role, token app and env...). */
  detail: Record<string, string | number | boolean | null> | null;
}

/** Filters of `ductape.audit.list()`. Every one is optional. */
export interface AuditQuery {
  /** Entries at or after this time (a Date or ISO 8601). */
  since?: Date | string;
  /** Entries before this time (a Date or ISO 8601). */
  until?: Date | string;
  /** Only entries about this secret key. */
  key?: string;
  /** Only entries by this user or token id. */
  actor?: string;
  /** Only entries of this action. */
  action?: AuditAction;
  /** At most this many entries (1-1000, default 100). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** A page of the audit log, newest entry first. */
export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null when there is none. */
  next_cursor: string | null;
}
