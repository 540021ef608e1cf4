/** Wire types of service tokens and workspace members. */

/** Roles, weakest first. Each role can do everything the ones before it can. */
export const ROLES = ['viewer', 'developer', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

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
