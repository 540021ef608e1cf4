/**
 * Service tokens: machine identities bound to one app and one environment, minted by
 * admins, shown once, stored as hashes, listed as metadata and revoked at once.
 */
import type { CreatedToken, ServiceToken } from '@ductape/sdk';
import { hashCredential } from '../../crypto/credentials.js';
import { generateServiceToken } from '../../crypto/service-token.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { ServiceTokenRow, Store } from '../../store/types.js';
import { actorId, type Principal } from './principal.js';
import type { AuditService } from '../audit/audit.service.js';
import { authorize } from './roles.js';

export const TOKEN_TTL = {
  defaultSeconds: 30 * 24 * 3600,
  minSeconds: 60,
  maxSeconds: 5 * 366 * 24 * 3600,
} as const;

export interface CreateTokenCommand {
  app: string;
  env: string;
  ttl_seconds?: number | undefined;
  expires_at?: number | undefined;
  description?: string | null | undefined;
}

export function presentToken(row: ServiceTokenRow, nowMs = Date.now()): ServiceToken {
  return {
    token_id: row.id,
    workspace_id: row.workspaceId,
    app: row.app,
    env: row.env,
    description: row.description,
    created_by: row.createdBy,
    created_at: new Date(row.createdAt).toISOString(),
    expires_at: row.expiresAt,
    revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
    status: row.revokedAt !== null ? 'revoked' : row.expiresAt * 1000 <= nowMs ? 'expired' : 'active',
  };
}

export type TokensService = ReturnType<typeof createTokensService>;

export interface TokensDeps {
  store: Pick<Store, 'insertServiceToken' | 'listServiceTokens' | 'revokeServiceToken'>;
  audit: Pick<AuditService, 'entry' | 'guard'>;
}

export function createTokensService({ store, audit }: TokensDeps) {
  async function create(principal: Principal, command: CreateTokenCommand): Promise<CreatedToken> {
    authorize(principal, 'tokens.manage');
    const now = Date.now();
    const nowSeconds = Math.floor(now / 1000);
    const expiresAt = command.expires_at ?? nowSeconds + (command.ttl_seconds ?? TOKEN_TTL.defaultSeconds);
    const lifetime = expiresAt - nowSeconds;
    if (lifetime < TOKEN_TTL.minSeconds || lifetime > TOKEN_TTL.maxSeconds) {
      // Name the field the caller sent: ttl_seconds, or expires_at.
      const field = command.expires_at === undefined ? 'ttl_seconds' : 'expires_at';
      throw new AppError(
        'VALIDATION_ERROR',
        `${field}: a service token must live between ${TOKEN_TTL.minSeconds} seconds and 5 years`,
        field,
      );
    }
    const id = newId();
    const token = generateServiceToken(id);
    const row: ServiceTokenRow = {
      id,
      workspaceId: principal.workspaceId,
      app: command.app,
      env: command.env,
      description: command.description ?? null,
      tokenHash: hashCredential(token),
      createdBy: actorId(principal),
      createdAt: now,
      expiresAt,
      revokedAt: null,
    };
    await store.insertServiceToken(
      row,
      audit.entry(principal, 'token.create', { detail: { token_id: id, app: row.app, env: row.env } }),
    );
    return { ...presentToken(row, now), token };
  }

  return {
    /** Mints a token; the token itself is in this answer only. */
    async create(principal: Principal, command: CreateTokenCommand): Promise<CreatedToken> {
      const detail = { app: command.app, env: command.env };
      return audit.guard(principal, 'token.create', { detail }, () => create(principal, command));
    },

    async list(principal: Principal): Promise<ServiceToken[]> {
      authorize(principal, 'tokens.manage');
      const now = Date.now();
      return (await store.listServiceTokens(principal.workspaceId)).map((row) => presentToken(row, now));
    },

    /** Revokes at once: every node checks the token's row on every request. */
    async revoke(principal: Principal, tokenId: string): Promise<void> {
      const fields = { detail: { token_id: tokenId } };
      await audit.guard(principal, 'token.revoke', fields, async () => {
        authorize(principal, 'tokens.manage');
        const entry = audit.entry(principal, 'token.revoke', fields);
        if (!(await store.revokeServiceToken(principal.workspaceId, tokenId, Date.now(), entry))) {
          throw new AppError('TOKEN_NOT_FOUND', `Service token '${tokenId}' not found`);
        }
      });
    },
  };
}
