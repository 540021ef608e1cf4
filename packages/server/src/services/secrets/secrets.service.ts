/**
 * The secrets of a workspace, as the routes use them: who may do what (roles.ts), with each
 * operation on record (audit.service.ts). Inputs arrive validated (see http/schemas.ts).
 * Fetching a value is in secret-fetch.ts, writing in secret-writes.ts, import in
 * secret-import.ts.
 */
import type { CreateSecretInput, ImportResult, UpdateSecretInput } from '@ductape/sdk';
import type { Keyring } from '../../crypto/keyring.js';
import { notFound } from '../../errors.js';
import type { SecretMeta, SecretSizes, SecretStore, SecretVersionMeta } from '../../store/secret-store.js';
import { SEALED_OVERHEAD } from '../../store/sql/secret-rows.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../identity/principal.js';
import { authorize } from '../identity/roles.js';
import { createSecretFetch, sealedVersion } from './secret-fetch.js';
import { importSecrets, type ImportItem } from './secret-import.js';
import { openSealed, sealSecret } from './secret-values.js';
import { changedNames, createSecretWrites } from './secret-writes.js';
import { forCaller, scopeError } from './usage-rules.js';

export interface SecretsDeps {
  store: SecretStore & SecretSizes;
  keyring: Pick<Keyring, 'seal' | 'open' | 'rowMac' | 'verifyRow' | 'through'>;
  audit: Pick<AuditService, 'entry' | 'write' | 'read' | 'guard' | 'refused'>;
  /** Most secrets one workspace may hold (DUCTAPE_MAX_SECRETS_PER_WORKSPACE). */
  maxSecretsPerWorkspace: number;
  /** Most bytes of values, versions included, one workspace may hold (DUCTAPE_WORKSPACE_QUOTA_BYTES). */
  workspaceQuotaBytes: number;
}

export type SecretsService = ReturnType<typeof createSecretsService>;

export interface ListOptions {
  /** Seconds: only the secrets expiring within this long from `nowMs` (and not expired at it). */
  expiringWithin?: number | undefined;
  /** The time the answer is for, milliseconds (default: now). */
  nowMs?: number;
}

export function createSecretsService(deps: SecretsDeps) {
  const { store, audit } = deps;
  const writes = createSecretWrites(deps);
  const fetch = createSecretFetch(deps);

  return {
    /**
     * Every secret by key; with `expiringWithin` (seconds), only those not expired at `nowMs`
     * that expire within it, soonest first (the store filters and orders).
     */
    async list(principal: Principal, options: ListOptions = {}): Promise<SecretMeta[]> {
      authorize(principal, 'secrets.list');
      const { expiringWithin, nowMs = Date.now() } = options;
      let all: SecretMeta[];
      if (expiringWithin === undefined) all = await store.listSecrets(principal.workspaceId);
      else {
        const now = Math.floor(nowMs / 1000);
        all = await store.listExpiringSecrets(principal.workspaceId, now, now + expiringWithin);
      }
      // A service token sees only what its app and environment may use.
      return principal.kind === 'token' ? all.filter((m) => scopeError(m, m.key, principal) === null) : all;
    },

    async metadata(principal: Principal, key: string): Promise<SecretMeta> {
      authorize(principal, 'secrets.list');
      const meta = await store.getSecretMeta(principal.workspaceId, key);
      if (!meta) throw notFound(key);
      if (principal.kind === 'token') {
        const refused = forCaller(principal, scopeError(meta, key, principal), key);
        if (refused) throw refused;
      }
      return meta;
    },

    /** The value of the current version, or of an older recorded one; on record before it leaves. */
    fetch,

    /** The recorded versions, newest first: metadata only. */
    async versions(principal: Principal, key: string): Promise<SecretVersionMeta[]> {
      authorize(principal, 'secrets.history');
      const versions = await store.listVersions(principal.workspaceId, key);
      if (!versions) throw notFound(key);
      return versions;
    },

    /** Makes a new version holding the value of an older one. */
    async rollback(principal: Principal, key: string, version: number): Promise<SecretMeta> {
      return audit.guard(
        principal,
        'secret.rollback',
        { key, detail: { from_version: version } },
        async () => {
          authorize(principal, 'secrets.write');
          const old = await sealedVersion(store, principal, key, version);
          await writes.quota.assertRoom(principal.workspaceId, key, old.length - SEALED_OVERHEAD);
          return writes.change(
            principal,
            key,
            'secret.rollback',
            async (current, now, keys) => {
              const value = await openSealed(keys, current, version, old);
              const next = current.version + 1;
              return {
                updatedAt: now,
                version: next,
                sealed: await sealSecret(
                  keys,
                  { workspaceId: current.workspaceId, secretId: current.id, version: next },
                  value,
                ),
              };
            },
            { from_version: version },
          );
        },
      );
    },

    async create(principal: Principal, input: CreateSecretInput): Promise<SecretMeta> {
      return audit.guard(principal, 'secret.create', { key: input.key }, () =>
        writes.create(principal, input),
      );
    },

    /**
     * Changes metadata and/or the value; a new value is sealed as the next version. With
     * `ifVersion`, nothing changes unless the current version is that one (409 otherwise).
     */
    async update(
      principal: Principal,
      key: string,
      patch: UpdateSecretInput,
      ifVersion?: number,
    ): Promise<SecretMeta> {
      return audit.guard(principal, 'secret.update', { key, detail: { fields: changedNames(patch) } }, () =>
        writes.update(principal, key, patch, ifVersion),
      );
    },

    /** Creates many secrets; with `overwrite`, updates the ones that exist (secret-import.ts). */
    async importMany(
      principal: Principal,
      items: readonly ImportItem[],
      overwrite: boolean,
    ): Promise<ImportResult[]> {
      return importSecrets(writes, audit, principal, items, overwrite);
    },

    async delete(principal: Principal, key: string): Promise<void> {
      await audit.guard(principal, 'secret.delete', { key }, async () => {
        authorize(principal, 'secrets.delete');
        const deleted = await store.deleteSecret(
          principal.workspaceId,
          key,
          audit.entry(principal, 'secret.delete', { key }),
        );
        if (!deleted) throw notFound(key);
      });
    },

    /** Disables a secret without deleting it. Revoking a revoked secret keeps its first revoke time. */
    async revoke(principal: Principal, key: string): Promise<SecretMeta> {
      return audit.guard(principal, 'secret.revoke', { key }, async () => {
        authorize(principal, 'secrets.revoke');
        return writes.change(principal, key, 'secret.revoke', async (current, now) =>
          current.revokedAt === null ? { revokedAt: now, updatedAt: now } : null,
        );
      });
    },

    async restore(principal: Principal, key: string): Promise<SecretMeta> {
      return audit.guard(principal, 'secret.restore', { key }, async () => {
        authorize(principal, 'secrets.revoke');
        return writes.change(principal, key, 'secret.restore', async (current, now) =>
          current.revokedAt === null ? null : { revokedAt: null, updatedAt: now },
        );
      });
    },
  };
}
