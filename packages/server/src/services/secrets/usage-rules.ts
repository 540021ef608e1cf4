/**
 * The rules for using a secret from an app in an environment, checked in this order, each
 * with the original product's message; the first that fails decides:
 *   1. it exists                      Secret 'X' not found
 *   2. its scope includes the app     Secret 'X' is not accessible by app 'Y'
 *   3. its envs include the env       Secret 'X' is not available in environment 'dev'
 *   4. it is not revoked              Secret 'X' has been revoked
 *   5. it has not expired             Secret 'X' has expired
 * An empty scope means every app and empty envs every environment. When a secret is
 * restricted and no app (or env) is given, that is a refusal, not a pass.
 *
 * Users get these precise answers. A service token does not: a key outside its app and
 * environment is answered exactly as a key that does not exist (see `forCaller`).
 */
import { AppError, notFound } from '../../errors.js';
import type { SecretMeta } from '../../store/types.js';
import type { Principal } from '../identity/principal.js';
import { stateError } from './secret-state.js';

export interface UsageContext {
  app: string | undefined;
  env: string | undefined;
}

/** Whether a secret is meant for this app and environment (rules 2 and 3 only). */
export function inScope(meta: Pick<SecretMeta, 'scope' | 'envs'>, ctx: UsageContext): boolean {
  return scopeError(meta, 'x', ctx) === null;
}

/** Rules 2 and 3: the scope and envs of the secret against the app and environment. */
export function scopeError(
  meta: Pick<SecretMeta, 'scope' | 'envs'>,
  key: string,
  ctx: UsageContext,
): AppError | null {
  if (meta.scope.length > 0) {
    if (ctx.app === undefined) {
      return new AppError(
        'SECRET_SCOPE_DENIED',
        `Secret '${key}' is restricted to certain apps; say which app uses it (app)`,
        'app',
      );
    }
    if (!meta.scope.includes(ctx.app)) {
      return new AppError(
        'SECRET_SCOPE_DENIED',
        `Secret '${key}' is not accessible by app '${ctx.app}'`,
        'app',
      );
    }
  }
  if (meta.envs.length > 0) {
    if (ctx.env === undefined) {
      return new AppError(
        'SECRET_ENV_DENIED',
        `Secret '${key}' is restricted to certain environments; say which environment (env)`,
        'env',
      );
    }
    if (!meta.envs.includes(ctx.env)) {
      return new AppError(
        'SECRET_ENV_DENIED',
        `Secret '${key}' is not available in environment '${ctx.env}'`,
        'env',
      );
    }
  }
  return null;
}

/** The first rule this secret breaks for this app and environment, or null when it may be used. */
export function usageError(
  meta: SecretMeta | undefined,
  key: string,
  ctx: UsageContext,
  nowMs = Date.now(),
): AppError | null {
  if (!meta) return notFound(key);
  return scopeError(meta, key, ctx) ?? stateError(meta, key, nowMs);
}

const OUT_OF_SCOPE = new Set(['SECRET_SCOPE_DENIED', 'SECRET_ENV_DENIED']);

/**
 * The refusal as the caller gets it. For a service token, a key outside its app or
 * environment is `Secret 'X' not found`, the very error of a missing key (same status, code,
 * message and no field), so a token cannot learn which keys exist beyond what it may use.
 * Both are decided after the same single read of the row and before any value is opened, so
 * they also take the same time. Users keep the precise reason.
 */
export function forCaller(principal: Principal, refused: AppError | null, key: string): AppError | null {
  if (refused !== null && principal.kind === 'token' && OUT_OF_SCOPE.has(refused.code)) return notFound(key);
  return refused;
}
