/**
 * What a person needs to notice about a secret at a glance: revoked, expired, or expiring
 * soon. Pure, so the table, the matrix and the secret's page agree.
 */
import type { Secret } from '@ductape/sdk';

/** A secret expiring within this long is marked. */
export const EXPIRING_SOON_SECONDS = 7 * 24 * 60 * 60;

export type Marker = 'revoked' | 'expired' | 'expiring' | 'active';

export function markerOf(secret: Secret, nowSeconds: number): Marker {
  if (secret.status === 'revoked') return 'revoked';
  if (secret.status === 'expired') return 'expired';
  if (secret.expires_at !== null && secret.expires_at <= nowSeconds) return 'expired';
  if (secret.expires_at !== null && secret.expires_at - nowSeconds <= EXPIRING_SOON_SECONDS)
    return 'expiring';
  return 'active';
}

/** "in 3 days", "in 5 hours", "2 days ago": how far a unix time is from now. */
export function relativeTime(unixSeconds: number, nowSeconds: number): string {
  const delta = unixSeconds - nowSeconds;
  const abs = Math.abs(delta);
  const [amount, unit] =
    abs >= 86_400
      ? [Math.round(abs / 86_400), 'day']
      : abs >= 3600
        ? [Math.round(abs / 3600), 'hour']
        : [Math.max(1, Math.round(abs / 60)), 'minute'];
  const text = `${amount} ${unit}${amount === 1 ? '' : 's'}`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** What a status badge says: words, never colour alone. */
export function markerLabel(secret: Secret, nowSeconds: number): string {
  const marker = markerOf(secret, nowSeconds);
  if (marker === 'expiring') return `expires ${relativeTime(secret.expires_at as number, nowSeconds)}`;
  return marker;
}

/** Who can use a secret, in words: an empty list means every app / environment. */
export const appsText = (secret: Pick<Secret, 'scope'>): string =>
  secret.scope.length === 0 ? 'every app' : secret.scope.join(', ');
export const envsText = (secret: Pick<Secret, 'envs'>): string =>
  secret.envs.length === 0 ? 'every environment' : secret.envs.join(', ');

export const formatDate = (iso: string | number | null): string => {
  if (iso === null) return 'never';
  const date = typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
};

/** The day only, for table cells (the secret's own page shows the time too). */
export const formatDay = (iso: string | number): string =>
  (typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso)).toLocaleDateString(undefined, {
    dateStyle: 'medium',
  });
