/** Wire types of sign-in and of who a caller is. */
import type { Role } from './members.js';

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
