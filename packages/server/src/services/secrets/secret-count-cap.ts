/**
 * The most secrets one workspace may hold (DUCTAPE_MAX_SECRETS_PER_WORKSPACE).
 *
 * Count, then insert: creates racing each other can each see room and overshoot the cap by
 * their number. Acceptable: this is a safety cap against runaway growth, not a quota anyone
 * is billed on.
 */
import { AppError } from '../../errors.js';
import type { Store } from '../../store/types.js';
import type { Principal } from '../identity/principal.js';

/** How far below the cap a recent count is trusted instead of counting again. */
const COUNT_MARGIN = 1000;

export const secretExists = (key: string): AppError =>
  new AppError('SECRET_EXISTS', `Secret '${key}' already exists in this workspace`, 'key');

export function createSecretCountCap(
  store: Pick<Store, 'countSecrets' | 'getSecretMeta'>,
  maxSecretsPerWorkspace: number,
) {
  /** Recent secret counts per workspace, raised by each create meanwhile. */
  const roomCounts = new Map<string, { n: number; at: number }>();

  return {
    /** Refuses (409 WORKSPACE_FULL) a new secret in a workspace that holds the maximum. */
    async assertRoom(principal: Principal, key: string): Promise<void> {
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
    },
  };
}
