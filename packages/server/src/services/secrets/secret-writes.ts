/**
 * Writing secrets: a create, an update, and the atomic change every other write (rollback,
 * revoke, restore) goes through. A value is sealed for its own version; a row's MAC is
 * computed over what the change leaves; the audit entry is written in the change's own
 * transaction (see the Store's invariants).
 */
import type { CreateSecretInput, UpdateSecretInput } from '@ductape/sdk';
import type { Keyring } from '../../crypto/keyring.js';
import { AppError, notFound } from '../../errors.js';
import { newId } from '../../ids.js';
import { applyChanges } from '../../store/records.js';
import {
  DuplicateKeyError,
  type SecretChanges,
  type SecretMeta,
  type SecretRow,
  type Store,
} from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import { actorId, type Principal } from '../identity/principal.js';
import { authorize } from '../identity/roles.js';
import { createSecretCountCap, secretExists } from './secret-count-cap.js';
import { macOf, openSealed, sealSecret, verifySecret } from './secret-values.js';
import { createStorageQuota } from './storage-quota.js';

export interface SecretWritesDeps {
  store: Pick<
    Store,
    'insertSecret' | 'modifySecret' | 'listSecretSizes' | 'countSecrets' | 'getSecretMeta' | 'valueBytes'
  >;
  keyring: Pick<Keyring, 'seal' | 'open' | 'rowMac' | 'verifyRow'>;
  audit: Pick<AuditService, 'entry' | 'write'>;
  /** Most secrets one workspace may hold (DUCTAPE_MAX_SECRETS_PER_WORKSPACE). */
  maxSecretsPerWorkspace: number;
  /** Most bytes of values, versions included, one workspace may hold (DUCTAPE_WORKSPACE_QUOTA_BYTES). */
  workspaceQuotaBytes: number;
}

export type ChangeAction = 'secret.update' | 'secret.rollback' | 'secret.revoke' | 'secret.restore';

/** Which fields an update changed, for the audit entry (names only, never values). */
export function changedNames(patch: UpdateSecretInput): string {
  return Object.keys(patch)
    .filter((name) => patch[name as keyof UpdateSecretInput] !== undefined)
    .sort()
    .join(',');
}

export function createSecretWrites({
  store,
  keyring,
  audit,
  maxSecretsPerWorkspace,
  workspaceQuotaBytes,
}: SecretWritesDeps) {
  const countCap = createSecretCountCap(store, maxSecretsPerWorkspace);
  const quota = createStorageQuota(store, workspaceQuotaBytes);

  /** The size of a secret's current value (0 when it is gone: the change will say so). */
  async function currentBytes(principal: Principal, key: string): Promise<number> {
    const [sized] = await store.listSecretSizes(principal.workspaceId, { keys: [key] });
    return sized?.valueBytes ?? 0;
  }

  /**
   * Applies a change computed from the current row, atomically (see Store.modifySecret),
   * with its audit entry in the same transaction. A change that turns out to be no change
   * (revoking a revoked secret) is recorded too, as already done.
   */
  async function change(
    principal: Principal,
    key: string,
    action: ChangeAction,
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

  async function create(
    principal: Principal,
    input: CreateSecretInput,
    detail?: Record<string, boolean>,
  ): Promise<SecretMeta> {
    authorize(principal, 'secrets.write');
    await countCap.assertRoom(principal, input.key);
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

  async function update(
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

  return { change, create, update, quota };
}

export type SecretWrites = ReturnType<typeof createSecretWrites>;
