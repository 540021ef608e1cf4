/**
 * Who may do what. Roles are ordered; each can do everything the weaker ones can. Service
 * tokens can only use secrets (fetch, resolve, export), and only those their app and
 * environment may use (see usage-rules.ts). The table is the single source of truth for the
 * server and for the 403 messages.
 */
import { ROLES, type Role } from '@ductape/sdk';
import { AppError } from '../../errors.js';
import type { Principal } from './principal.js';

export type Action =
  | 'secrets.list'
  | 'secrets.use'
  | 'secrets.history'
  | 'secrets.write'
  | 'secrets.delete'
  | 'secrets.revoke'
  | 'tokens.manage'
  | 'users.manage'
  | 'webhooks.manage'
  | 'audit.read';

const RULES: { readonly [A in Action]: { role: Role; what: string; tokens: boolean } } = {
  'secrets.list': { role: 'viewer', what: 'Listing secrets', tokens: true },
  'secrets.use': { role: 'developer', what: 'Reading secret values', tokens: true },
  'secrets.history': { role: 'viewer', what: 'Listing versions', tokens: false },
  'secrets.write': { role: 'developer', what: 'Creating and updating secrets', tokens: false },
  'secrets.delete': { role: 'admin', what: 'Deleting secrets', tokens: false },
  'secrets.revoke': { role: 'admin', what: 'Revoking and restoring secrets', tokens: false },
  'tokens.manage': { role: 'admin', what: 'Managing service tokens', tokens: false },
  'users.manage': { role: 'owner', what: 'Managing users', tokens: false },
  'webhooks.manage': { role: 'admin', what: 'Managing webhooks', tokens: false },
  'audit.read': { role: 'admin', what: 'Reading the audit log', tokens: false },
};

const rank = (role: Role): number => ROLES.indexOf(role);

export function can(principal: Principal, action: Action): boolean {
  const rule = RULES[action];
  if (principal.kind === 'token') return rule.tokens;
  return rank(principal.role) >= rank(rule.role);
}

/** Throws 403 with a message naming the role the action needs. */
export function authorize(principal: Principal, action: Action): void {
  if (can(principal, action)) return;
  const rule = RULES[action];
  if (principal.kind === 'token') {
    throw new AppError(
      'FORBIDDEN',
      `${rule.what} needs a user with the ${rule.role} role or higher; a service token can only fetch, resolve and export the secrets its app and environment may use`,
    );
  }
  const article = principal.role === 'admin' ? 'an' : 'a';
  throw new AppError(
    'FORBIDDEN',
    `${rule.what} needs the ${rule.role} role or higher; you are ${article} ${principal.role}`,
  );
}
