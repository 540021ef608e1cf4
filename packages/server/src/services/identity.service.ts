/**
 * Workspaces, users and sign-in: private keys in, short-lived access tokens out, and the
 * principal behind every bearer token.
 */
import type { Role, TokenRequest, TokenResponse, WhoAmI } from '@ductape/sdk';
import { accessTokenKeyVersion, signAccessToken, verifyAccessToken } from '../crypto/access-token.js';
import { generatePrivateKey, hashCredential, verifyCredential } from '../crypto/credentials.js';
import { parseServiceToken, SERVICE_TOKEN_PREFIX } from '../crypto/service-token.js';
import type { Keyring } from '../crypto/keyring.js';
import { AppError } from '../errors.js';
import {
  operatorActor,
  SYSTEM_CHAIN,
  type AuditActor,
  type AuditDetail,
  type AuditService,
} from './audit.service.js';
import type { Principal, RequestOrigin, TokenPrincipal, UserPrincipal } from './principal.js';
import { newId } from '../ids.js';
import type { IdentityStore, UserChanges, UserRow } from '../store/identity-store.js';
import {
  createServiceTokenGuard,
  createSignInGuard,
  DEFAULT_SIGN_IN_LIMITS,
  type SignInLimits,
} from './rate-limit.js';
import { authorize } from './roles.js';
import { rotateUserKey } from './key-rotation.js';
import type { PrincipalSource } from './principal-cache.js';
import type { SigningKeys } from './signing-keys.js';

export type { Principal } from './principal.js';

export interface NewCredentials {
  workspace_id: string;
  user_id: string;
  private_key: string;
}

export interface IdentityDeps {
  store: IdentityStore;
  keyring: Pick<Keyring, 'newWorkspaceKey'>;
  audit: Pick<AuditService, 'entries' | 'entry' | 'read' | 'guard' | 'refused'>;
  /**
   * Where authentication reads users and service tokens: a PrincipalCache in front of the
   * store (the server), or the store itself (the default).
   */
  principals?: PrincipalSource;
  /** The access-token signing key's versions (signing-keys.ts). */
  signingKeys: Pick<SigningKeys, 'forSigning' | 'forVerifying'>;
  /** The lifetime of issued tokens, and the longest a presented token may live. */
  accessTokenTtlSeconds: number;
  /** Per-node limits on sign-in; the defaults when not given. */
  signInLimits?: SignInLimits;
  /** Milliseconds since the epoch, for the sign-in limits. */
  now?: () => number;
}

export type IdentityService = ReturnType<typeof createIdentityService>;

const userNotFound = (userId: string): AppError =>
  new AppError('USER_NOT_FOUND', `User '${userId}' not found in this workspace`);

const invalidCredentials = (): AppError =>
  new AppError('INVALID_CREDENTIALS', 'Invalid workspace_id, user_id or private_key');

export function createIdentityService(deps: IdentityDeps) {
  const { store, keyring, audit, signingKeys, accessTokenTtlSeconds } = deps;
  const principals = deps.principals ?? store;
  const signInGuard = createSignInGuard(deps.signInLimits ?? DEFAULT_SIGN_IN_LIMITS, deps.now);
  const serviceTokenGuard = createServiceTokenGuard(deps.signInLimits ?? DEFAULT_SIGN_IN_LIMITS, deps.now);

  async function userPrincipal(bearer: string, origin?: RequestOrigin): Promise<UserPrincipal> {
    // The version a token names only picks the key; the token is then checked with it.
    const version = accessTokenKeyVersion(bearer);
    const key = version === undefined ? undefined : await signingKeys.forVerifying(version);
    const result =
      key && version !== undefined
        ? verifyAccessToken(key, version, bearer, Math.floor(Date.now() / 1000), accessTokenTtlSeconds)
        : ({ ok: false, reason: 'invalid' } as const);
    if (!result.ok) {
      throw result.reason === 'expired'
        ? new AppError('TOKEN_EXPIRED', 'Access token has expired; sign in again')
        : new AppError('TOKEN_INVALID', 'Access token is not valid');
    }
    const { claims } = result;
    const user = await principals.getUser(claims.u);
    if (
      !user ||
      user.workspaceId !== claims.w ||
      user.removedAt !== null ||
      user.keyGeneration !== claims.g
    ) {
      throw new AppError('TOKEN_INVALID', 'Access token is no longer valid; sign in again');
    }
    return { kind: 'user', workspaceId: user.workspaceId, userId: user.id, role: user.role, origin };
  }

  /**
   * Looked up on every request (in the principal cache, which drops a token as soon as it is
   * revoked anywhere), so a revoke takes effect at once on every node. A token that is not
   * one counts against its client address, and past the limit the address gets a 429 before
   * any lookup: guessing token ids costs the guesser, not the store.
   */
  async function serviceTokenPrincipal(bearer: string, origin?: RequestOrigin): Promise<TokenPrincipal> {
    const clientAddress = origin?.clientIp ?? 'local';
    serviceTokenGuard.admit(clientAddress);
    const parsed = parseServiceToken(bearer);
    const row = parsed ? await principals.getServiceToken(parsed.id) : undefined;
    const matches = verifyCredential(bearer, row?.tokenHash);
    if (!row || !matches) {
      serviceTokenGuard.recordFailure(clientAddress);
      throw new AppError('TOKEN_INVALID', 'Service token is not valid');
    }
    if (row.revokedAt !== null) throw new AppError('TOKEN_INVALID', 'Service token has been revoked');
    if (row.expiresAt * 1000 <= Date.now()) throw new AppError('TOKEN_EXPIRED', 'Service token has expired');
    return {
      kind: 'token',
      workspaceId: row.workspaceId,
      tokenId: row.id,
      app: row.app,
      env: row.env,
      expiresAt: row.expiresAt,
      origin,
    };
  }

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

    /** Adds a user to a workspace. Returns the user's key, once. */
    async createUser(
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
    },

    /**
     * Exchanges a private key for an access token. Every failure looks the same: 401, with a
     * wrong user id and a wrong key taking the same path (a hash is verified either way).
     * Over the sign-in limits for `clientAddress`, or for the user id as sent from that
     * address, a 429 comes first, before any check, so even the right key waits out the
     * window there (and only there: see rate-limit.ts).
     */
    async issueToken(request: TokenRequest, origin?: RequestOrigin): Promise<TokenResponse> {
      const clientAddress = origin?.clientIp ?? 'local';
      signInGuard.admit(clientAddress, request.user_id);
      const user = await store.getUser(request.user_id);
      const keyMatches = verifyCredential(request.private_key, user?.keyHash);
      if (!user || !keyMatches || user.workspaceId !== request.workspace_id || user.removedAt !== null) {
        signInGuard.recordFailure(clientAddress, request.user_id);
        const refusal = invalidCredentials();
        // In the workspace's own chain when it exists; sign-ins to nowhere go to the system's.
        const chain = (await store.getWorkspace(request.workspace_id)) ? request.workspace_id : SYSTEM_CHAIN;
        const actor = { kind: 'anonymous' as const, claimedUserId: request.user_id, origin };
        await audit.refused(chain, actor, 'auth.sign_in', {}, refusal);
        throw refusal;
      }
      const principal: UserPrincipal = {
        kind: 'user',
        workspaceId: user.workspaceId,
        userId: user.id,
        role: user.role,
        origin,
      };
      // No entry, no token (unless DUCTAPE_AUDIT_READS=best-effort).
      await audit.read(audit.entry(principal, 'auth.sign_in'));
      const signing = await signingKeys.forSigning();
      const iat = Math.floor(Date.now() / 1000);
      const exp = iat + accessTokenTtlSeconds;
      return {
        access_token: signAccessToken(signing.key, {
          w: user.workspaceId,
          u: user.id,
          g: user.keyGeneration,
          iat,
          exp,
          k: signing.version,
        }),
        token_type: 'Bearer',
        expires_in: accessTokenTtlSeconds,
        expires_at: exp,
        workspace_id: user.workspaceId,
        user_id: user.id,
        role: user.role,
      };
    },

    /** The principal behind an `Authorization` header; throws 401 when there is none. */
    async authenticate(authorization: string | undefined, origin?: RequestOrigin): Promise<Principal> {
      if (!authorization) {
        throw new AppError(
          'UNAUTHENTICATED',
          'Missing Authorization header: send "Authorization: Bearer <access token>" (get one from POST /v1/auth/token)',
        );
      }
      const match = /^Bearer ([A-Za-z0-9_.-]{1,2048})$/.exec(authorization);
      if (!match) {
        throw new AppError('TOKEN_INVALID', 'Authorization header must be "Bearer <access token>"');
      }
      const bearer = match[1] as string;
      return bearer.startsWith(SERVICE_TOKEN_PREFIX)
        ? serviceTokenPrincipal(bearer, origin)
        : userPrincipal(bearer, origin);
    },

    /** Every member of the caller's workspace (removed ones included). Owners only. */
    async listUsers(principal: Principal): Promise<UserRow[]> {
      authorize(principal, 'users.manage');
      return store.listUsers(principal.workspaceId);
    },

    /** Adds a member to the caller's workspace; the private key is in this answer only. */
    async addUser(principal: Principal, role: Role): Promise<NewCredentials> {
      return audit.guard(principal, 'user.create', { detail: { role } }, async () => {
        authorize(principal, 'users.manage');
        return this.createUser(principal.workspaceId, role, principal);
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

    async whoami(principal: Principal): Promise<WhoAmI> {
      const workspace = await store.getWorkspace(principal.workspaceId);
      const workspace_name = workspace?.name ?? '';
      if (principal.kind === 'token') {
        return {
          kind: 'service_token',
          workspace_id: principal.workspaceId,
          workspace_name,
          token_id: principal.tokenId,
          app: principal.app,
          env: principal.env,
          expires_at: principal.expiresAt,
        };
      }
      return {
        kind: 'user',
        workspace_id: principal.workspaceId,
        workspace_name,
        user_id: principal.userId,
        role: principal.role,
      };
    },
  };
}
