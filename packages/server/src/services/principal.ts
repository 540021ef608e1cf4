/**
 * Who is calling: a user (with a role) or a service token (bound to one app and one
 * environment). Every service method takes one.
 */
import type { Role } from '@ductape/sdk';

export interface UserPrincipal {
  kind: 'user';
  workspaceId: string;
  userId: string;
  role: Role;
}

export interface TokenPrincipal {
  kind: 'token';
  workspaceId: string;
  tokenId: string;
  app: string;
  env: string;
  /** unix seconds */
  expiresAt: number;
}

export type Principal = UserPrincipal | TokenPrincipal;

/** Who to name in records: the user id, or the token id. */
export function actorId(principal: Principal): string {
  return principal.kind === 'user' ? principal.userId : principal.tokenId;
}
