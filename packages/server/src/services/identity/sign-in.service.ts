/**
 * Sign-in: private keys in, short-lived access tokens out, and the principal behind every
 * bearer token (an access token or a service token) on every request.
 */
import type { TokenRequest, TokenResponse, WhoAmI } from '@ductape/sdk';
import {
  accessTokenKeyVersion,
  checkTimes,
  signAccessToken,
  verifyAccessToken,
  type AccessTokenClaims,
  type VerifyResult,
} from '../../crypto/access-token.js';
import { verifyCredential } from '../../crypto/credentials.js';
import { parseServiceToken, SERVICE_TOKEN_PREFIX } from '../../crypto/service-token.js';
import { AppError } from '../../errors.js';
import type { IdentityStore } from '../../store/identity-store.js';
import { SYSTEM_CHAIN } from '../audit/audit-actors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { SignInMetrics } from '../../metrics/events.js';
import type { Principal, RequestOrigin, TokenPrincipal, UserPrincipal } from './principal.js';
import type { PrincipalSource } from './principal-cache.js';
import type { ServiceTokenGuard, SignInGuard } from './rate-limit.js';
import type { SigningKeys } from '../keys/signing-keys.js';

export interface SignInDeps {
  store: IdentityStore;
  /**
   * Where authentication reads users and service tokens: a PrincipalCache in front of the
   * store (the server), or the store itself.
   */
  principals: PrincipalSource;
  audit: Pick<AuditService, 'entry' | 'read' | 'refused'>;
  /** The access-token signing key's versions (signing-keys.ts). */
  signingKeys: Pick<SigningKeys, 'forSigning' | 'forVerifying'>;
  /** The lifetime of issued tokens, and the longest a presented token may live. */
  accessTokenTtlSeconds: number;
  /** Failed sign-ins per address and per (address, user); shared with key rotation. */
  signInGuard: SignInGuard;
  /** Presented service tokens that are not one, per address. */
  serviceTokenGuard: ServiceTokenGuard;
  /** Counts sign-ins and service-token authentications, failed ones apart (when metrics are on). */
  metrics?: SignInMetrics;
}

export type SignInService = ReturnType<typeof createSignInService>;

const invalidCredentials = (): AppError =>
  new AppError('INVALID_CREDENTIALS', 'Invalid workspace_id, user_id or private_key');

export function createSignInService(deps: SignInDeps) {
  const {
    store,
    principals,
    audit,
    signingKeys,
    accessTokenTtlSeconds,
    signInGuard,
    serviceTokenGuard,
    metrics,
  } = deps;

  /**
   * Access tokens whose MAC was checked, by the token's exact text: a later request with the
   * same token skips the HMAC and the decoding, never the rest. The key it names must still
   * be held and not retired, its times must still hold, and the user is looked up as always.
   * Only tokens that verified get in; at most 10,000 are kept (all dropped when full).
   */
  const verifiedTokens = new Map<string, AccessTokenClaims>();

  async function verifyBearer(bearer: string): Promise<VerifyResult> {
    const now = Math.floor(Date.now() / 1000);
    const known = verifiedTokens.get(bearer);
    if (known) {
      const key = await signingKeys.forVerifying(known.k ?? 1);
      if (key) return checkTimes(known, now, accessTokenTtlSeconds);
      verifiedTokens.delete(bearer);
      return { ok: false, reason: 'invalid' };
    }
    // The version a token names only picks the key; the token is then checked with it.
    const version = accessTokenKeyVersion(bearer);
    const key = version === undefined ? undefined : await signingKeys.forVerifying(version);
    const result =
      key && version !== undefined
        ? verifyAccessToken(key, version, bearer, now, accessTokenTtlSeconds)
        : ({ ok: false, reason: 'invalid' } as const);
    if (result.ok) {
      if (verifiedTokens.size >= 10_000) verifiedTokens.clear();
      verifiedTokens.set(bearer, result.claims);
    }
    return result;
  }

  async function userPrincipal(bearer: string, origin?: RequestOrigin): Promise<UserPrincipal> {
    const result = await verifyBearer(bearer);
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
      metrics?.serviceToken('failure');
      throw new AppError('TOKEN_INVALID', 'Service token is not valid');
    }
    const expired = row.expiresAt * 1000 <= Date.now();
    metrics?.serviceToken(row.revokedAt !== null || expired ? 'failure' : 'success');
    if (row.revokedAt !== null) throw new AppError('TOKEN_INVALID', 'Service token has been revoked');
    if (expired) throw new AppError('TOKEN_EXPIRED', 'Service token has expired');
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

  /**
   * Workspace names, read once each: a workspace row is never changed or removed (no statement
   * updates or deletes one), so a name once read stays true. At most 10,000 are kept.
   */
  const workspaceNames = new Map<string, string>();
  async function workspaceName(workspaceId: string): Promise<string> {
    const known = workspaceNames.get(workspaceId);
    if (known !== undefined) return known;
    const workspace = await store.getWorkspace(workspaceId);
    if (!workspace) return '';
    if (workspaceNames.size >= 10_000) workspaceNames.clear();
    workspaceNames.set(workspaceId, workspace.name);
    return workspace.name;
  }

  return {
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
        metrics?.signIn('failure');
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
      metrics?.signIn('success');
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

    /** Who the caller is: a user and their role, or a service token and its app and env. */
    async whoami(principal: Principal): Promise<WhoAmI> {
      const workspace_name = await workspaceName(principal.workspaceId);
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
