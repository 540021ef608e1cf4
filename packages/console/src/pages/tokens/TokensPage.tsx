/**
 * Service tokens (admins and owners): create one bound to an app, an environment and a
 * lifetime (the token is shown once), list them, revoke one (the confirmation names the
 * app and environment whose programs stop working).
 */
import { ScrollRegion } from '../../components/ScrollRegion.js';
import type { CreatedToken, ServiceToken } from '@ductape/sdk';
import { useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { Page } from '../../components/Page.js';
import { ShownOnce } from '../../components/ShownOnce.js';
import { useLoad } from '../../components/useLoad.js';
import { fieldOf, messageOf } from '../../lib/errors.js';
import { formatDate } from '../../lib/secret-state.js';
import { can, useSession } from '../../lib/session.js';

const LIFETIMES: [string, number][] = [
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['7 days', 7 * 86_400],
  ['30 days', 30 * 86_400],
  ['90 days', 90 * 86_400],
  ['365 days', 365 * 86_400],
];

export function TokensPage() {
  const { session } = useSession();
  const client = session.client;
  const allowed = can(session.me, 'tokens');
  const [tokens, reload] = useLoad(() => (allowed ? client.tokens.list() : Promise.resolve([])), [session]);
  const [app, setApp] = useState('');
  const [env, setEnv] = useState('');
  const [ttl, setTtl] = useState(String(30 * 86_400));
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [error, setError] = useState<{ field?: string | undefined; text: string } | null>(null);
  const [revoking, setRevoking] = useState<ServiceToken | null>(null);

  if (!allowed) {
    return (
      <Page title="Service tokens">
        <Alert kind="error">Managing service tokens needs the admin or owner role.</Alert>
      </Page>
    );
  }

  const create = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const token = await client.tokens.create({
        app: app.trim(),
        env: env.trim(),
        ttl_seconds: Number(ttl),
        ...(description.trim() ? { description: description.trim() } : {}),
      });
      setCreated(token);
      setApp('');
      setEnv('');
      setDescription('');
      reload();
    } catch (caught) {
      setError({ field: fieldOf(caught), text: messageOf(caught) });
    }
  };
  const errorFor = (field: string) =>
    error?.field === field ? (
      <p class="field-error" id={`token-error-${field}`}>
        {error.text}
      </p>
    ) : null;

  return (
    <Page title="Service tokens">
      {created ? (
        <ShownOnce
          title={`Token for ${created.app} in ${created.env}`}
          label="Service token"
          secret={created.token}
          details={[
            ['Token ID', created.token_id],
            ['Expires', formatDate(created.expires_at)],
          ]}
          onDone={() => setCreated(null)}
        />
      ) : null}
      <form class="form-grid token-form" onSubmit={create} noValidate>
        <div class="field">
          <label for="token-app">App</label>
          <input
            id="token-app"
            value={app}
            onInput={(e) => setApp(e.currentTarget.value)}
            required
            spellcheck={false}
            aria-describedby={error?.field === 'app' ? 'token-error-app' : undefined}
          />
          {errorFor('app')}
        </div>
        <div class="field">
          <label for="token-env">Environment</label>
          <input
            id="token-env"
            value={env}
            onInput={(e) => setEnv(e.currentTarget.value)}
            required
            spellcheck={false}
            aria-describedby={error?.field === 'env' ? 'token-error-env' : undefined}
          />
          {errorFor('env')}
        </div>
        <div class="field">
          <label for="token-ttl">Lifetime</label>
          <select id="token-ttl" value={ttl} onChange={(e) => setTtl(e.currentTarget.value)}>
            {LIFETIMES.map(([label, seconds]) => (
              <option key={seconds} value={String(seconds)}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="token-description">Description</label>
          <input
            id="token-description"
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
          {errorFor('description')}
        </div>
        <div class="field field-submit">
          <button type="submit" class="primary">
            Create token
          </button>
        </div>
      </form>
      {error && !['app', 'env', 'description'].includes(error.field ?? '') ? (
        <Alert kind="error">{error.text}</Alert>
      ) : null}
      {tokens.state === 'error' ? <Alert kind="error">{tokens.message}</Alert> : null}
      {tokens.state === 'ready' && tokens.data.length === 0 ? (
        <p class="empty">No service token yet.</p>
      ) : null}
      {tokens.state === 'ready' && tokens.data.length > 0 ? (
        <ScrollRegion label="Service tokens">
          <table class="table stack" role="table">
            <caption class="visually-hidden">Service tokens, newest first</caption>
            <thead role="rowgroup">
              <tr role="row">
                <th scope="col" role="columnheader">
                  Token ID
                </th>
                <th scope="col" role="columnheader">
                  App
                </th>
                <th scope="col" role="columnheader">
                  Environment
                </th>
                <th scope="col" role="columnheader">
                  Description
                </th>
                <th scope="col" role="columnheader">
                  Expires
                </th>
                <th scope="col" role="columnheader">
                  Status
                </th>
                <th scope="col" role="columnheader">
                  Actions
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup">
              {tokens.data.map((token) => (
                <tr role="row" key={token.token_id}>
                  <td role="cell" data-label="Token ID" class="mono">
                    {token.token_id}
                  </td>
                  <td role="cell" data-label="App" class="mono">
                    {token.app}
                  </td>
                  <td role="cell" data-label="Environment" class="mono">
                    {token.env}
                  </td>
                  <td role="cell" data-label="Description">
                    {token.description ?? ''}
                  </td>
                  <td role="cell" data-label="Expires">
                    {formatDate(token.expires_at)}
                  </td>
                  <td role="cell" data-label="Status">
                    <span class={`badge badge-${token.status === 'active' ? 'active' : 'revoked'}`}>
                      {token.status}
                    </span>
                  </td>
                  <td role="cell" data-label="Actions">
                    {token.status === 'active' ? (
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Revoke token ${token.token_id}`}
                        onClick={() => setRevoking(token)}
                      >
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      ) : null}
      {revoking ? (
        <ConfirmDialog
          title={`Revoke the token for ${revoking.app} in ${revoking.env}?`}
          confirmLabel="Yes, revoke"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await client.tokens.revoke(revoking.token_id);
            reload();
          }}
        >
          <p>
            Every program using token <code>{revoking.token_id}</code> (app <code>{revoking.app}</code> in{' '}
            <code>{revoking.env}</code>) stops being able to read secrets at once, on every server.
          </p>
        </ConfirmDialog>
      ) : null}
    </Page>
  );
}
