/**
 * The storage quota of a workspace: the bytes of its values, every recorded version
 * included (`Store.valueBytes`), may not pass DUCTAPE_WORKSPACE_QUOTA_BYTES. Checked before
 * every write that records a version (create, update, import, rollback); deleting secrets,
 * or keeping fewer versions, frees room.
 *
 * Check, then write: writes racing each other (on any number of nodes) can each see room and
 * overshoot the quota by what they add, at most 64 KiB each. Acceptable: the quota keeps a
 * workspace from growing without bound, it is not a bill.
 */
import { AppError } from '../../errors.js';
import type { Store } from '../../store/types.js';

/** How long a workspace's reading is trusted when far below the quota. */
const TRUST_MS = 2000;

export function quotaExceeded(
  key: string,
  quotaBytes: number,
  usedBytes: number,
  addBytes: number,
): AppError {
  return new AppError(
    'WORKSPACE_QUOTA_EXCEEDED',
    `Secret '${key}' was not written: its ${addBytes} bytes would take this workspace's values (versions included) ` +
      `from ${usedBytes} to more than its quota of ${quotaBytes} bytes (DUCTAPE_WORKSPACE_QUOTA_BYTES); ` +
      'delete secrets, or keep fewer versions (DUCTAPE_KEEP_VERSIONS), first',
  );
}

export function createStorageQuota(store: Pick<Store, 'valueBytes'>, quotaBytes: number) {
  /** Recent readings per workspace, raised by each write this process let through since. */
  const recent = new Map<string, { bytes: number; at: number }>();
  // Far below the quota a reading a few seconds old will do (one query less per write); near
  // it, every write reads afresh.
  const margin = Math.max(quotaBytes / 16, 1024 * 1024);

  return {
    /**
     * Refuses (409 WORKSPACE_QUOTA_EXCEEDED) a write of `addBytes` more that would take the
     * workspace past its quota. `addBytes` may be a function: its size is then asked for only
     * near the quota (64 KiB, the largest value, is assumed far below it).
     */
    async assertRoom(
      workspaceId: string,
      key: string,
      addBytes: number | (() => Promise<number>),
    ): Promise<void> {
      const now = Date.now();
      const cached = recent.get(workspaceId);
      const upTo = typeof addBytes === 'number' ? addBytes : 64 * 1024;
      if (cached && now - cached.at < TRUST_MS && cached.bytes + upTo + margin <= quotaBytes) {
        cached.bytes += upTo;
        return;
      }
      const used = await store.valueBytes(workspaceId);
      const adding = typeof addBytes === 'number' ? addBytes : await addBytes();
      if (used + adding > quotaBytes) {
        recent.delete(workspaceId);
        throw quotaExceeded(key, quotaBytes, used, adding);
      }
      recent.set(workspaceId, { bytes: used + adding, at: now });
      if (recent.size > 10_000) recent.delete(recent.keys().next().value as string);
    },
  };
}
