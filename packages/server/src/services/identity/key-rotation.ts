/**
 * Rotating a user's private key, and who may. A new key replaces the old one; the old key and
 * every access token issued with it stop working at once (the key generation moves on).
 *
 * - Your own key: only with proof that you hold the current one. An access token lives for
 *   minutes and travels in every request; if it alone could rotate the key, whoever stole one
 *   would turn it into a permanent credential and lock the real user out. A wrong key counts
 *   as a failed sign-in (per address, and per address and user), so it cannot be guessed here
 *   either.
 * - Another user's key: owners only (their role is the authority; no key is asked).
 * - An operator command acting on the store directly (no principal).
 *
 * The audit entry's `proof` says which of the three allowed it.
 */
import {
  generatePrivateKey,
  hashCredential,
  verifyCredential,
  type NewCredentials,
} from '../../crypto/credentials.js';
import { AppError } from '../../errors.js';
import type { Store, UserChanges } from '../../store/types.js';
import { operatorActor, type AuditActor, type AuditDetail } from '../audit/audit-actors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from './principal.js';
import type { SignInGuard } from './rate-limit.js';
import { authorize } from './roles.js';

/** How a rotation was allowed, as its audit entry records it. */
export type RotationProof = 'current_private_key' | 'owner_role' | 'operator_command';

export interface KeyRotationDeps {
  store: Pick<Store, 'getUser'>;
  audit: Pick<AuditService, 'guard'>;
  signInGuard: SignInGuard;
  /** Stores the new hash and generation with the change's audit entry (extra `detail` in it). */
  replaceKey(
    changes: Required<Pick<UserChanges, 'keyHash' | 'keyGeneration'>>,
    by: AuditActor,
    detail: AuditDetail,
  ): Promise<unknown>;
}

export interface KeyRotation {
  /** Who asks; undefined for an operator command. */
  principal: Principal | undefined;
  workspaceId: string;
  userId: string;
  /** The `private_key` sent with the request: the user's current key, for their own rotation. */
  presentedKey: string | undefined;
}

const userNotFound = (userId: string): AppError =>
  new AppError('USER_NOT_FOUND', `User '${userId}' not found in this workspace`);

export async function rotateUserKey(deps: KeyRotationDeps, rotation: KeyRotation): Promise<NewCredentials> {
  const { principal, workspaceId, userId, presentedKey } = rotation;
  const own = principal?.kind === 'user' && principal.userId === userId;
  const proof: RotationProof = !principal ? 'operator_command' : own ? 'current_private_key' : 'owner_role';
  const clientAddress = principal?.origin?.clientIp ?? 'local';
  const privateKey = generatePrivateKey();

  const rotate = async (): Promise<void> => {
    if (principal && !own) authorize(principal, 'users.manage');
    if (!own && presentedKey !== undefined) {
      throw new AppError(
        'VALIDATION_ERROR',
        "private_key: send it only to rotate your own key (an owner rotates another user's key without it)",
        'private_key',
      );
    }
    if (own) {
      if (presentedKey === undefined) {
        throw new AppError(
          'VALIDATION_ERROR',
          'private_key: is required to rotate your own key: send your current private key (an access token alone is not enough)',
          'private_key',
        );
      }
      // Before any check, as for a sign-in: past the limits even the right key waits.
      deps.signInGuard.admit(clientAddress, userId);
    }
    const user = await deps.store.getUser(userId);
    if (!user || user.workspaceId !== workspaceId || user.removedAt !== null) throw userNotFound(userId);
    if (own && !verifyCredential(presentedKey as string, user.keyHash)) {
      deps.signInGuard.recordFailure(clientAddress, userId);
      throw new AppError(
        'FORBIDDEN',
        'private_key: is not your current private key; your key was not rotated',
        'private_key',
      );
    }
    await deps.replaceKey(
      { keyHash: hashCredential(privateKey), keyGeneration: user.keyGeneration + 1 },
      principal ?? operatorActor(),
      { proof },
    );
  };

  if (principal) {
    await deps.audit.guard(principal, 'user.rotate_key', { detail: { user_id: userId, proof } }, rotate);
  } else {
    await rotate();
  }
  return { workspace_id: workspaceId, user_id: userId, private_key: privateKey };
}
