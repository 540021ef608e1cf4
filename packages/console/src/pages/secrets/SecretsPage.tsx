/**
 * The workspace's secrets: a table (or the availability matrix) with search, filters and
 * sorting, all in the browser over one list of metadata (never a value). Only the visible
 * rows are drawn, so 10,000 secrets load and filter without freezing.
 */
import { useLocation } from 'preact-iso';
import { useMemo, useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { Page } from '../../components/Page.js';
import { useLoad } from '../../components/useLoad.js';
import { can, useSession } from '../../lib/session.js';
import { filterSecrets, indexSecrets, NO_FILTERS, sortSecrets, type Sort } from '../../lib/secrets-query.js';
import { AddEnvironment } from './AddEnvironment.js';
import { AvailabilityMatrix } from './AvailabilityMatrix.js';
import { FilterBar } from './Filters.js';
import { SecretsTable } from './SecretsTable.js';

type View = 'table' | 'matrix';

export function SecretsPage() {
  const { session } = useSession();
  const { route } = useLocation();
  const [list, reload] = useLoad(() => session.client.secrets.list(), [session]);
  const [filters, setFilters] = useState(NO_FILTERS);
  const [sort, setSort] = useState<Sort>({ field: 'key', descending: false });
  const [view, setView] = useState<View>('table');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const now = Math.floor(Date.now() / 1000);

  const index = useMemo(
    () => (list.state === 'ready' ? indexSecrets(list.data, now) : indexSecrets([], now)),
    [list],
  );
  const sorted = useMemo(() => sortSecrets(index.rows, sort), [index, sort]);
  const rows = useMemo(() => filterSecrets(sorted, filters), [sorted, filters]);
  const writable = can(session.me, 'write');

  const toggle = (key: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  const toggleAll = (checked: boolean) =>
    setSelected(checked ? new Set(rows.map((row) => row.secret.key)) : new Set());

  return (
    <Page
      title="Secrets"
      actions={
        writable ? (
          <button type="button" class="primary" onClick={() => route('/secrets/new')}>
            New secret
          </button>
        ) : null
      }
    >
      <FilterBar
        filters={filters}
        onFilters={setFilters}
        sort={sort}
        onSort={setSort}
        apps={index.apps}
        envs={index.envs}
      />
      <div class="view-bar">
        <div class="segmented" role="group" aria-label="View">
          <button type="button" aria-pressed={view === 'table'} onClick={() => setView('table')}>
            List
          </button>
          <button type="button" aria-pressed={view === 'matrix'} onClick={() => setView('matrix')}>
            By environment
          </button>
        </div>
        <p class="count" role="status">
          {list.state === 'ready'
            ? `Showing ${rows.length.toLocaleString()} of ${index.rows.length.toLocaleString()} secrets`
            : ''}
        </p>
      </div>
      {list.state === 'loading' ? <p role="status">Loading secrets…</p> : null}
      {list.state === 'error' ? <Alert kind="error">{list.message}</Alert> : null}
      {list.state === 'ready' && index.rows.length === 0 ? (
        <p class="empty">
          No secrets yet.{writable ? ' Create one with “New secret”, or import a .env file.' : ''}
        </p>
      ) : null}
      {list.state === 'ready' && index.rows.length > 0 && rows.length === 0 ? (
        <p class="empty">No secret matches these filters.</p>
      ) : null}
      {list.state === 'ready' && rows.length > 0 && view === 'table' ? (
        <SecretsTable
          rows={rows}
          sort={sort}
          now={now}
          onSort={(field) =>
            setSort((current) => ({
              field,
              descending: current.field === field ? !current.descending : false,
            }))
          }
        />
      ) : null}
      {list.state === 'ready' && view === 'matrix' ? (
        <>
          {writable ? (
            <AddEnvironment
              client={session.client}
              chosen={index.rows.filter((row) => selected.has(row.secret.key)).map((row) => row.secret)}
              envs={index.envs}
              onDone={() => {
                setSelected(new Set());
                reload();
              }}
            />
          ) : null}
          {rows.length > 0 ? (
            <AvailabilityMatrix
              rows={rows}
              envs={index.envs}
              selected={selected}
              onToggle={toggle}
              onToggleAll={toggleAll}
              selectable={writable}
            />
          ) : null}
        </>
      ) : null}
    </Page>
  );
}
