/**
 * The secret form's fields as text, and their translation to and from the API's shapes.
 * Apps and environments are typed as comma- or space-separated lists; "Expires" is a local
 * date and time (empty for never).
 */
import type { Secret, TokenType } from '@ductape/sdk';

export interface FormValues {
  key: string;
  value: string;
  description: string;
  type: string;
  apps: string;
  envs: string;
  expires: string;
}

export const EMPTY_FORM: FormValues = {
  key: '',
  value: '',
  description: '',
  type: '',
  apps: '',
  envs: '',
  expires: '',
};

export const splitList = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');

const pad = (n: number): string => String(n).padStart(2, '0');

/** Unix seconds as the value of a datetime-local input, in the browser's time zone. */
export function toLocalInput(unixSeconds: number | null): string {
  if (unixSeconds === null) return '';
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value as unix seconds; null for an empty field; NaN when unreadable. */
export function fromLocalInput(text: string): number | null {
  if (text.trim() === '') return null;
  return Math.floor(new Date(text).getTime() / 1000);
}

export function formFromSecret(secret: Secret): FormValues {
  return {
    key: secret.key,
    // Never prefilled: the value is not in the page unless someone reveals it.
    value: '',
    description: secret.description ?? '',
    type: secret.token_type ?? '',
    apps: secret.scope.join(', '),
    envs: secret.envs.join(', '),
    expires: toLocalInput(secret.expires_at),
  };
}

export function metadataOf(form: FormValues) {
  return {
    description: form.description.trim() === '' ? null : form.description,
    token_type: form.type === '' ? null : (form.type as TokenType),
    scope: splitList(form.apps),
    envs: splitList(form.envs),
    expires_at: fromLocalInput(form.expires),
  };
}

/** The form field an API error's `field` names (`scope[2]` is Apps, `expires_at` is Expires...). */
export function formFieldOf(apiField: string | undefined): keyof FormValues | undefined {
  if (apiField === undefined) return undefined;
  const head = apiField.split(/[[.]/)[0];
  const map: Record<string, keyof FormValues> = {
    key: 'key',
    value: 'value',
    description: 'description',
    token_type: 'type',
    scope: 'apps',
    envs: 'envs',
    expires_at: 'expires',
  };
  return head === undefined ? undefined : map[head];
}

/** What differs between two readings of a secret's metadata, for the conflict notice. */
export function differences(
  before: Secret,
  after: Secret,
): { field: string; before: string; after: string }[] {
  const show = (value: unknown): string =>
    value === null
      ? 'none'
      : Array.isArray(value)
        ? value.length === 0
          ? 'all'
          : value.join(', ')
        : String(value);
  const fields: [string, (s: Secret) => unknown][] = [
    ['Description', (s) => s.description],
    ['Type', (s) => s.token_type],
    ['Apps', (s) => s.scope],
    ['Environments', (s) => s.envs],
    ['Expires', (s) => (s.expires_at === null ? null : new Date(s.expires_at * 1000).toLocaleString())],
    ['Status', (s) => s.status],
  ];
  const out = fields
    .map(([field, read]) => ({ field, before: show(read(before)), after: show(read(after)) }))
    .filter((d) => d.before !== d.after);
  if (out.length === 0) {
    // Same metadata, new version: the value itself was changed (values are never compared here).
    out.push({
      field: 'Value',
      before: `version ${before.version}`,
      after: `changed (version ${after.version})`,
    });
  }
  return out;
}
