import type { Secret } from '@ductape/sdk';
import { markerLabel, markerOf } from '../lib/secret-state.js';

/** Revoked, expired and expiring secrets are marked in words and colour. */
export function StatusBadge({ secret, now }: { secret: Secret; now: number }) {
  return <span class={`badge badge-${markerOf(secret, now)}`}>{markerLabel(secret, now)}</span>;
}
