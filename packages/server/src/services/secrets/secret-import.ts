/**
 * Importing many secrets: each item stands alone (one refused item does not stop the
 * others), and each leaves its own audit entry: created, updated, or refused with its code.
 */
import type { CreateSecretInput, ImportResult } from '@ductape/sdk';
import { AppError } from '../../errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../identity/principal.js';
import { authorize } from '../identity/roles.js';
import type { SecretWrites } from './secret-writes.js';

/** An item as it arrives: validated, or the refusal its validation produced. */
export type ImportItem = CreateSecretInput | { key: string; refused: AppError };

/**
 * Creates the items; with `overwrite`, updates the ones that exist (value and the metadata
 * given).
 */
export async function importSecrets(
  writes: Pick<SecretWrites, 'create' | 'update'>,
  audit: Pick<AuditService, 'refused'>,
  principal: Principal,
  items: readonly ImportItem[],
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
    await audit.refused(principal.workspaceId, principal, action, { key, detail: { import: true } }, error);
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
      await writes.create(principal, item, { import: true });
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
        await writes.update(principal, key, patch, undefined, { import: true });
        results.push({ key, status: 'updated' });
      } catch (updateError) {
        // e.g. deleted meanwhile: report it, go on with the rest.
        if (!(updateError instanceof AppError) || updateError.status >= 500) throw updateError;
        await refuse(key, 'secret.update', updateError);
      }
    }
  }
  return results;
}
