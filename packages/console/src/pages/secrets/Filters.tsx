import type { Marker } from '../../lib/secret-state.js';
import type { Filters, Sort, SortField } from '../../lib/secrets-query.js';
import { COLUMNS } from './SecretsTable.js';

const STATUSES: { value: Marker | ''; label: string }[] = [
  { value: '', label: 'Any status' },
  { value: 'active', label: 'Active' },
  { value: 'expiring', label: 'Expiring within 7 days' },
  { value: 'expired', label: 'Expired' },
  { value: 'revoked', label: 'Revoked' },
];

/** Search, filters and sorting; every control labelled and always visible. */
export function FilterBar({
  filters,
  onFilters,
  sort,
  onSort,
  apps,
  envs,
}: {
  filters: Filters;
  onFilters: (next: Filters) => void;
  sort: Sort;
  onSort: (next: Sort) => void;
  apps: string[];
  envs: string[];
}) {
  const set = (patch: Partial<Filters>) => onFilters({ ...filters, ...patch });
  return (
    <div class="filters" role="search">
      <div class="filter search">
        <label for="search">Search</label>
        <input
          id="search"
          type="search"
          value={filters.search}
          placeholder="Key or description"
          spellcheck={false}
          autocomplete="off"
          onInput={(event) => set({ search: event.currentTarget.value })}
        />
      </div>
      <div class="filter">
        <label for="filter-app">App</label>
        <select
          id="filter-app"
          value={filters.app}
          onChange={(event) => set({ app: event.currentTarget.value })}
        >
          <option value="">Any app</option>
          {apps.map((app) => (
            <option key={app} value={app}>
              {app}
            </option>
          ))}
        </select>
      </div>
      <div class="filter">
        <label for="filter-env">Environment</label>
        <select
          id="filter-env"
          value={filters.env}
          onChange={(event) => set({ env: event.currentTarget.value })}
        >
          <option value="">Any environment</option>
          {envs.map((env) => (
            <option key={env} value={env}>
              {env}
            </option>
          ))}
        </select>
      </div>
      <div class="filter">
        <label for="filter-status">Status</label>
        <select
          id="filter-status"
          value={filters.status}
          onChange={(event) => set({ status: event.currentTarget.value as Marker | '' })}
        >
          {STATUSES.map((status) => (
            <option key={status.value} value={status.value}>
              {status.label}
            </option>
          ))}
        </select>
      </div>
      <div class="filter">
        <label for="sort-by">Sort by</label>
        <select
          id="sort-by"
          value={`${sort.field}:${sort.descending ? 'desc' : 'asc'}`}
          onChange={(event) => {
            const [field, direction] = event.currentTarget.value.split(':') as [SortField, string];
            onSort({ field, descending: direction === 'desc' });
          }}
        >
          {COLUMNS.flatMap(({ field, label }) => [
            <option key={`${field}:asc`} value={`${field}:asc`}>
              {label}, ascending
            </option>,
            <option key={`${field}:desc`} value={`${field}:desc`}>
              {label}, descending
            </option>,
          ])}
        </select>
      </div>
    </div>
  );
}
