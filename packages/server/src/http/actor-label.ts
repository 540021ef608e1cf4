/**
 * Who wrote a version, as the caller may see it. Knowing a user id is what a sign-in attack
 * starts from, so ids are shown only to those who see them anyway: callers who may read the
 * audit log (admins and owners), which names every actor. Anyone else (viewers and
 * developers) sees their own id as it is, and every other writer as `hidden:` and 8 hex
 * characters: stable per writer and workspace, so a history still shows who wrote what
 * together, but 32 bits of a hash of a 96-bit id, which no one can turn back into the id.
 */
import { createHash } from 'node:crypto';
import { actorId, type Principal } from '../services/identity/principal.js';
import { can } from '../services/identity/roles.js';

export const HIDDEN_ACTOR_PREFIX = 'hidden:';

export function actorAsSeenBy(principal: Principal, writer: string): string {
  if (can(principal, 'audit.read') || writer === actorId(principal)) return writer;
  const digest = createHash('sha256')
    .update(`ductape actor label\u0000${principal.workspaceId}\u0000${writer}`, 'utf8')
    .digest('hex');
  return HIDDEN_ACTOR_PREFIX + digest.slice(0, 8);
}
