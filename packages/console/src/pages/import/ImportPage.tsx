/**
 * Import a `.env` or JSON file: paste it or drop it, see what will be created (or updated)
 * and what fails validation, then import in batches with a progress bar. Values are never
 * shown in the preview, only their length.
 */
import type { ImportResult } from '@ductape/sdk';
import { useMemo, useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { Page } from '../../components/Page.js';
import { useLoad } from '../../components/useLoad.js';
import { messageOf } from '../../lib/errors.js';
import { can, useSession } from '../../lib/session.js';
import { splitList } from '../secret-form/form-values.js';
import { parseFile } from './parse-file.js';
import { outcomeOf, Preview } from './Preview.js';

/** Items per request (the API takes up to 500); small batches make the progress bar move. */
const BATCH = 100;

export function ImportPage() {
  const { session } = useSession();
  const client = session.client;
  const [text, setText] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [apps, setApps] = useState('');
  const [envs, setEnvs] = useState('');
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [results, setResults] = useState<ImportResult[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [existing] = useLoad(async () => new Set((await client.secrets.list()).map((s) => s.key)), [session]);

  const parsed = useMemo(() => parseFile(text), [text]);
  const known = existing.state === 'ready' ? existing.data : new Set<string>();
  // What the preview says will fail is not sent.
  const valid = parsed.items.filter((item) => outcomeOf(item, known, overwrite)[0] !== 'bad');

  if (!can(session.me, 'write')) {
    return (
      <Page title="Import">
        <Alert kind="error">Your role cannot create secrets.</Alert>
      </Page>
    );
  }

  const readFile = async (file: File | undefined) => {
    if (!file) return;
    setResults(null);
    setText(await file.text());
  };

  const run = async () => {
    setError(null);
    setResults(null);
    const scope = splitList(apps);
    const envList = splitList(envs);
    const items = valid.map(({ input }) => ({
      ...input,
      ...(scope.length > 0 ? { scope } : {}),
      ...(envList.length > 0 ? { envs: envList } : {}),
    }));
    const done: ImportResult[] = [];
    setProgress({ done: 0, total: items.length });
    try {
      for (let start = 0; start < items.length; start += BATCH) {
        const answer = await client.secrets.import({ secrets: items.slice(start, start + BATCH), overwrite });
        done.push(...answer.results);
        setProgress({ done: done.length, total: items.length });
      }
      // The pasted file holds values: forget it once imported.
      setText('');
    } catch (caught) {
      setError(`${messageOf(caught)} (${done.length} of ${items.length} were sent before this)`);
    }
    setResults(done);
    setProgress(null);
  };

  const counts = results && {
    created: results.filter((r) => r.status === 'created').length,
    updated: results.filter((r) => r.status === 'updated').length,
    refused: results.filter((r) => r.status === 'refused'),
  };

  return (
    <Page title="Import">
      <p>
        Paste a <code>.env</code> or JSON file below, or drop one on it. Nothing is sent until you click
        Import.
      </p>
      <div
        class={`field drop ${dragging ? 'dragging' : ''}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          void readFile(event.dataTransfer?.files[0]);
        }}
      >
        <label for="import-text">File contents</label>
        <textarea
          id="import-text"
          class="mono"
          rows={8}
          value={text}
          spellcheck={false}
          autocomplete="off"
          placeholder={'DATABASE_URL=postgres://…\nSTRIPE_API_KEY="sk_live_…"'}
          onInput={(event) => {
            setResults(null);
            setText(event.currentTarget.value);
          }}
        />
        <label for="import-file">Or choose a file</label>
        <input
          id="import-file"
          type="file"
          accept=".env,.json,text/plain,application/json"
          onChange={(event) => void readFile(event.currentTarget.files?.[0])}
        />
      </div>
      <div class="form-grid">
        <div class="field">
          <label for="import-apps">Apps for every imported key</label>
          <input
            id="import-apps"
            value={apps}
            onInput={(e) => setApps(e.currentTarget.value)}
            spellcheck={false}
          />
          <p class="hint">Optional; empty keeps each item's own (or every app)</p>
        </div>
        <div class="field">
          <label for="import-envs">Environments for every imported key</label>
          <input
            id="import-envs"
            value={envs}
            onInput={(e) => setEnvs(e.currentTarget.value)}
            spellcheck={false}
          />
          <p class="hint">Optional; empty keeps each item's own (or every environment)</p>
        </div>
      </div>
      <label class="check">
        <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.currentTarget.checked)} />{' '}
        Update keys that already exist
      </label>
      {parsed.errors.length > 0 ? (
        <Alert kind="error">
          <ul>
            {parsed.errors.map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
        </Alert>
      ) : null}
      {parsed.items.length > 0 ? (
        <Preview items={parsed.items} existing={known} overwrite={overwrite} />
      ) : null}
      <div class="button-row">
        <button
          type="button"
          class="primary"
          disabled={valid.length === 0 || progress !== null}
          onClick={run}
        >
          {`Import ${valid.length} secret${valid.length === 1 ? '' : 's'}`}
        </button>
      </div>
      {progress ? (
        <div class="progress">
          <label for="import-progress">
            Importing: {progress.done} of {progress.total}
          </label>
          <progress id="import-progress" max={progress.total} value={progress.done} />
        </div>
      ) : null}
      {error ? <Alert kind="error">{error}</Alert> : null}
      {counts ? (
        <Alert kind={counts.refused.length > 0 ? 'error' : 'success'}>
          <p>
            Imported: {counts.created} created, {counts.updated} updated, {counts.refused.length} refused.
          </p>
          {counts.refused.length > 0 ? (
            <ul>
              {counts.refused.map((r, i) => (
                <li key={`${r.key}-${i}`}>
                  <code>{r.key}</code>: {r.message}
                </li>
              ))}
            </ul>
          ) : null}
        </Alert>
      ) : null}
    </Page>
  );
}
