import { useRef } from 'preact/hooks';
import { useVirtualRows } from '../../components/useVirtualRows.js';
import type { IndexedSecret } from '../../lib/secrets-query.js';

/**
 * Keys as rows, environments as columns: where each key is available and where it is
 * missing, at a glance. A key with no environment list is available in every environment.
 * With `selectable`, each row has a checkbox for the bulk "add an environment" action.
 */
export function AvailabilityMatrix({
  rows,
  envs,
  selected,
  onToggle,
  onToggleAll,
  selectable,
}: {
  rows: IndexedSecret[];
  envs: string[];
  selected: ReadonlySet<string>;
  onToggle: (key: string) => void;
  onToggleAll: (checked: boolean) => void;
  selectable: boolean;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const { start, end, rowHeight } = useVirtualRows(scroller, rows.length, { wide: 40, narrow: 44 });
  const template = {
    gridTemplateColumns: `${selectable ? '2.75rem ' : ''}minmax(11rem, 2fr) repeat(${envs.length}, minmax(5.5rem, 1fr))`,
  };
  const allSelected = rows.length > 0 && rows.every((row) => selected.has(row.secret.key));
  return (
    <div class="matrix-scroll">
      <div
        role="table"
        aria-label="Availability by environment"
        aria-rowcount={rows.length + 1}
        class="grid matrix-grid"
        style={{ minWidth: `${(selectable ? 3 : 0) + 12 + envs.length * 6}rem` }}
      >
        <div role="rowgroup" class="grid-head">
          <div role="row" aria-rowindex={1} class="grid-row" style={template}>
            {selectable ? (
              <div role="columnheader" class="cell check-cell">
                <input
                  type="checkbox"
                  aria-label="Select every key shown"
                  checked={allSelected}
                  onChange={(event) => onToggleAll(event.currentTarget.checked)}
                />
              </div>
            ) : null}
            <div role="columnheader" class="cell">
              Key
            </div>
            {envs.map((env) => (
              <div role="columnheader" class="cell env-col" key={env}>
                {env}
              </div>
            ))}
          </div>
        </div>
        <div role="rowgroup" class="grid-body" ref={scroller}>
          <div class="grid-spacer" style={{ height: `${rows.length * rowHeight}px` }}>
            {rows.slice(start, end).map(({ secret }, offset) => {
              const index = start + offset;
              const everywhere = secret.envs.length === 0;
              return (
                <div
                  role="row"
                  key={secret._id}
                  aria-rowindex={index + 2}
                  class="grid-row"
                  style={{ ...template, top: `${index * rowHeight}px`, height: `${rowHeight}px` }}
                >
                  {selectable ? (
                    <div role="cell" class="cell check-cell">
                      <input
                        type="checkbox"
                        aria-label={`Select ${secret.key}`}
                        checked={selected.has(secret.key)}
                        onChange={() => onToggle(secret.key)}
                      />
                    </div>
                  ) : null}
                  <div role="cell" class="cell">
                    <a href={`/secrets/${encodeURIComponent(secret.key)}`} class="mono">
                      {secret.key}
                    </a>
                  </div>
                  {envs.map((env) =>
                    everywhere ? (
                      <div role="cell" class="cell avail avail-all" key={env}>
                        <span aria-hidden="true">✓</span>all
                      </div>
                    ) : secret.envs.includes(env) ? (
                      <div role="cell" class="cell avail avail-yes" key={env}>
                        <span aria-hidden="true">✓</span>yes
                      </div>
                    ) : (
                      <div role="cell" class="cell avail avail-no" key={env}>
                        <span aria-hidden="true">✗</span>missing
                      </div>
                    ),
                  )}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}
