/**
 * The workspace's audit log (admins and owners): newest first, filtered by key, actor,
 * action and time, older pages loaded on scroll or with a button. Reading the log is itself
 * recorded by the server.
 */
import { ScrollRegion } from '../../components/ScrollRegion.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, type AuditQuery } from '@ductape/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { Page } from '../../components/Page.js';
import { messageOf } from '../../lib/errors.js';
import { formatDate } from '../../lib/secret-state.js';
import { can, useSession } from '../../lib/session.js';

const PAGE_SIZE = 50;

interface Filters {
  key: string;
  actor: string;
  action: string;
  since: string;
  until: string;
}
const EMPTY: Filters = { key: '', actor: '', action: '', since: '', until: '' };

function queryOf(filters: Filters): AuditQuery {
  const query: AuditQuery = { limit: PAGE_SIZE };
  if (filters.key.trim()) query.key = filters.key.trim();
  if (filters.actor.trim()) query.actor = filters.actor.trim();
  if (filters.action) query.action = filters.action as AuditAction;
  if (filters.since) query.since = new Date(filters.since);
  if (filters.until) query.until = new Date(filters.until);
  return query;
}

export function AuditPage() {
  const { session } = useSession();
  const client = session.client;
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const allowed = can(session.me, 'audit');

  const load = async (filters: Filters, after: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await client.audit.list({ ...queryOf(filters), ...(after ? { cursor: after } : {}) });
      setEntries((current) => (after ? [...current, ...page.entries] : page.entries));
      setCursor(page.next_cursor);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    if (allowed) void load(applied, null);
  }, [applied]);

  // The next page comes by itself when the end of the list scrolls into view.
  useEffect(() => {
    const element = sentinel.current;
    if (!element || !cursor || loading) return;
    const observer = new IntersectionObserver((seen) => {
      if (seen.some((entry) => entry.isIntersecting)) void load(applied, cursor);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [cursor, loading, applied]);

  if (!allowed) {
    return (
      <Page title="Audit log">
        <Alert kind="error">Reading the audit log needs the admin or owner role.</Alert>
      </Page>
    );
  }
  const set = (name: keyof Filters) => (event: Event) =>
    setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value });

  return (
    <Page title="Audit log">
      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(draft);
        }}
      >
        <div class="filter">
          <label for="audit-key">Key</label>
          <input id="audit-key" value={draft.key} onInput={set('key')} spellcheck={false} />
        </div>
        <div class="filter">
          <label for="audit-actor">Actor</label>
          <input
            id="audit-actor"
            value={draft.actor}
            onInput={set('actor')}
            spellcheck={false}
            placeholder="user or token id"
          />
        </div>
        <div class="filter">
          <label for="audit-action">Action</label>
          <select id="audit-action" value={draft.action} onChange={set('action')}>
            <option value="">Any action</option>
            {AUDIT_ACTIONS.map((action) => (
              <option key={action} value={action}>
                {action}
              </option>
            ))}
          </select>
        </div>
        <div class="filter">
          <label for="audit-since">Since</label>
          <input id="audit-since" type="datetime-local" value={draft.since} onInput={set('since')} />
        </div>
        <div class="filter">
          <label for="audit-until">Until</label>
          <input id="audit-until" type="datetime-local" value={draft.until} onInput={set('until')} />
        </div>
        <div class="filter filter-buttons">
          <button type="submit" class="primary">
            Apply filters
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setApplied(EMPTY);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <p class="hint">
        Chain verification: the API does not offer it; an operator runs <code>ductape audit verify</code> on
        the server, which checks every entry's MAC and the chain's head.
      </p>
      {error ? <Alert kind="error">{error}</Alert> : null}
      <ScrollRegion label="Audit entries">
        <table class="table stack audit" role="table">
          <caption class="visually-hidden">Audit entries, newest first</caption>
          <thead role="rowgroup">
            <tr role="row">
              <th scope="col" role="columnheader">
                When
              </th>
              <th scope="col" role="columnheader">
                Actor
              </th>
              <th scope="col" role="columnheader">
                Action
              </th>
              <th scope="col" role="columnheader">
                Key
              </th>
              <th scope="col" role="columnheader">
                Outcome
              </th>
              <th scope="col" role="columnheader">
                From
              </th>
            </tr>
          </thead>
          <tbody role="rowgroup">
            {entries.map((entry) => (
              <tr role="row" key={entry.seq}>
                <td role="cell" data-label="When">
                  {formatDate(entry.at)}
                </td>
                <td role="cell" data-label="Actor">
                  <span class="mono">{entry.actor.id ?? '—'}</span>
                  <span class="hint">
                    {' '}
                    {entry.actor.type}
                    {entry.actor.role ? ` · ${entry.actor.role}` : ''}
                  </span>
                </td>
                <td role="cell" data-label="Action" class="mono">
                  {entry.action}
                </td>
                <td role="cell" data-label="Key" class="mono">
                  {entry.key ?? ''}
                  {entry.version !== null ? ` v${entry.version}` : ''}
                </td>
                <td role="cell" data-label="Outcome">
                  <span class={`badge badge-${entry.outcome === 'success' ? 'active' : 'revoked'}`}>
                    {entry.outcome}
                  </span>
                  {entry.code ? <span class="hint"> {entry.code}</span> : null}
                </td>
                <td role="cell" data-label="From" class="mono">
                  {entry.client_ip ?? ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      {!loading && entries.length === 0 && !error ? <p class="empty">No entry matches.</p> : null}
      <div ref={sentinel} class="sentinel" />
      <div class="button-row">
        {cursor ? (
          <button type="button" onClick={() => void load(applied, cursor)} disabled={loading}>
            {loading ? 'Loading…' : 'Load older entries'}
          </button>
        ) : entries.length > 0 ? (
          <p class="hint">That is the oldest entry.</p>
        ) : null}
      </div>
    </Page>
  );
}
