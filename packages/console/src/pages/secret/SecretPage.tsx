/**
 * One secret: its key as the heading, its metadata (read without the value), Reveal, the
 * actions this role may take (each confirmation names what will stop working), and its
 * versions with roll back.
 */
import type { Secret, ServiceToken, SecretVersion } from '@ductape/sdk';
import { useLocation, useRoute } from 'preact-iso';
import { useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { Page } from '../../components/Page.js';
import { StatusBadge } from '../../components/StatusBadge.js';
import { useLoad } from '../../components/useLoad.js';
import { usersOf } from '../../lib/impact.js';
import { can, useSession } from '../../lib/session.js';
import { appsText, envsText, formatDate } from '../../lib/secret-state.js';
import { Impact } from './Impact.js';
import { Reveal } from './Reveal.js';
import { Versions } from './Versions.js';

type Pending = 'revoke' | 'restore' | 'delete' | null;

interface Loaded {
  secret: Secret;
  versions: SecretVersion[] | null;
  tokens: ServiceToken[] | null;
}

export function SecretPage() {
  const { session } = useSession();
  const { route } = useLocation();
  const key = useRoute().params.name ?? '';
  const me = session.me;
  const client = session.client;
  const [notice, setNotice] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [loaded, reload] = useLoad<Loaded>(async () => {
    const [secret, versions, tokens] = await Promise.all([
      client.secrets.metadata(key),
      me.kind === 'user' && can(me, 'history') ? client.secrets.versions(key) : Promise.resolve(null),
      // Admins see which service tokens a revoke would cut off.
      can(me, 'tokens') ? client.tokens.list().catch(() => null) : Promise.resolve(null),
    ]);
    return { secret, versions, tokens };
  }, [key, session]);

  if (loaded.state !== 'ready') {
    return (
      <Page title={key}>
        {loaded.state === 'loading' ? (
          <p role="status">Loading…</p>
        ) : (
          <Alert kind="error">{loaded.message}</Alert>
        )}
        <p>
          <a href="/secrets">Back to the secrets</a>
        </p>
      </Page>
    );
  }
  const { secret, versions, tokens } = loaded.data;
  const now = Math.floor(Date.now() / 1000);
  // A service token may read only what its binding allows: offer Reveal only there.
  const revealable =
    can(me, 'reveal') &&
    (me.kind === 'user' ||
      (secret.status === 'active' &&
        (secret.scope.length === 0 || secret.scope.includes(me.app)) &&
        (secret.envs.length === 0 || secret.envs.includes(me.env))));
  const changed = (message: string) => {
    setNotice(message);
    reload();
  };

  return (
    <Page
      title={secret.key}
      actions={
        <>
          {can(me, 'write') ? (
            <button type="button" onClick={() => route(`/secrets/${encodeURIComponent(secret.key)}/edit`)}>
              Edit
            </button>
          ) : null}
          {can(me, 'revoke') && secret.status !== 'revoked' ? (
            <button type="button" class="danger" onClick={() => setPending('revoke')}>
              Revoke
            </button>
          ) : null}
          {can(me, 'revoke') && secret.status === 'revoked' ? (
            <button type="button" onClick={() => setPending('restore')}>
              Restore
            </button>
          ) : null}
          {can(me, 'delete') ? (
            <button type="button" class="danger" onClick={() => setPending('delete')}>
              Delete
            </button>
          ) : null}
        </>
      }
    >
      <p>
        <a href="/secrets">← All secrets</a>
      </p>
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      <dl class="meta">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge secret={secret} now={now} />
            {secret.revoked_at ? ` since ${formatDate(secret.revoked_at)}` : ''}
          </dd>
        </div>
        <div>
          <dt>Type</dt>
          <dd>{secret.token_type ?? 'not set'}</dd>
        </div>
        <div>
          <dt>Description</dt>
          <dd>{secret.description ?? 'none'}</dd>
        </div>
        <div>
          <dt>Apps</dt>
          <dd>{appsText(secret)}</dd>
        </div>
        <div>
          <dt>Environments</dt>
          <dd>{envsText(secret)}</dd>
        </div>
        <div>
          <dt>Expires</dt>
          <dd>{formatDate(secret.expires_at)}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd>{secret.version}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatDate(secret.createdAt)}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>{formatDate(secret.updatedAt)}</dd>
        </div>
      </dl>
      {revealable ? (
        <Reveal client={client} secretKey={secret.key} />
      ) : (
        <section aria-labelledby="value-title" class="reveal">
          <h2 id="value-title">Value</h2>
          <p class="hint">
            {me.kind === 'user' && !can(me, 'reveal')
              ? `Your role (${me.role}) cannot read values; a developer, admin or owner can.`
              : 'This service token cannot read this value (its app or environment is not allowed, or the secret is not active).'}
          </p>
        </section>
      )}
      {versions ? (
        <Versions
          client={client}
          secretKey={secret.key}
          current={secret.version}
          versions={versions}
          canRollBack={can(me, 'write')}
          myId={me.kind === 'user' ? me.user_id : me.token_id}
          onChanged={changed}
        />
      ) : null}
      {pending === 'revoke' ? (
        <ConfirmDialog
          title={`Revoke ${secret.key}?`}
          confirmLabel="Yes, revoke"
          onClose={() => setPending(null)}
          onConfirm={async () => {
            await client.secrets.revoke(secret.key);
            changed(`Revoked ${secret.key}. Restore undoes it.`);
          }}
        >
          <Impact secret={secret} tokens={tokens} verb="Revoking" />
          <p>It stays listed and can be restored.</p>
        </ConfirmDialog>
      ) : null}
      {pending === 'restore' ? (
        <ConfirmDialog
          title={`Restore ${secret.key}?`}
          confirmLabel="Yes, restore"
          danger={false}
          onClose={() => setPending(null)}
          onConfirm={async () => {
            await client.secrets.restore(secret.key);
            changed(`Restored ${secret.key}.`);
          }}
        >
          <p>
            <code>{secret.key}</code> becomes usable again by <strong>{usersOf(secret)}</strong>.
          </p>
        </ConfirmDialog>
      ) : null}
      {pending === 'delete' ? (
        <ConfirmDialog
          title={`Delete ${secret.key} for good?`}
          confirmLabel="Yes, delete"
          onClose={() => setPending(null)}
          onConfirm={async () => {
            await client.secrets.delete(secret.key);
            route('/secrets');
          }}
        >
          <Impact secret={secret} tokens={tokens} verb="Deleting" />
          <p>
            <strong>This cannot be undone:</strong> the value and every version are destroyed. Revoke instead
            if you may need it back.
          </p>
        </ConfirmDialog>
      ) : null}
    </Page>
  );
}
