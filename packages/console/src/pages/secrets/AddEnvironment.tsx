/**
 * Adds one environment to several selected keys at once. Each key is updated with
 * check-and-set at the version listed, so a key someone changed meanwhile is reported, not
 * overwritten. A key with no environment list is already available everywhere: adding one
 * environment would narrow it to that one, so it is left alone and said so.
 */
import type Ductape from '@ductape/sdk';
import type { Secret } from '@ductape/sdk';
import { useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { codeOf, messageOf } from '../../lib/errors.js';

export interface BulkOutcome {
  added: string[];
  already: string[];
  everywhere: string[];
  failed: { key: string; message: string }[];
}

export async function addEnvironment(client: Ductape, secrets: Secret[], env: string): Promise<BulkOutcome> {
  const outcome: BulkOutcome = { added: [], already: [], everywhere: [], failed: [] };
  for (const secret of secrets) {
    if (secret.envs.length === 0) outcome.everywhere.push(secret.key);
    else if (secret.envs.includes(env)) outcome.already.push(secret.key);
    else {
      try {
        await client.secrets.update(
          secret.key,
          { envs: [...secret.envs, env] },
          { if_version: secret.version },
        );
        outcome.added.push(secret.key);
      } catch (error) {
        const message =
          codeOf(error) === 'VERSION_CONFLICT'
            ? 'changed by someone else meanwhile: reload and try again'
            : messageOf(error);
        outcome.failed.push({ key: secret.key, message });
      }
    }
  }
  return outcome;
}

export function AddEnvironment({
  client,
  chosen,
  envs,
  onDone,
}: {
  client: Ductape;
  chosen: Secret[];
  envs: string[];
  onDone: () => void;
}) {
  const [env, setEnv] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<BulkOutcome | null>(null);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setOutcome(null);
    const result = await addEnvironment(client, chosen, env.trim());
    setOutcome(result);
    setBusy(false);
    onDone();
  };

  return (
    <form class="bulk" onSubmit={submit}>
      <label for="bulk-env">Environment to add</label>
      <div class="inline">
        <input
          id="bulk-env"
          list="known-envs"
          value={env}
          required
          pattern="[a-z0-9][a-z0-9_\-]*"
          spellcheck={false}
          onInput={(event) => setEnv(event.currentTarget.value)}
        />
        <datalist id="known-envs">
          {envs.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        <button type="submit" class="primary" disabled={busy || chosen.length === 0}>
          {busy ? 'Adding…' : `Add to ${chosen.length} selected`}
        </button>
      </div>
      {outcome ? (
        <Alert kind={outcome.failed.length > 0 ? 'error' : 'success'}>
          <p>
            Added to {outcome.added.length} key{outcome.added.length === 1 ? '' : 's'}.
            {outcome.already.length > 0 ? ` ${outcome.already.length} already had it.` : ''}
            {outcome.everywhere.length > 0
              ? ` ${outcome.everywhere.length} left alone: already available in every environment (${outcome.everywhere.join(', ')}).`
              : ''}
          </p>
          {outcome.failed.length > 0 ? (
            <ul>
              {outcome.failed.map((f) => (
                <li key={f.key}>
                  <code>{f.key}</code>: {f.message}
                </li>
              ))}
            </ul>
          ) : null}
        </Alert>
      ) : null}
    </form>
  );
}
