/**
 * Sign in with a workspace id, user id and private key, or with a service token (read-only
 * views). The private key field is a password field; a refusal shows the server's message.
 */
import { useEffect, useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { messageOf } from '../../lib/errors.js';
import { signIn, type Session } from '../../lib/session.js';

type Mode = 'key' | 'token';

export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [mode, setMode] = useState<Mode>('key');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Sign in · Ductape';
  }, []);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const text = (name: string): string => String(data.get(name) ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(
        mode === 'key'
          ? { workspace_id: text('workspace_id'), user_id: text('user_id'), private_key: text('private_key') }
          : { token: text('token') },
      );
      // The credentials leave the form: the SDK client now holds them, in memory only.
      form.reset();
      onSignedIn(session);
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <section class="card" aria-labelledby="signin-title">
        <p class="product-line">
          <span class="logo" aria-hidden="true">
            D
          </span>
          Ductape
        </p>
        <h1 id="signin-title">Sign in to your workspace</h1>
        <fieldset class="mode">
          <legend>Sign in as</legend>
          <label>
            <input type="radio" name="mode" checked={mode === 'key'} onChange={() => setMode('key')} /> A
            member
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'token'} onChange={() => setMode('token')} /> A
            program (read-only)
          </label>
        </fieldset>
        <form onSubmit={submit} autocomplete="off">
          {mode === 'key' ? (
            <>
              <label for="workspace_id">Workspace ID</label>
              <input id="workspace_id" name="workspace_id" required spellcheck={false} autocomplete="off" />
              <label for="user_id">User ID</label>
              <input id="user_id" name="user_id" required spellcheck={false} autocomplete="off" />
              <label for="private_key">Private key</label>
              <input
                id="private_key"
                name="private_key"
                type="password"
                required
                spellcheck={false}
                autocomplete="current-password"
              />
            </>
          ) : (
            <>
              <label for="token">Service token</label>
              <input id="token" name="token" type="password" required spellcheck={false} autocomplete="off" />
              <p class="hint">
                A service token shows the secrets its app and environment may use, read-only.
              </p>
            </>
          )}
          {error ? <Alert kind="error">{error}</Alert> : null}
          <button type="submit" class="primary wide" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p class="hint">
          Your credentials stay in this tab's memory: reloading the page or signing out forgets them.
        </p>
      </section>
    </main>
  );
}
