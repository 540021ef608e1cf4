/**
 * New secret, or edit one. The server's validation messages appear next to the field they
 * name. Editing is a check-and-set at the version loaded: if someone changed the secret in
 * the meantime the save is refused, and the page says so and shows what changed instead of
 * overwriting it.
 */
import { TOKEN_TYPES, type Secret } from '@ductape/sdk';
import { useLocation, useRoute } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { Page } from '../../components/Page.js';
import { codeOf, fieldOf, messageOf } from '../../lib/errors.js';
import { can, useSession } from '../../lib/session.js';
import { Conflict } from './Conflict.js';
import { Field } from './Field.js';
import {
  differences,
  EMPTY_FORM,
  formFieldOf,
  formFromSecret,
  metadataOf,
  type FormValues,
} from './form-values.js';

export function SecretFormPage() {
  const { session } = useSession();
  const { route } = useLocation();
  const editing = useRoute().params.name;
  const client = session.client;
  const [form, setForm] = useState<FormValues>(EMPTY_FORM);
  const [base, setBase] = useState<Secret | null>(null);
  const [errors, setErrors] = useState<Partial<Record<keyof FormValues, string>>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [conflict, setConflict] = useState<{ mine: Secret; theirs: Secret } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (editing === undefined) return;
    client.secrets.metadata(editing).then(
      (secret) => {
        setBase(secret);
        setForm(formFromSecret(secret));
      },
      (error: unknown) => setGeneral(messageOf(error)),
    );
  }, [editing]);

  if (!can(session.me, 'write')) {
    return (
      <Page title={editing ? `Edit ${editing}` : 'New secret'}>
        <Alert kind="error">Your role cannot create or change secrets.</Alert>
      </Page>
    );
  }

  const set = (name: keyof FormValues) => (text: string) =>
    setForm((current) => ({ ...current, [name]: text }));

  const fail = (error: unknown) => {
    const field = formFieldOf(fieldOf(error));
    if (field) {
      setErrors({ [field]: messageOf(error) });
      document.getElementById(`field-${field}`)?.focus();
    } else setGeneral(messageOf(error));
  };

  const save = async (event: SubmitEvent, ifVersion?: number) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setGeneral(null);
    setConflict(null);
    const metadata = metadataOf(form);
    if (Number.isNaN(metadata.expires_at)) {
      setErrors({ expires: 'Expires: give a date and time, or leave it empty for no expiry' });
      setBusy(false);
      return;
    }
    try {
      if (editing === undefined) {
        const created = await client.secrets.create({ key: form.key, value: form.value, ...metadata });
        route(`/secrets/${encodeURIComponent(created.key)}`);
        return;
      }
      const version = ifVersion ?? base?.version;
      await client.secrets.update(
        editing,
        { ...metadata, ...(form.value === '' ? {} : { value: form.value }) },
        version === undefined ? {} : { if_version: version },
      );
      route(`/secrets/${encodeURIComponent(editing)}`);
    } catch (error) {
      setBusy(false);
      if (editing !== undefined && base && codeOf(error) === 'VERSION_CONFLICT') {
        const theirs = await client.secrets.metadata(editing).catch(() => null);
        if (theirs) {
          setConflict({ mine: base, theirs });
          return;
        }
      }
      fail(error);
    }
  };

  const title = editing === undefined ? 'New secret' : `Edit ${editing}`;
  if (editing !== undefined && base === null) {
    // No form until the secret has loaded: what was typed would be overwritten by the load,
    // and a save must start from the version the person saw.
    return (
      <Page title={title}>
        {general ? <Alert kind="error">{general}</Alert> : <p role="status">Loading…</p>}
      </Page>
    );
  }
  return (
    <Page title={title}>
      {conflict ? (
        <Conflict
          secretKey={editing ?? ''}
          changes={differences(conflict.mine, conflict.theirs)}
          before={conflict.mine.version}
          after={conflict.theirs.version}
          onKeepMine={(event) => save(event, conflict.theirs.version)}
          onTakeTheirs={() => {
            setBase(conflict.theirs);
            setForm({ ...formFromSecret(conflict.theirs), value: '' });
            setConflict(null);
          }}
        />
      ) : null}
      {general ? <Alert kind="error">{general}</Alert> : null}
      <form class="form" onSubmit={(event) => save(event)} noValidate>
        <Field
          name="key"
          label="Key"
          value={form.key}
          onInput={set('key')}
          error={errors.key}
          readOnly={editing !== undefined}
          hint={
            editing === undefined ? 'Letters, digits, _ - and .; case-sensitive' : 'The key cannot be changed'
          }
          mono
        />
        <Field
          name="value"
          label="Value"
          value={form.value}
          onInput={set('value')}
          error={errors.value}
          multiline
          hint={editing === undefined ? 'Encrypted by the server' : 'Leave empty to keep the current value'}
          mono
        />
        <Field
          name="description"
          label="Description"
          value={form.description}
          onInput={set('description')}
          error={errors.description}
        />
        <div class="field">
          <label for="field-type">Type</label>
          <select
            id="field-type"
            value={form.type}
            onChange={(event) => set('type')(event.currentTarget.value)}
            aria-invalid={errors.type ? true : undefined}
            aria-describedby={errors.type ? 'error-type' : undefined}
          >
            <option value="">Not set</option>
            {TOKEN_TYPES.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
          {errors.type ? (
            <p class="field-error" id="error-type">
              {errors.type}
            </p>
          ) : null}
        </div>
        <Field
          name="apps"
          label="Apps"
          value={form.apps}
          onInput={set('apps')}
          error={errors.apps}
          hint="App tags, separated by commas; empty means every app"
        />
        <Field
          name="envs"
          label="Environments"
          value={form.envs}
          onInput={set('envs')}
          error={errors.envs}
          hint="Environment slugs (dev, staging, prd…), separated by commas; empty means every environment"
        />
        <Field
          name="expires"
          label="Expires"
          type="datetime-local"
          value={form.expires}
          onInput={set('expires')}
          error={errors.expires}
          hint="Empty for no expiry"
        />
        <div class="button-row">
          <button type="submit" class="primary" disabled={busy}>
            {editing === undefined ? 'Create' : 'Save'}
          </button>
          <a
            class="button"
            href={editing === undefined ? '/secrets' : `/secrets/${encodeURIComponent(editing)}`}
          >
            Cancel
          </a>
        </div>
      </form>
    </Page>
  );
}
