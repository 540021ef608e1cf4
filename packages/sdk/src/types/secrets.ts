/** Wire types of secrets: their metadata, values, versions and the inputs that change them. */

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

/** Options of `secrets.list`. */
export interface ListSecretsOptions {
  /**
   * Seconds: only the secrets that are not expired yet and expire within this many seconds
   * from now (`7 * 86400` for a week), soonest first. Query parameter `expiring_within`.
   */
  expiring_within?: number;
}
