/** What a secret's stored fields mean right now. */
import type { SecretMeta } from '../store/secret-store.js';

export type SecretState = 'active' | 'revoked' | 'expired';

export function secretState(
  meta: Pick<SecretMeta, 'revokedAt' | 'expiresAt'>,
  nowMs = Date.now(),
): SecretState {
  if (meta.revokedAt !== null) return 'revoked';
  if (meta.expiresAt !== null && meta.expiresAt * 1000 <= nowMs) return 'expired';
  return 'active';
}
