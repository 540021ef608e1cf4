/**
 * The rules of secrets: who may do what, what a status means, and how a value is sealed.
 * Inputs arrive validated (see http/schemas.ts); the service checks roles and state.
 */
import type { CreateSecretInput, ImportResult, UpdateSecretInput } from '@ductape/sdk';
import type { Keyring } from '../crypto/keyring.js';
import { AppError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { applyChanges, SEALED_OVERHEAD } from '../store/records.js';
import {
  DuplicateKeyError,
  type SecretChanges,
  type SecretMeta,
  type SecretRow,
  type SecretVersionMeta,
  type Store,
} from '../store/types.js';
import type { AuditService } from './audit.service.js';
import { actorId, type Principal } from './principal.js';
import { authorize } from './roles.js';
import { secretState } from './secret-state.js';
import { macOf, openRecorded, openSealed, openSecret, sealSecret, verifySecret } from './secret-values.js';
import { createStorageQuota } from './storage-quota.js';
import { forCaller, scopeError, usageError } from './usage.js';

export interface SecretsDeps {
  store: Pick<
    Store,
    | 'insertSecret'
    | 'getSecret'
    | 'getSecretMeta'
    | 'listSecrets'
    | 'modifySecret'
    | 'deleteSecret'
    | 'listVersions'
    | 'getSecretVersion'
    | 'countSecrets'
    | 'listSecretSizes'
    | 'valueBytes'
  >;
  keyring: Pick<Keyring, 'seal' | 'open' | 'rowMac' | 'verifyRow'>;
  audit: Pick<AuditService, 'entry' | 'write' | 'read' | 'guard' | 'refused'>;
  /** Most secrets one workspace may hold (DUCTAPE_MAX_SECRETS_PER_WORKSPACE). */
  maxSecretsPerWorkspace: number;
  /** Most bytes of values, versions included, one workspace may hold (DUCTAPE_WORKSPACE_QUOTA_BYTES). */
  workspaceQuotaBytes: number;
}

export type SecretsService = ReturnType<typeof createSecretsService>;

const secretExists = (key: string): AppError =>
  new AppError('SECRET_EXISTS', `Secret '${key}' already exists in this workspace`, 'key');

/** Which fields an update changed, for the audit entry (names only, never values). */
function changedNames(patch: UpdateSecretInput): string {
  return Object.keys(patch)
    .filter((name) => patch[name as keyof UpdateSecretInput] !== undefined)
    .sort()
    .join(',');
}

/** How far below the cap a recent count is trusted instead of counting again. */
const COUNT_MARGIN = 1000;

export function createSecretsService({
  store,
  keyring,
  audit,
  maxSecretsPerWorkspace,
  workspaceQuotaBytes,
}: SecretsDeps) {
  /** Recent secret counts per workspace (see assertRoom), raised by each create meanwhile. */
  const roomCounts = new Map<string, { n: number; at: number }>();
  const quota = createStorageQuota(store, workspaceQuotaBytes);

  /**
   * Refuses a new secret in a workspace that holds the maximum. Count, then insert: creates
   * racing each other can each see room and overshoot the cap by their number. Acceptable:
   * this is a safety cap against runaway growth, not a quota anyone is billed on.
   */
  async function assertRoom(principal: Principal, key: string): Promise<void> {
    const workspaceId = principal.workspaceId;
    const now = Date.now();
    // Far below the cap a count a few seconds old will do (counting is a scan of the
    // workspace's index, on every create otherwise); near it, every create counts afresh.
    const cached = roomCounts.get(workspaceId);
    if (cached && now - cached.at < 2000 && cached.n < maxSecretsPerWorkspace - COUNT_MARGIN) {
      cached.n += 1;
      return;
    }
    const n = await store.countSecrets(workspaceId);
    roomCounts.set(workspaceId, { n: n + 1, at: now });
    if (n < maxSecretsPerWorkspace) return;
    // An existing key is a conflict whatever the count (and import's overwrite updates it).
    if (await store.getSecretMeta(principal.workspaceId, key)) throw secretExists(key);
    throw new AppError(
      'WORKSPACE_FULL',
      `Secret '${key}' was not created: this workspace holds the maximum of ${maxSecretsPerWorkspace} secrets (DUCTAPE_MAX_SECRETS_PER_WORKSPACE); delete some first`,
    );
  }

  /** The size of a secret's current value (0 when it is gone: the change will say so). */
  async function currentBytes(principal: Principal, key: string): Promise<number> {
    const [sized] = await store.listSecretSizes(principal.workspaceId, { keys: [key] });
    return sized?.valueBytes ?? 0;
  }

  async function metaOr404(principal: Principal, key: string): Promise<SecretMeta> {
    const meta = await store.getSecretMeta(principal.workspaceId, key);
    if (!meta) throw notFound(key);
    return meta;
  }

  /**
   * Applies a change computed from the current row, atomically (see Store.modifySecret),
   * with its audit entry in the same transaction. A change that turns out to be no change
   * (revoking a revoked secret) is recorded too, as already done.
   */
  async function change(
    principal: Principal,
    key: string,
    action: 'secret.update' | 'secret.rollback' | 'secret.revoke' | 'secret.restore',
    compute: (current: SecretRow, now: number) => Promise<SecretChanges | null>,
    detail: Record<string, string | number | boolean> = {},
  ): Promise<SecretMeta> {
    let unchanged = false;
    const written = await store.modifySecret(
      principal.workspaceId,
      key,
      // updatedAt always moves forward, even within one millisecond.
      async (current) => {
        // A change never builds on a row altered behind the server's back: that would give
        // the altered key, scope or status a MAC of their own.
        await verifySecret(keyring, current);
        const changes = await compute(current, Math.max(Date.now(), current.updatedAt + 1));
        unchanged = changes === null;
        if (changes) changes.mac = await macOf(keyring, applyChanges(current, changes));
        return changes;
      },
      actorId(principal),
      (row) => audit.entry(principal, action, { key, version: row.version, detail }),
    );
    if (!written) throw notFound(key);
    if (unchanged) {
      await audit.write(
        audit.entry(principal, action, {
          key,
          version: written.version,
          detail: { ...detail, unchanged: true },
        }),
      );
    }
    return written;
  }

  /** The sealed value of a recorded version; 404 when that version is not (or no longer) kept. */
  async function sealedVersion(principal: Principal, key: string, version: number): Promise<Buffer> {
    const found = await store.getSecretVersion(principal.workspaceId, key, version);
    if (!found) throw notFound(key);
    if (!found.sealed) {
      throw new AppError(
        'VERSION_NOT_FOUND',
        `Secret '${key}' has no version ${version} (it may have been pruned)`,
        'version',
      );
    }
    return found.sealed;
  }

  /** Reads a value after every check: role, usage rules for tokens, state, version. */
  async function readValue(
    principal: Principal,
    key: string,
    version?: number,
  ): Promise<{ meta: SecretMeta; value: string }> {
    authorize(principal, 'secrets.use');
    const row = await store.getSecret(principal.workspaceId, key);
    if (principal.kind === 'token') {
      // A service token uses secrets: every usage rule, in the documented order.
      const refused = forCaller(principal, usageError(row, key, principal), key);
      if (refused) throw refused;
    }
    if (!row) throw notFound(key);
    const state = secretState(row);
    if (state === 'revoked') throw new AppError('SECRET_REVOKED', `Secret '${key}' has been revoked`);
    if (state === 'expired') throw new AppError('SECRET_EXPIRED', `Secret '${key}' has expired`);
    const { sealed: _sealed, mac: _mac, ...meta } = row;
    if (version === undefined || version === row.version) {
      return { meta, value: await openSecret(keyring, row) };
    }
    const old = await sealedVersion(principal, key, version);
    return { meta: { ...meta, version }, value: await openRecorded(keyring, row, version, old) };
  }

  async function createOne(
    principal: Principal,
    input: CreateSecretInput,
    detail?: Record<string, boolean>,
  ): Promise<SecretMeta> {
    authorize(principal, 'secrets.write');
    await assertRoom(principal, input.key);
    await quota.assertRoom(principal.workspaceId, input.key, Buffer.byteLength(input.value, 'utf8'));
    const now = Date.now();
    const id = newId();
    const version = 1;
    // Sealed when the store is ready to write it (see Store.insertSecret).
    const sealed = (): Promise<Buffer> =>
      sealSecret(keyring, { workspaceId: principal.workspaceId, secretId: id, version }, input.value);
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
      await store.insertSecret(
        { ...row, sealed, mac: () => macOf(keyring, row) },
        actorId(principal),
        audit.entry(principal, 'secret.create', { key: input.key, version, detail }),
      );
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw secretExists(input.key);
      throw error;
    }
    return row;
  }

  async function updateOne(
    principal: Principal,
    key: string,
    patch: UpdateSecretInput,
    ifVersion?: number,
    detail: Record<string, string | boolean> = {},
  ): Promise<SecretMeta> {
    authorize(principal, 'secrets.write');
    const fields = { fields: changedNames(patch), ...detail };
    // Every update records a version: the new value, or the current one again.
    await quota.assertRoom(principal.workspaceId, key, async () =>
      patch.value !== undefined ? Buffer.byteLength(patch.value, 'utf8') : currentBytes(principal, key),
    );
    return change(
      principal,
      key,
      'secret.update',
      async (current, now) => {
        if (ifVersion !== undefined && current.version !== ifVersion) {
          throw new AppError(
            'VERSION_CONFLICT',
            `Secret '${key}' is at version ${current.version}, not ${ifVersion}: it was changed meanwhile; fetch it and apply your change again`,
            'if_version',
          );
        }
        const changes: SecretChanges = { updatedAt: now };
        if (patch.description !== undefined) changes.description = patch.description;
        if (patch.token_type !== undefined) changes.tokenType = patch.token_type;
        if (patch.scope !== undefined) changes.scope = patch.scope;
        if (patch.envs !== undefined) changes.envs = patch.envs;
        if (patch.expires_at !== undefined) changes.expiresAt = patch.expires_at;
        // Every update is a new version, metadata-only ones too (the value carried over,
        // sealed anew for its new version): so a check-and-set also catches a concurrent
        // description or scope change, and no edit is ever lost silently.
        const value = patch.value ?? (await openSealed(keyring, current, current.version, current.sealed));
        changes.version = current.version + 1;
        changes.sealed = await sealSecret(
          keyring,
          { workspaceId: current.workspaceId, secretId: current.id, version: changes.version },
          value,
        );
        return changes;
      },
      fields,
    );
  }

  return {
    async list(principal: Principal): Promise<SecretMeta[]> {
      authorize(principal, 'secrets.list');
      const all = await store.listSecrets(principal.workspaceId);
      // A service token sees only what its app and environment may use.
      return principal.kind === 'token' ? all.filter((m) => scopeError(m, m.key, principal) === null) : all;
    },

    async metadata(principal: Principal, key: string): Promise<SecretMeta> {
      authorize(principal, 'secrets.list');
      const meta = await metaOr404(principal, key);
      if (principal.kind === 'token') {
        const refused = forCaller(principal, scopeError(meta, key, principal), key);
        if (refused) throw refused;
      }
      return meta;
    },

    /**
     * The secret with its decrypted value: the current version's, or an older recorded one's when
     * `version` is given. Refuses revoked and expired secrets with 410.
     */
    async fetch(
      principal: Principal,
      key: string,
      version?: number,
    ): Promise<{ meta: SecretMeta; value: string }> {
      return audit.guard(principal, 'secret.read', { key, version }, async () => {
        const read = await readValue(principal, key, version);
        // The read is on record before the value leaves: no entry, no value.
        await audit.read(audit.entry(principal, 'secret.read', { key, version: read.meta.version }));
        return read;
      });
    },

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
          const old = await sealedVersion(principal, key, version);
          await quota.assertRoom(principal.workspaceId, key, old.length - SEALED_OVERHEAD);
          return change(
            principal,
            key,
            'secret.rollback',
            async (current, now) => {
              const value = await openSealed(keyring, current, version, old);
              const next = current.version + 1;
              return {
                updatedAt: now,
                version: next,
                sealed: await sealSecret(
                  keyring,
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
      return audit.guard(principal, 'secret.create', { key: input.key }, () => createOne(principal, input));
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
        updateOne(principal, key, patch, ifVersion),
      );
    },

    /**
     * Creates many secrets; with `overwrite`, updates the ones that exist (value and the
     * metadata given). Each item stands alone: one refused item does not stop the others.
     * Items arrive validated, or as the refusal their validation produced. Each item leaves
     * its own audit entry: created, updated, or refused with its code.
     */
    async importMany(
      principal: Principal,
      items: readonly (CreateSecretInput | { key: string; refused: AppError })[],
      overwrite: boolean,
    ): Promise<ImportResult[]> {
      authorize(principal, 'secrets.write');
      const results: ImportResult[] = [];
      const refuse = async (
        key: string,
        action: 'secret.create' | 'secret.update',
        error: AppError,
        message?: string,
      ) => {
        await audit.refused(
          principal.workspaceId,
          principal,
          action,
          { key, detail: { import: true } },
          error,
        );
        results.push({ key, status: 'refused', code: error.code, message: message ?? error.message });
      };
      for (const item of items) {
        if ('refused' in item) {
          // The key of an item that failed validation is not recorded: it may not be a key at all.
          await audit.refused(
            principal.workspaceId,
            principal,
            'secret.create',
            { detail: { import: true } },
            item.refused,
          );
          results.push({
            key: item.key,
            status: 'refused',
            code: item.refused.code,
            message: item.refused.message,
          });
          continue;
        }
        try {
          await createOne(principal, item, { import: true });
          results.push({ key: item.key, status: 'created' });
        } catch (error) {
          if (
            error instanceof AppError &&
            (error.code === 'WORKSPACE_FULL' || error.code === 'WORKSPACE_QUOTA_EXCEEDED')
          ) {
            await refuse(item.key, 'secret.create', error);
            continue;
          }
          if (!(error instanceof AppError) || error.code !== 'SECRET_EXISTS') throw error;
          if (!overwrite) {
            await refuse(item.key, 'secret.create', error, `${error.message}; use overwrite to update it`);
            continue;
          }
          const { key, ...patch } = item;
          try {
            await updateOne(principal, key, patch, undefined, { import: true });
            results.push({ key, status: 'updated' });
          } catch (updateError) {
            // e.g. deleted meanwhile: report it, go on with the rest.
            if (!(updateError instanceof AppError) || updateError.status >= 500) throw updateError;
            await refuse(key, 'secret.update', updateError);
          }
        }
      }
      return results;
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
        return change(principal, key, 'secret.revoke', async (current, now) =>
          current.revokedAt === null ? { revokedAt: now, updatedAt: now } : null,
        );
      });
    },

    async restore(principal: Principal, key: string): Promise<SecretMeta> {
      return audit.guard(principal, 'secret.restore', { key }, async () => {
        authorize(principal, 'secrets.revoke');
        return change(principal, key, 'secret.restore', async (current, now) =>
          current.revokedAt === null ? null : { revokedAt: null, updatedAt: now },
        );
      });
    },
  };
}
