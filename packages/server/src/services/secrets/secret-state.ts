/** What a secret's stored fields mean right now, and the refusal a secret that is not active answers. */
import { AppError } from '../../errors.js';
import type { SecretMeta } from '../../store/types.js';

export type SecretState = 'active' | 'revoked' | 'expired';

export function secretState(
  meta: Pick<SecretMeta, 'revokedAt' | 'expiresAt'>,
  nowMs = Date.now(),
): SecretState {
  if (meta.revokedAt !== null) return 'revoked';
  if (meta.expiresAt !== null && meta.expiresAt * 1000 <= nowMs) return 'expired';
  return 'active';
}

/** The 410 for a revoked or expired secret (the original product's messages); null when it is active. */
export function stateError(
  meta: Pick<SecretMeta, 'revokedAt' | 'expiresAt'>,
  key: string,
  nowMs = Date.now(),
): AppError | null {
  const state = secretState(meta, nowMs);
  if (state === 'revoked') return new AppError('SECRET_REVOKED', `Secret '${key}' has been revoked`);
  if (state === 'expired') return new AppError('SECRET_EXPIRED', `Secret '${key}' has expired`);
  return null;
}
