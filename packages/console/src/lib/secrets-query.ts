/**
 * Filtering and sorting the list of secrets in the browser. A workspace may hold 100,000
 * secrets: everything here is one pass over an index built once per list (lower-cased keys
 * and descriptions), so a keystroke in the search box costs a few milliseconds.
 */
import type { Secret } from '@ductape/sdk';
import { markerOf, type Marker } from './secret-state.js';

export type SortField = 'key' | 'status' | 'type' | 'apps' | 'envs' | 'expires' | 'updated';
export interface Sort {
  field: SortField;
  descending: boolean;
}

export interface Filters {
  search: string;
  /** An app tag: secrets this app may use (its scope names it, or is empty). '' for all. */
  app: string;
  /** An environment slug, likewise. '' for all. */
  env: string;
  /** A marker, or '' for all. */
  status: Marker | '';
}

export const NO_FILTERS: Filters = { search: '', app: '', env: '', status: '' };

export interface IndexedSecret {
  secret: Secret;
  /** Key and description, lower-cased, for the search box. */
  haystack: string;
  marker: Marker;
}

export interface SecretIndex {
  rows: IndexedSecret[];
  apps: string[];
  envs: string[];
}

export function indexSecrets(secrets: Secret[], nowSeconds: number): SecretIndex {
  const apps = new Set<string>();
  const envs = new Set<string>();
  const rows = secrets.map((secret) => {
    for (const app of secret.scope) apps.add(app);
    for (const env of secret.envs) envs.add(env);
    const haystack = `${secret.key}\n${secret.description ?? ''}`.toLowerCase();
    return { secret, haystack, marker: markerOf(secret, nowSeconds) };
  });
  return { rows, apps: [...apps].sort(), envs: [...envs].sort() };
}

const usableBy = (list: string[], wanted: string): boolean => list.length === 0 || list.includes(wanted);

/** The rows that pass every filter, in the order given (sort first, once, then filter per keystroke). */
export function filterSecrets(rows: IndexedSecret[], filters: Filters): IndexedSecret[] {
  const needle = filters.search.trim().toLowerCase();
  if (needle === '' && filters.app === '' && filters.env === '' && filters.status === '') return rows;
  return rows.filter(
    (row) =>
      (needle === '' || row.haystack.includes(needle)) &&
      (filters.app === '' || usableBy(row.secret.scope, filters.app)) &&
      (filters.env === '' || usableBy(row.secret.envs, filters.env)) &&
      (filters.status === '' || row.marker === filters.status),
  );
}

const MARKER_ORDER: Record<Marker, number> = { expired: 0, revoked: 1, expiring: 2, active: 3 };

function compare(a: IndexedSecret, b: IndexedSecret, field: SortField): number {
  const x = a.secret;
  const y = b.secret;
  switch (field) {
    case 'key':
      return x.key < y.key ? -1 : x.key > y.key ? 1 : 0;
    case 'status':
      return MARKER_ORDER[a.marker] - MARKER_ORDER[b.marker];
    case 'type':
      return (x.token_type ?? '').localeCompare(y.token_type ?? '');
    case 'apps':
      return x.scope.join(',').localeCompare(y.scope.join(','));
    case 'envs':
      return x.envs.join(',').localeCompare(y.envs.join(','));
    case 'expires':
      // No expiry sorts last, as "furthest away".
      return (x.expires_at ?? Number.MAX_SAFE_INTEGER) - (y.expires_at ?? Number.MAX_SAFE_INTEGER);
    case 'updated':
      return x.updatedAt < y.updatedAt ? -1 : x.updatedAt > y.updatedAt ? 1 : 0;
  }
}

/** A sorted copy; ties keep key order, so the list never jumps between renders. */
export function sortSecrets(rows: IndexedSecret[], sort: Sort): IndexedSecret[] {
  const sign = sort.descending ? -1 : 1;
  return [...rows].sort((a, b) => sign * compare(a, b, sort.field) || compare(a, b, 'key'));
}
