/**
 * The rules of secrets: who may do what, what a status means, and how a value is sealed.
 * Inputs arrive validated (see http/schemas.ts); the service checks roles and state.
 */
import type { CreateSecretInput, UpdateSecretInput } from '@ductape/sdk';
import { OpenError } from '../crypto/aead.js';
import type { Keyring } from '../crypto/keyring.js';
import { AppError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { DuplicateKeyError, type SecretChanges, type SecretMeta, type Store } from '../store/types.js';
import type { Principal } from './identity.service.js';
import { authorize } from './roles.js';

export interface SecretsDeps {
  store: Pick<
    Store,
    'insertSecret' | 'getSecret' | 'getSecretMeta' | 'listSecrets' | 'modifySecret' | 'deleteSecret'
  >;
  keyring: Pick<Keyring, 'seal' | 'open'>;
}

export type SecretState = 'active' | 'revoked' | 'expired';

export function secretState(
  meta: Pick<SecretMeta, 'revokedAt' | 'expiresAt'>,
  nowMs = Date.now(),
): SecretState {
  if (meta.revokedAt !== null) return 'revoked';
  if (meta.expiresAt !== null && meta.expiresAt * 1000 <= nowMs) return 'expired';
  return 'active';
}

export type SecretsService = ReturnType<typeof createSecretsService>;

export function createSecretsService({ store, keyring }: SecretsDeps) {
  async function metaOr404(principal: Principal, key: string): Promise<SecretMeta> {
    const meta = await store.getSecretMeta(principal.workspaceId, key);
    if (!meta) throw notFound(key);
    return meta;
  }

  /** Applies a change computed from the current row, atomically (see Store.modifySecret). */
  async function change(
    principal: Principal,
    key: string,
    compute: (current: SecretMeta, now: number) => Promise<SecretChanges | null>,
  ): Promise<SecretMeta> {
    const written = await store.modifySecret(principal.workspaceId, key, (current) =>
      // updatedAt always moves forward, even within one millisecond.
      compute(current, Math.max(Date.now(), current.updatedAt + 1)),
    );
    if (!written) throw notFound(key);
    return written;
  }

  return {
    async list(principal: Principal): Promise<SecretMeta[]> {
      authorize(principal.role, 'secrets.list');
      return store.listSecrets(principal.workspaceId);
    },

    async metadata(principal: Principal, key: string): Promise<SecretMeta> {
      authorize(principal.role, 'secrets.list');
      return metaOr404(principal, key);
    },

    /** The secret with its decrypted value; refuses revoked and expired secrets with 410. */
    async fetch(principal: Principal, key: string): Promise<{ meta: SecretMeta; value: string }> {
      authorize(principal.role, 'secrets.read');
      const row = await store.getSecret(principal.workspaceId, key);
      if (!row) throw notFound(key);
      const state = secretState(row);
      if (state === 'revoked') throw new AppError('SECRET_REVOKED', `Secret '${key}' has been revoked`);
      if (state === 'expired') throw new AppError('SECRET_EXPIRED', `Secret '${key}' has expired`);
      const { sealed, ...meta } = row;
      try {
        const value = await keyring.open(
          { workspaceId: row.workspaceId, secretId: row.id, version: row.version },
          sealed,
        );
        return { meta, value };
      } catch (error) {
        if (error instanceof OpenError) {
          throw new AppError(
            'SECRET_INTEGRITY_ERROR',
            `Secret '${key}' failed its integrity check: the stored ciphertext was altered or does not belong to it`,
          );
        }
        throw error;
      }
    },

    async create(principal: Principal, input: CreateSecretInput): Promise<SecretMeta> {
      authorize(principal.role, 'secrets.write');
      const now = Date.now();
      const id = newId();
      const version = 1;
      const sealed = await keyring.seal(
        { workspaceId: principal.workspaceId, secretId: id, version },
        input.value,
      );
      const row = {
        id,
        workspaceId: principal.workspaceId,
        key: input.key,
        description: input.description ?? null,
        tokenType: input.token_type ?? null,
        scope: input.scope ?? [],
        envs: input.envs ?? [],
        expiresAt: input.expires_at ?? null,
        revokedAt: null,
        version,
        createdAt: now,
        updatedAt: now,
      };
      try {
        await store.insertSecret({ ...row, sealed });
      } catch (error) {
        if (error instanceof DuplicateKeyError) {
          throw new AppError(
            'SECRET_EXISTS',
            `Secret '${input.key}' already exists in this workspace`,
            'key',
          );
        }
        throw error;
      }
      return row;
    },

    /** Changes metadata and/or the value; a new value is sealed as the next version. */
    async update(principal: Principal, key: string, patch: UpdateSecretInput): Promise<SecretMeta> {
      authorize(principal.role, 'secrets.write');
      return change(principal, key, async (current, now) => {
        const changes: SecretChanges = { updatedAt: now };
        if (patch.description !== undefined) changes.description = patch.description;
        if (patch.token_type !== undefined) changes.tokenType = patch.token_type;
        if (patch.scope !== undefined) changes.scope = patch.scope;
        if (patch.envs !== undefined) changes.envs = patch.envs;
        if (patch.expires_at !== undefined) changes.expiresAt = patch.expires_at;
        if (patch.value !== undefined) {
          changes.version = current.version + 1;
          changes.sealed = await keyring.seal(
            { workspaceId: current.workspaceId, secretId: current.id, version: changes.version },
            patch.value,
          );
        }
        return changes;
      });
    },

    async delete(principal: Principal, key: string): Promise<void> {
      authorize(principal.role, 'secrets.delete');
      if (!(await store.deleteSecret(principal.workspaceId, key))) throw notFound(key);
    },

    /** Disables a secret without deleting it. Revoking a revoked secret keeps its first revoke time. */
    async revoke(principal: Principal, key: string): Promise<SecretMeta> {
      authorize(principal.role, 'secrets.revoke');
      return change(principal, key, async (current, now) =>
        current.revokedAt === null ? { revokedAt: now, updatedAt: now } : null,
      );
    },

    async restore(principal: Principal, key: string): Promise<SecretMeta> {
      authorize(principal.role, 'secrets.revoke');
      return change(principal, key, async (current, now) =>
        current.revokedAt === null ? null : { revokedAt: null, updatedAt: now },
      );
    },
  };
}
