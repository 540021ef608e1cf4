/**
 * Who may do what. Roles are ordered; each can do everything the weaker ones can.
 * The table is the single source of truth for the server and for the 403 messages.
 */
import { ROLES, type Role } from '@ductape/sdk';
import { AppError } from '../errors.js';

export type Action =
  'secrets.list' | 'secrets.read' | 'secrets.write' | 'secrets.delete' | 'secrets.revoke' | 'users.manage';

const RULES: { readonly [A in Action]: { role: Role; what: string } } = {
  'secrets.list': { role: 'viewer', what: 'Listing secrets' },
  'secrets.read': { role: 'developer', what: 'Reading secret values' },
  'secrets.write': { role: 'developer', what: 'Creating and updating secrets' },
  'secrets.delete': { role: 'admin', what: 'Deleting secrets' },
  'secrets.revoke': { role: 'admin', what: 'Revoking and restoring secrets' },
  'users.manage': { role: 'owner', what: 'Managing users' },
};

const rank = (role: Role): number => ROLES.indexOf(role);

export function can(role: Role, action: Action): boolean {
  return rank(role) >= rank(RULES[action].role);
}

/** Throws 403 with a message naming the role the action needs. */
export function authorize(role: Role, action: Action): void {
  if (can(role, action)) return;
  const rule = RULES[action];
  throw new AppError(
    'FORBIDDEN',
    `${rule.what} needs the ${rule.role} role or higher; you are ${role === 'admin' ? 'an' : 'a'} ${role}`,
  );
}
