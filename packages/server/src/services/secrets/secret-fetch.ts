/**
 * Fetching a secret's value: where a value is decrypted and put on record. In order: the
 * caller's role, the usage rules for a service token (usage-rules.ts), the secret's state,
 * the version asked for; then the row's MAC is checked and the value opened
 * (secret-values.ts), and the read is written to the audit log before the value is returned.
 */
import type { Keyring } from '../../crypto/keyring.js';
import { AppError, notFound } from '../../errors.js';
import type { SecretMeta, SecretRow, SecretStore } from '../../store/secret-store.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../identity/principal.js';
import { authorize } from '../identity/roles.js';
import { stateError } from './secret-state.js';
import { openRecorded, openSecret } from './secret-values.js';
import { forCaller, usageError } from './usage-rules.js';

/** The sealed value of a recorded version; 404 when that version is not (or no longer) kept. */
export async function sealedVersion(
  store: SecretStore,
  principal: Principal,
  key: string,
  version: number,
): Promise<Buffer> {
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

/** A row without its sealed value and MAC, as one literal (a rest pattern copies a property at a time). */
function metaOf(row: SecretRow): SecretMeta {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    key: row.key,
    description: row.description,
    tokenType: row.tokenType,
    scope: row.scope,
    envs: row.envs,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export interface SecretFetchDeps {
  store: SecretStore;
  keyring: Pick<Keyring, 'open' | 'verifyRow'>;
  audit: Pick<AuditService, 'entry' | 'read' | 'guard'>;
}

export function createSecretFetch({ store, keyring, audit }: SecretFetchDeps) {
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
    const refused = stateError(row, key);
    if (refused) throw refused;
    const meta = metaOf(row);
    if (version === undefined || version === row.version) {
      return { meta, value: await openSecret(keyring, row) };
    }
    const old = await sealedVersion(store, principal, key, version);
    return { meta: { ...meta, version }, value: await openRecorded(keyring, row, version, old) };
  }

  /**
   * The value of the current version, or of an older recorded one when `version` is given;
   * refuses revoked and expired secrets with 410.
   */
  return async function fetch(
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
  };
}
