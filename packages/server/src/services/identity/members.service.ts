/**
 * Workspaces and their members: creating a workspace with its owner, adding users, roles,
 * removal, and private key rotation. Private keys are generated here and shown once.
 */
import type { Role } from '@ductape/sdk';
import { generatePrivateKey, hashCredential, type NewCredentials } from '../../crypto/credentials.js';
import type { Keyring } from '../../crypto/keyring.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Store, UserChanges, UserRow } from '../../store/types.js';
import { operatorActor, type AuditActor, type AuditDetail } from '../audit/audit-actors.js';
import type { AuditService } from '../audit/audit.service.js';
import { rotateUserKey } from './key-rotation.js';
import type { Principal } from './principal.js';
import type { SignInGuard } from './rate-limit.js';
import { authorize } from './roles.js';

export interface MembersDeps {
  store: Pick<
    Store,
    'createWorkspace' | 'getWorkspace' | 'insertUser' | 'getUser' | 'listUsers' | 'updateUser'
  >;
  keyring: Pick<Keyring, 'newWorkspaceKey'>;
  audit: Pick<AuditService, 'entries' | 'guard'>;
  /** A wrong current key when rotating your own counts as a failed sign-in (key-rotation.ts). */
  signInGuard: SignInGuard;
}

export type MembersService = ReturnType<typeof createMembersService>;

const userNotFound = (userId: string): AppError =>
  new AppError('USER_NOT_FOUND', `User '${userId}' not found in this workspace`);

export function createMembersService({ store, keyring, audit, signInGuard }: MembersDeps) {
  async function changeUser(
    workspaceId: string,
    userId: string,
    changes: UserChanges,
    by: AuditActor,
    action: 'user.set_role' | 'user.remove' | 'user.rotate_key',
    extra: AuditDetail = {},
  ): Promise<UserRow> {
    const detail = { user_id: userId, ...(changes.role ? { role: changes.role } : {}), ...extra };
    const result = await store.updateUser(
      workspaceId,
      userId,
      changes,
      audit.entries(workspaceId, by, action, [{ detail }]),
    );
    if (result === undefined) throw userNotFound(userId);
    if (result === 'last-owner') {
      throw new AppError(
        'LAST_OWNER',
        `User '${userId}' is the workspace's last owner: make another user owner first`,
        'user_id',
      );
    }
    return result;
  }

  /** Adds a user to a workspace. Returns the user's key, once. */
  async function createUser(
    workspaceId: string,
    role: Role,
    by: AuditActor = operatorActor(),
  ): Promise<NewCredentials> {
    if (!(await store.getWorkspace(workspaceId))) {
      throw new AppError('VALIDATION_ERROR', `workspace '${workspaceId}' does not exist`, 'workspace');
    }
    const privateKey = generatePrivateKey();
    const user = {
      id: newId(),
      workspaceId,
      role,
      keyHash: hashCredential(privateKey),
      keyGeneration: 1,
      createdAt: Date.now(),
      removedAt: null,
    };
    await store.insertUser(
      user,
      audit.entries(workspaceId, by, 'user.create', [{ detail: { user_id: user.id, role } }]),
    );
    return { workspace_id: workspaceId, user_id: user.id, private_key: privateKey };
  }

  return {
    /** Creates a workspace, its first data key and its owner. Returns the owner's key, once. */
    async createWorkspace(name: string, by: AuditActor = operatorActor()): Promise<NewCredentials> {
      const now = Date.now();
      const workspaceId = newId();
      const privateKey = generatePrivateKey();
      const owner = {
        id: newId(),
        workspaceId,
        role: 'owner' as const,
        keyHash: hashCredential(privateKey),
        keyGeneration: 1,
        createdAt: now,
        removedAt: null,
      };
      await store.createWorkspace(
        { id: workspaceId, name, createdAt: now },
        keyring.newWorkspaceKey(workspaceId),
        owner,
        audit.entries(workspaceId, by, 'workspace.create', [{ detail: { owner_id: owner.id } }]),
      );
      return { workspace_id: workspaceId, user_id: owner.id, private_key: privateKey };
    },

    createUser,

    /** Every member of the caller's workspace (removed ones included). Owners only. */
    async listUsers(principal: Principal): Promise<UserRow[]> {
      authorize(principal, 'users.manage');
      return store.listUsers(principal.workspaceId);
    },

    /** Adds a member to the caller's workspace; the private key is in this answer only. */
    async addUser(principal: Principal, role: Role): Promise<NewCredentials> {
      return audit.guard(principal, 'user.create', { detail: { role } }, async () => {
        authorize(principal, 'users.manage');
        return createUser(principal.workspaceId, role, principal);
      });
    },

    async setRole(principal: Principal, userId: string, role: Role): Promise<UserRow> {
      return audit.guard(principal, 'user.set_role', { detail: { user_id: userId, role } }, async () => {
        authorize(principal, 'users.manage');
        return changeUser(principal.workspaceId, userId, { role }, principal, 'user.set_role');
      });
    },

    /** Removes a member: every access token of theirs stops working at its next use. */
    async removeUser(principal: Principal, userId: string): Promise<UserRow> {
      return audit.guard(principal, 'user.remove', { detail: { user_id: userId } }, async () => {
        authorize(principal, 'users.manage');
        return changeUser(principal.workspaceId, userId, { removedAt: Date.now() }, principal, 'user.remove');
      });
    },

    /**
     * Replaces a user's private key: the old key and its access tokens stop working at once.
     * Owners may rotate anyone's key; every user their own, proving they hold the current one
     * (`presentedKey`). With no principal, an operator acting on the store directly. See
     * key-rotation.ts.
     */
    async rotateKey(
      principal: Principal | undefined,
      workspaceId: string,
      userId: string,
      presentedKey?: string,
    ): Promise<NewCredentials> {
      return rotateUserKey(
        {
          store,
          audit,
          signInGuard,
          replaceKey: (changes, by, detail) =>
            changeUser(workspaceId, userId, changes, by, 'user.rotate_key', detail),
        },
        { principal, workspaceId, userId, presentedKey },
      );
    },
  };
}
