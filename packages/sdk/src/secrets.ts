import { DuctapeError } from './errors.js';
import type { Transport } from './transport.js';
import type {
  CreateSecretInput,
  ExportOptions,
  FetchOptions,
  ExportResponse,
  ImportRequest,
  ImportResponse,
  ResolveResponse,
  UsageContext,
  ValidateResponse,
  ListSecretsOptions,
  ListSecretsResponse,
  Secret,
  SecretVersion,
  SecretWithValue,
  UpdateOptions,
  UpdateSecretInput,
} from './types.js';

const path = (key: string): string => `/v1/secrets/${encodeURIComponent(key)}`;

/** Create, read, update, revoke and delete the secrets of your workspace. */
export class SecretsClient {
  private readonly transport: Transport;

  /** @internal Use `new Ductape(...).secrets`. */
  constructor(transport: Transport) {
    this.transport = transport;
  }

  /**
   * Creates a secret; its value is encrypted by the server. Needs the developer role.
   * Throws with `response.status` 409 when the key already exists in the workspace.
   *
   * @example
   * const secret = await ductape.secrets.create({
   *   key: 'STRIPE_API_KEY',
   *   value: 'sk_live_51ABC123...',
   *   scope: ['stripe_payments'],
   *   envs: ['prd'],
   * });
   * console.log('Secret created:', secret.key);
   */
  create(input: CreateSecretInput): Promise<Secret> {
    return this.transport.request<Secret>('POST', '/v1/secrets', input);
  }

  /**
   * Lists every secret of the workspace: metadata only, never the values. Any role.
   *
   * @example
   * const secrets = await ductape.secrets.fetchAll();
   * secrets.forEach((s) => console.log(`${s.key}: ${s.description || 'No description'}`));
   */
  async fetchAll(): Promise<Secret[]> {
    const answer = await this.transport.request<ListSecretsResponse>('GET', '/v1/secrets');
    return answer.secrets;
  }

  /**
   * Same as {@link SecretsClient.fetchAll}; with `{ expiring_within: seconds }`, only the
   * secrets not expired yet that expire within that many seconds from now, soonest first.
   *
   * @example
   * const keys = (await ductape.secrets.list()).map((s) => s.key);
   *
   * @example
   * const soon = await ductape.secrets.list({ expiring_within: 7 * 86400 });
   * for (const s of soon) console.log(s.key, s.expires_at); // unix seconds
   */
  async list(options: ListSecretsOptions = {}): Promise<Secret[]> {
    if (options.expiring_within === undefined) return this.fetchAll();
    const query = `?expiring_within=${encodeURIComponent(options.expiring_within)}`;
    return (await this.transport.request<ListSecretsResponse>('GET', `/v1/secrets${query}`)).secrets;
  }

  /**
   * Reads one secret with its decrypted value (or an older recorded version's, with
   * `{ version }`). Needs the developer role. A revoked or expired secret is refused with
   * status 410 (`SECRET_REVOKED` / `SECRET_EXPIRED`).
   *
   * @example
   * const secret = await ductape.secrets.fetch('STRIPE_API_KEY');
   * console.log('Value:', secret.value, 'version', secret.version);
   */
  fetch(key: string, options: FetchOptions = {}): Promise<SecretWithValue> {
    const query = options.version === undefined ? '' : `?version=${encodeURIComponent(options.version)}`;
    return this.transport.request<SecretWithValue>('GET', path(key) + query);
  }

  /**
   * Reads one secret's metadata without its value: key, status, scope, envs, expiry, version
   * and times. Any role, and it is not recorded as a read of the value, so a page that shows
   * a secret can load it without revealing anything. 404 `SECRET_NOT_FOUND` when there is no
   * such key; revoked and expired secrets are answered too (see `status`).
   *
   * @example
   * const meta = await ductape.secrets.metadata('STRIPE_API_KEY');
   * console.log(meta.status, meta.version, meta.envs); // no `value` field
   */
  metadata(key: string): Promise<Secret> {
    return this.transport.request<Secret>('GET', `${path(key)}/metadata`);
  }

  /**
   * The recorded versions of a secret's value, newest first: version, createdAt and the
   * actor who wrote it; never a value. Any role.
   *
   * @example
   * const [latest, previous] = await ductape.secrets.versions('STRIPE_API_KEY');
   * const old = await ductape.secrets.fetch('STRIPE_API_KEY', { version: previous.version });
   */
  async versions(key: string): Promise<SecretVersion[]> {
    return (await this.transport.request<{ versions: SecretVersion[] }>('GET', `${path(key)}/versions`))
      .versions;
  }

  /**
   * Makes a new version holding the value of an older one. Needs the developer role.
   *
   * @example
   * const restored = await ductape.secrets.rollback('STRIPE_API_KEY', 3);
   * console.log(restored.version); // a new version number
   */
  rollback(key: string, version: number): Promise<Secret> {
    return this.transport.request<Secret>('POST', `${path(key)}/rollback`, { version });
  }

  /**
   * Whether a secret with this key exists in the workspace (revoked and expired ones too).
   * With a service token, only the secrets its app and environment may use exist: any other
   * key answers false, as a missing one does.
   *
   * @example
   * if (!(await ductape.secrets.exists('SENDGRID_KEY'))) console.log('not set up yet');
   */
  async exists(key: string): Promise<boolean> {
    try {
      await this.metadata(key);
      return true;
    } catch (error) {
      if (error instanceof DuctapeError && error.code === 'SECRET_NOT_FOUND') return false;
      throw error;
    }
  }

  /**
   * Changes a secret's value and/or metadata. Fields left out keep their current value.
   * Every update starts a new version (a metadata-only one carries the value over). Needs
   * the developer role. With
   * `{ if_version }` it is a check-and-set: it fails with 409 `VERSION_CONFLICT` when
   * someone changed the secret since you read that version, so no edit is lost silently.
   *
   * @example
   * const current = await ductape.secrets.fetch('DB_PASSWORD');
   * await ductape.secrets.update('DB_PASSWORD', { value: 'n3w' }, { if_version: current.version });
   *
   * @example
   * const updated = await ductape.secrets.update('STRIPE_API_KEY', {
   *   value: 'sk_live_51NEW_KEY...',
   *   expires_at: Math.floor(Date.now() / 1000) + 180 * 24 * 60 * 60,
   * });
   */
  update(key: string, patch: UpdateSecretInput, options: UpdateOptions = {}): Promise<Secret> {
    const query =
      options.if_version === undefined ? '' : `?if_version=${encodeURIComponent(options.if_version)}`;
    return this.transport.request<Secret>('PATCH', path(key) + query, patch);
  }

  /**
   * Deletes a secret permanently and returns true. Needs the admin role.
   *
   * @example
   * if (await ductape.secrets.delete('OLD_API_KEY')) console.log('Secret successfully deleted');
   */
  async delete(key: string): Promise<boolean> {
    const answer = await this.transport.request<{ deleted: boolean }>('DELETE', path(key));
    return answer.deleted;
  }

  /**
   * Revokes a secret: it stays listed but cannot be fetched or used until restored.
   * Returns true. Needs the admin role.
   *
   * @example
   * if (await ductape.secrets.revoke('COMPROMISED_KEY')) console.log('Secret has been revoked');
   */
  async revoke(key: string): Promise<boolean> {
    const answer = await this.transport.request<Secret>('POST', `${path(key)}/revoke`);
    return answer.status === 'revoked';
  }

  /**
   * Undoes a revoke, making the secret usable again. Returns true. Needs the admin role.
   *
   * @example
   * await ductape.secrets.restore('COMPROMISED_KEY');
   */
  async restore(key: string): Promise<boolean> {
    const answer = await this.transport.request<Secret>('POST', `${path(key)}/restore`);
    return answer.revoked_at === null;
  }

  /**
   * Replaces every `$Secret{KEY}` (and legacy `$Token{KEY}`) in a string or any JSON value
   * with the secret's value, for an app in an environment, in one round trip. The server
   * enforces each secret's scope, environments, revocation and expiry; the first reference
   * that fails fails the whole call (404, 403 `SECRET_SCOPE_DENIED` / `SECRET_ENV_DENIED`,
   * 410), and a malformed reference is a 400 `MALFORMED_REFERENCE` naming its position.
   *
   * @example
   * const headers = await ductape.secrets.resolve(
   *   { Authorization: 'Bearer $Secret{STRIPE_API_KEY}' },
   *   { app: 'stripe_payments', env: 'prd' },
   * );
   */
  async resolve<T = unknown>(input: T, context: UsageContext = {}): Promise<T> {
    const answer = await this.transport.request<ResolveResponse<T>>('POST', '/v1/resolve', {
      input,
      ...context,
    });
    return answer.output;
  }

  /**
   * Lists every reference in `input` and whether it would resolve for that app and
   * environment, and why not, without returning any value. Any role.
   *
   * @example
   * const report = await ductape.secrets.validate('Bearer $Secret{STRIPE_API_KEY}', { app: 'web', env: 'dev' });
   * if (!report.valid) console.log(report.references.filter((r) => !r.resolvable));
   */
  validate(input: unknown, context: UsageContext = {}): Promise<ValidateResponse> {
    return this.transport.request<ValidateResponse>('POST', '/v1/validate', { input, ...context });
  }

  /**
   * The values an app may use in an environment: every secret in scope there that can be
   * used now (revoked and expired ones come back in `skipped`), or exactly `only`. An answer
   * that would carry more than the server's limit (8 MiB of keys and values by default) is
   * refused with 413 `EXPORT_TOO_LARGE`: ask for fewer keys, or a narrower app and env.
   *
   * @example
   * const { secrets } = await ductape.secrets.export({ app: 'checkout_service', env: 'prd' });
   * for (const { key, value } of secrets) process.env[key] = value;
   */
  export(options: ExportOptions = {}): Promise<ExportResponse> {
    const query = new URLSearchParams();
    if (options.app !== undefined) query.set('app', options.app);
    if (options.env !== undefined) query.set('env', options.env);
    if (options.only !== undefined) query.set('only', options.only.join(','));
    const qs = query.toString();
    return this.transport.request<ExportResponse>('GET', `/v1/export${qs ? `?${qs}` : ''}`);
  }

  /**
   * Creates many secrets in one request (at most 500); with `overwrite`, updates those that
   * exist. Returns what happened to each, in order. Needs the developer role.
   *
   * @example
   * const { results } = await ductape.secrets.import({
   *   secrets: [{ key: 'A', value: '1' }, { key: 'B', value: '2', envs: ['dev'] }],
   *   overwrite: false,
   * });
   */
  import(request: ImportRequest): Promise<ImportResponse> {
    return this.transport.request<ImportResponse>('POST', '/v1/secrets/import', request);
  }
}
