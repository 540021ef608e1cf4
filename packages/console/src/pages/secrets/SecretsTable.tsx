import { useRef } from 'preact/hooks';
import { StatusBadge } from '../../components/StatusBadge.js';
import { useVirtualRows } from '../../components/useVirtualRows.js';
import { appsText, envsText, formatDay } from '../../lib/secret-state.js';
import type { IndexedSecret, Sort, SortField } from '../../lib/secrets-query.js';

export const COLUMNS: { field: SortField; label: string }[] = [
  { field: 'key', label: 'Key' },
  { field: 'status', label: 'Status' },
  { field: 'type', label: 'Type' },
  { field: 'apps', label: 'Apps' },
  { field: 'envs', label: 'Environments' },
  { field: 'expires', label: 'Expires' },
  { field: 'updated', label: 'Updated' },
];

/**
 * The secrets as a table (ARIA table roles on a CSS grid, so that only the visible rows
 * exist in the DOM while a screen reader still hears "row 5,012 of 10,001").
 */
export function SecretsTable({
  rows,
  sort,
  onSort,
  now,
}: {
  rows: IndexedSecret[];
  sort: Sort;
  onSort: (field: SortField) => void;
  now: number;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const { start, end, rowHeight } = useVirtualRows(scroller, rows.length, { wide: 44, narrow: 76 });
  return (
    <div role="table" aria-label="Secrets" aria-rowcount={rows.length + 1} class="grid secrets-grid">
      <div role="rowgroup" class="grid-head">
        <div role="row" aria-rowindex={1} class="grid-row">
          {COLUMNS.map(({ field, label }) => (
            <div
              role="columnheader"
              key={field}
              class={`cell col-${field}`}
              aria-sort={sort.field === field ? (sort.descending ? 'descending' : 'ascending') : undefined}
            >
              <button type="button" class="sort" onClick={() => onSort(field)}>
                {label}
                <span aria-hidden="true" class="sort-mark">
                  {sort.field === field ? (sort.descending ? '▼' : '▲') : ''}
                </span>
              </button>
            </div>
          ))}
        </div>
      </div>
      <div role="rowgroup" class="grid-body" ref={scroller}>
        <div class="grid-spacer" style={{ height: `${rows.length * rowHeight}px` }}>
          {rows.slice(start, end).map(({ secret }, offset) => {
            const index = start + offset;
            return (
              <div
                role="row"
                key={secret._id}
                aria-rowindex={index + 2}
                class="grid-row"
                style={{ top: `${index * rowHeight}px`, height: `${rowHeight}px` }}
              >
                <div role="cell" class="cell col-key">
                  <a href={`/secrets/${encodeURIComponent(secret.key)}`} class="mono">
                    {secret.key}
                  </a>
                </div>
                <div role="cell" class="cell col-status">
                  <StatusBadge secret={secret} now={now} />
                </div>
                <div role="cell" class="cell col-type">
                  {secret.token_type ?? '—'}
                </div>
                <div role="cell" class="cell col-apps">
                  {appsText(secret)}
                </div>
                <div role="cell" class="cell col-envs">
                  {envsText(secret)}
                </div>
                <div role="cell" class="cell col-expires">
                  {secret.expires_at === null ? 'never' : formatDay(secret.expires_at)}
                </div>
                <div role="cell" class="cell col-updated">
                  {formatDay(secret.updatedAt)}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
