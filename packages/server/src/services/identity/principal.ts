/**
 * Who is calling: a user (with a role) or a service token (bound to one app and one
 * environment). Every service method takes one.
 */
import type { Role } from '@ductape/sdk';

/** Where a request came from, for the audit log. */
export interface RequestOrigin {
  requestId: string;
  clientIp: string;
  userAgent: string | null;
}

export interface UserPrincipal {
  kind: 'user';
  workspaceId: string;
  userId: string;
  role: Role;
  origin?: RequestOrigin;
}

export interface TokenPrincipal {
  kind: 'token';
  workspaceId: string;
  tokenId: string;
  app: string;
  env: string;
  /** unix seconds */
  expiresAt: number;
  origin?: RequestOrigin;
}

export type Principal = UserPrincipal | TokenPrincipal;

/** Who to name in records: the user id, or the token id. */
export function actorId(principal: Principal): string {
  return principal.kind === 'user' ? principal.userId : principal.tokenId;
}
