/**
 * What a revoke or delete will break, said before it happens: the apps and environments
 * that can use the secret now, and the active service tokens bound to one of them.
 */
import type { Secret, ServiceToken } from '@ductape/sdk';

export function usersOf(secret: Pick<Secret, 'scope' | 'envs'>): string {
  const apps =
    secret.scope.length === 0
      ? 'every app'
      : `the app${secret.scope.length === 1 ? '' : 's'} ${secret.scope.join(', ')}`;
  const envs =
    secret.envs.length === 0
      ? 'every environment'
      : `the environment${secret.envs.length === 1 ? '' : 's'} ${secret.envs.join(', ')}`;
  return `${apps} in ${envs}`;
}

/** Active service tokens whose app and environment may use this secret. */
export function tokensUsing(secret: Pick<Secret, 'scope' | 'envs'>, tokens: ServiceToken[]): ServiceToken[] {
  return tokens.filter(
    (token) =>
      token.status === 'active' &&
      (secret.scope.length === 0 || secret.scope.includes(token.app)) &&
      (secret.envs.length === 0 || secret.envs.includes(token.env)),
  );
}
